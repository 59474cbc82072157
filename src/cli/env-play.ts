/**
 * `twosome env play`: replay action indices through an environment (JSON lines for tools and tests), or
 * play it by hand in the terminal.
 *
 * JSON lines: first {"prompt","actions"} of the reset, then per step
 * {"action","actionText","reward","done","primitiveSteps","prompt","actions"}; with --actions-file every
 * line also carries "episode" (0-based), one episode per input line, each from a fresh reset.
 */
import { readFileSync } from 'node:fs';
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
      actions: { type: 'string', arg: 'LIST', help: 'action indices to replay, e.g. 3,0,2 (each into the list offered at its step)' },
      'actions-file': { type: 'string', arg: 'FILE|-', help: 'one episode per line, each a JSON array of indices; - reads stdin' },
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
      const episodes = readEpisodes(values['actions-file']);
      for (let e = 0; e < episodes.length; e++) replayEpisode(env, seed, episodes[e](), out, values.json ?? false, e);
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

/** One lazily parsed episode per non-blank line: a JSON array of action indices. */
function readEpisodes(file: string): (() => number[])[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --actions-file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const episodes: (() => number[])[] = [];
  text.split('\n').forEach((line, lineIndex) => {
    if (line.trim() === '') return;
    episodes.push(() => {
      const where = `--actions-file line ${lineIndex + 1}`;
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
    });
  });
  return episodes;
}

function replayEpisode(env: Env, seed: number, actions: number[], out: LineWriter, json: boolean, episode: number | undefined): void {
  const tag = episode === undefined ? '' : `episode ${episode}, `;
  const first = env.reset(seed);
  if (json) out.line(JSON.stringify(episode === undefined ? first : { episode, ...first }));
  else out.line(formatObservation(first.prompt, first.actions));
  for (let i = 0; i < actions.length; i++) {
    if (env.done) throw new UsageError(`${tag}step ${i}: the episode already ended after ${i} actions; no more actions can be taken`);
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
      out.line(`> ${result.actionText}   reward ${result.reward.toFixed(4)}, ${result.primitiveSteps} primitive step(s)${result.done ? ', DONE' : ''}`);
      out.line(formatObservation(next.prompt, next.actions));
    }
  }
}

function formatObservation(prompt: string, actions: string[]): string {
  return `\n${prompt}\n${actions.map((a, i) => `  [${i}] ${a}`).join('\n')}`;
}

async function playInteractively(env: Env, seed: number): Promise<number> {
  const task = getTask(env.taskId);
  const say = (text: string) => process.stdout.write(`${text}\n`);
  say(`${task.title}: ${task.description}\nType an action number, r to reset, q to quit.`);
  let obs = env.reset(seed);
  say(formatObservation(obs.prompt, obs.actions));
  // Lines are read as a stream (not question() per line), so piped input is consumed exactly once.
  const rl = createInterface({ input: process.stdin, terminal: Boolean(process.stdin.isTTY) });
  process.stdout.write('> ');
  try {
    for await (const raw of rl) {
      const answer = raw.trim();
      if (answer === 'q' || answer === 'quit') break;
      if (answer === 'r') {
        obs = env.reset(seed);
        say(formatObservation(obs.prompt, obs.actions));
      } else if (/^\d+$/.test(answer) && Number(answer) < obs.actions.length) {
        const result = env.step(Number(answer));
        say(`${result.actionText}: reward ${result.reward.toFixed(4)} in ${result.primitiveSteps} primitive step(s); return so far ${result.episodeReturn.toFixed(4)}`);
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
    rl.close();
  }
  process.stdout.write('\n');
  return 0;
}
