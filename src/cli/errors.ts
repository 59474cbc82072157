/**
 * An error the user can fix (bad flag, unknown task, bad action index, malformed file): the CLI prints its
 * message as one line on stderr and exits with code 2, never with a stack trace.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--help` on a command: main prints `text` on stdout and exits with code 0. */
export class HelpRequest extends Error {
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequest';
  }
}
