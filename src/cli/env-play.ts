/**
 * `twosome env play`: replay action indices through an environment (JSON lines for tools and tests), or
 * play it by hand in the terminal.
 *
 * JSON lines: first {"prompt","actions"} of the reset, then per step
 * {"action","actionText","reward","done","primitiveSteps","prompt","actions"}; with --actions-file every
 * line also carries "episode" (0-based), one episode per input line, each from a fresh reset.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createEnv, getTask, isTaskId, TASK_IDS } from '../envs/registry';
import { InvalidActionError, type Env } from '../envs/types';
import { parseFlags, parseIndexList, parseIntFlag } from './args';
import { UsageError } from './errors';
import { LineWriter } from './line-writer';

const USAGE = 'twosome env play --task ID [--actions 3,0,2 | --actions-file FILE|-] [--seed S] [--json]';

export async function envPlay(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      task: { type: 'string', arg: 'ID', help: `the task: ${TASK_IDS.join(', ')}` },
      actions: {
        type: 'string',
        arg: 'LIST',
        help: 'action indices to replay, e.g. 3,0,2 (each into the list offered at its step)',
      },
      'actions-file': {
        type: 'string',
        arg: 'FILE|-',
        help: 'one episode per line, each a JSON array of indices; - reads stdin',
      },
      seed: { type: 'string', arg: 'S', help: 'the environment seed (default 0)' },
      json: { type: 'boolean', default: false, help: 'JSON lines: the reset, then one object per step' },
    },
    USAGE,
  );
  const taskId = values.task;
  if (!taskId) throw new UsageError(`--task is required (one of ${TASK_IDS.join(', ')})\nusage: ${USAGE}`);
  if (!isTaskId(taskId)) throw new UsageError(`unknown task "${taskId}": use one of ${TASK_IDS.join(', ')}`);
  if (values.actions !== undefined && values['actions-file'] !== undefined) {
    throw new UsageError('give either --actions or --actions-file, not both');
  }
  const seed = parseIntFlag(values.seed, 'seed', 0);
  const env = createEnv(taskId);
  const out = new LineWriter(process.stdout);
  try {
    if (values['actions-file'] !== undefined) {
      await replayActionsFile(values['actions-file'], env, seed, out, values.json ?? false);
    } else if (values.actions !== undefined) {
      replayEpisode(env, seed, parseIndexList(values.actions, '--actions'), out, values.json ?? false, undefined);
    } else {
      out.flush();
      return await playInteractively(env, seed);
    }
  } finally {
    out.flush();
  }
  return 0;
}

/** The longest line accepted from --actions-file or stdin: one episode of ~100k action indices. */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * The lines of a stream (without the "\n" or "\r\n"), numbered from 1, as they arrive: nothing is read
 * ahead, and a line longer than maxBytes is an error as soon as it is, before it is all in memory.
 */
export async function* streamLines(
  stream: AsyncIterable<Buffer | string>,
  maxBytes: number,
  what: string,
  hint: string,
): AsyncGenerator<{ text: string; number: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  const tooLong = () => new UsageError(`${what} line ${number + 1}: longer than ${maxBytes} bytes; ${hint}`);
  const take = (last: Buffer) => {
    const line = pending.length > 0 ? Buffer.concat([...pending, last]) : last;
    pending = [];
    pendingBytes = 0;
    number++;
    const text = line.toString('utf8');
    return { text: text.endsWith('\r') ? text.slice(0, -1) : text, number };
  };
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buffer.indexOf(10, start); nl >= 0; nl = buffer.indexOf(10, start)) {
      if (pendingBytes + nl - start > maxBytes) throw tooLong();
      yield take(buffer.subarray(start, nl));
      start = nl + 1;
    }
    const rest = buffer.subarray(start);
    pendingBytes += rest.length;
    if (pendingBytes > maxBytes) throw tooLong();
    if (rest.length > 0) pending.push(rest);
  }
  if (pendingBytes > 0) yield take(Buffer.alloc(0));
}

/** --actions-file FILE (a regular file: a FIFO or a device is refused) or - (stdin), as a stream. */
function openActionsFile(file: string): AsyncIterable<Buffer | string> {
  if (file === '-') return process.stdin;
  let st;
  try {
    st = statSync(file);
  } catch (error) {
    throw new UsageError(
      `cannot read --actions-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  if (!st.isFile()) {
    const device = st.isCharacterDevice() || st.isBlockDevice();
    const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : device ? 'a device' : 'not a regular file';
    const what = 'give a file, or - and pipe the lines to stdin';
    throw new UsageError(`--actions-file ${file}: is ${kind}, not a regular file; ${what}`);
  }
  return createReadStream(file);
}

/** One episode per non-blank line: a JSON array of action indices. */
function parseEpisode(line: string, lineNumber: number): number[] {
  const where = `--actions-file line ${lineNumber}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new UsageError(`${where}: not JSON; each line must be a JSON array of action indices, e.g. [0,2,4]`);
  }
  if (!Array.isArray(parsed) || !parsed.every((a) => Number.isInteger(a) && a >= 0)) {
    throw new UsageError(`${where}: must be a JSON array of non-negative integer action indices, e.g. [0,2,4]`);
  }
  return parsed as number[];
}

async function replayActionsFile(file: string, env: Env, seed: number, out: LineWriter, json: boolean): Promise<void> {
  let episode = 0;
  try {
    const hint = "each line is one episode's JSON array of action indices";
    for await (const line of streamLines(openActionsFile(file), MAX_LINE_BYTES, '--actions-file', hint)) {
      if (line.text.trim() === '') continue;
      replayEpisode(env, seed, parseEpisode(line.text, line.number), out, json, episode++);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code) throw new UsageError(`cannot read --actions-file ${file}: ${code}`);
    throw error;
  }
}

function replayEpisode(
  env: Env,
  seed: number,
  actions: number[],
  out: LineWriter,
  json: boolean,
  episode: number | undefined,
): void {
  const tag = episode === undefined ? '' : `episode ${episode}, `;
  const first = env.reset(seed);
  if (json) out.line(JSON.stringify(episode === undefined ? first : { episode, ...first }));
  else out.line(formatObservation(first.prompt, first.actions));
  for (let i = 0; i < actions.length; i++) {
    if (env.done)
      throw new UsageError(
        `${tag}step ${i}: the episode already ended after ${i} actions; no more actions can be taken`,
      );
    let result;
    try {
      result = env.step(actions[i]);
    } catch (error) {
      if (error instanceof InvalidActionError) throw new UsageError(`${tag}step ${i}: ${error.message}`);
      throw error;
    }
    const next = env.observe();
    if (json) {
      const line = {
        ...(episode === undefined ? {} : { episode }),
        action: result.action,
        actionText: result.actionText,
        reward: result.reward,
        done: result.done,
        primitiveSteps: result.primitiveSteps,
        prompt: next.prompt,
        actions: next.actions,
      };
      out.line(JSON.stringify(line));
    } else {
      out.line(
        `> ${result.actionText}   reward ${result.reward.toFixed(4)}, ${result.primitiveSteps} primitive step(s)${result.done ? ', DONE' : ''}`,
      );
      out.line(formatObservation(next.prompt, next.actions));
    }
  }
}

function formatObservation(prompt: string, actions: string[]): string {
  return `\n${prompt}\n${actions.map((a, i) => `  [${i}] ${a}`).join('\n')}`;
}

async function* mapLines(lines: AsyncIterable<{ text: string }>): AsyncGenerator<string> {
  for await (const line of lines) yield line.text;
}

async function playInteractively(env: Env, seed: number): Promise<number> {
  const task = getTask(env.taskId);
  const say = (text: string) => process.stdout.write(`${text}\n`);
  say(`${task.title}: ${task.description}\nType an action number, r to reset, q to quit.`);
  let obs = env.reset(seed);
  say(formatObservation(obs.prompt, obs.actions));
  // Lines are read as a stream (not question() per line), so piped input is consumed exactly once; piped
  // lines are capped (a terminal's are typed).
  const rl = process.stdin.isTTY ? createInterface({ input: process.stdin, terminal: true }) : undefined;
  const hint = 'give one action number, r or q per line';
  const lines = rl ?? mapLines(streamLines(process.stdin, MAX_LINE_BYTES, 'stdin', hint));
  process.stdout.write('> ');
  try {
    for await (const raw of lines) {
      const answer = raw.trim();
      if (answer === 'q' || answer === 'quit') break;
      if (answer === 'r') {
        obs = env.reset(seed);
        say(formatObservation(obs.prompt, obs.actions));
      } else if (/^\d+$/.test(answer) && Number(answer) < obs.actions.length) {
        const result = env.step(Number(answer));
        say(
          `${result.actionText}: reward ${result.reward.toFixed(4)} in ${result.primitiveSteps} primitive step(s); return so far ${result.episodeReturn.toFixed(4)}`,
        );
        if (result.done) {
          say(result.success ? 'Success! New episode.' : 'Episode over (horizon reached). New episode.');
          obs = env.reset(seed);
        } else obs = env.observe();
        say(formatObservation(obs.prompt, obs.actions));
      } else if (answer !== '') {
        say(`Type a number from 0 to ${obs.actions.length - 1}, r or q.`);
      }
      process.stdout.write('> ');
    }
  } finally {
    rl?.close();
  }
  process.stdout.write('\n');
  return 0;
}
