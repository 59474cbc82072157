/**
 * `twosome bench env --task ID --json`: environment throughput under a seeded uniform-random policy,
 * resets included, once stepping only and once also rendering the text observation every step (what a
 * TWOSOME rollout needs). Output: {"task","macroStepsPerSec","macroStepsPerSecWithText"}.
 */
import { createEnv } from '../envs/registry';
import type { Env } from '../envs/types';
import { Rng } from '../util/rng';
import { parseFlags, parseIntFlag, parseNumberFlag } from './args';
import { requiredTask, TASK_FLAG } from './task-flag';

const USAGE = 'twosome bench env --task ID [--seconds S] [--seed S] [--json]';

export interface EnvBenchResult {
  task: string;
  macroStepsPerSec: number;
  macroStepsPerSecWithText: number;
}

export async function benchEnvCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      task: TASK_FLAG,
      seconds: { type: 'string', arg: 'S', help: 'seconds per measurement (default 2)' },
      seed: { type: 'string', arg: 'S', help: 'seed of the random policy (default 1)' },
      json: {
        type: 'boolean',
        default: false,
        help: 'one JSON object: {"task","macroStepsPerSec","macroStepsPerSecWithText"}',
      },
    },
    USAGE,
  );
  const task = requiredTask(values.task, USAGE);
  const seconds = parseNumberFlag(values.seconds, 'seconds', 2, 0.05);
  const seed = parseIntFlag(values.seed, 'seed', 1);
  const result = benchEnv(task, seconds, seed);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `${result.task}: ${Math.round(result.macroStepsPerSec).toLocaleString('en-US')} macro steps/s, ` +
        `${Math.round(result.macroStepsPerSecWithText).toLocaleString('en-US')} with text observations\n`,
    );
  }
  return 0;
}

export function benchEnv(taskId: string, seconds: number, seed: number): EnvBenchResult {
  const env = createEnv(taskId);
  // Warm up both paths so the JIT has compiled them before we time anything.
  run(env, new Rng(seed), false, Math.min(0.3, seconds / 2));
  run(env, new Rng(seed), true, Math.min(0.3, seconds / 2));
  return {
    task: taskId,
    macroStepsPerSec: run(env, new Rng(seed), false, seconds),
    macroStepsPerSecWithText: run(env, new Rng(seed), true, seconds),
  };
}

/** Steps a uniform-random policy for about `seconds`; returns macro steps per second. */
function run(env: Env, rng: Rng, withText: boolean, seconds: number): number {
  env.reset(0);
  if (withText) env.observe();
  let steps = 0;
  let sink = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 4096; i++) {
      const result = env.step(rng.int(env.actionCount()));
      if (result.done) env.reset(0);
      if (withText) sink += env.observe().prompt.length;
    }
    steps += 4096;
    now = performance.now();
  }
  if (sink < 0) throw new Error('unreachable'); // keeps the text work observable to the optimizer
  return steps / ((now - start) / 1000);
}
