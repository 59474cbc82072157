/**
 * A model directory or file that cannot be used as it is (missing file, wrong field, truncated shard, bad
 * checksum, unsupported architecture). The message names the file and says what is wrong and what to do, so
 * the CLI can print it as one line (it maps this to a user error) and the app can show it as is.
 */
export class ModelFormatError extends Error {
  constructor(
    /** The file (or directory) at fault, as the user named it. */
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ModelFormatError';
  }
}
