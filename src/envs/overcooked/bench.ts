/**
 * Throughput of the Overcooked env under a seeded uniform-random macro policy with resets on done.
 * Run: npx tsx src/envs/overcooked/bench.ts [seconds per case, default 2]
 * Acceptance floor (2-core dev box): 635k macro steps/s without text, 127k with observe() every step.
 */
import { Rng } from '../../util/rng';
import type { OvercookedTaskId } from '../types';
import { createOvercookedEnv } from './index';

function measure(taskId: OvercookedTaskId, withText: boolean, seconds: number): number {
  const env = createOvercookedEnv(taskId);
  const rng = new Rng(1);
  const count = env.actionCount();
  env.reset(0);
  let steps = 0;
  let sink = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const result = env.step(rng.int(count));
      if (withText) sink += env.observe().prompt.length;
      if (result.done) env.reset(0);
    }
    steps += n;
  };
  run(200_000); // warm-up: JIT and the text memo
  steps = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    run(100_000);
    elapsed = performance.now() - start;
  }
  if (sink < 0) console.log(sink);
  return steps / (elapsed / 1000);
}

const seconds = Number(process.argv[2] ?? 2);
for (const taskId of ['tomato-salad', 'tomato-lettuce-salad'] as const) {
  for (const withText of [false, true]) {
    const rate = measure(taskId, withText, seconds);
    console.log(`${taskId.padEnd(22)} ${withText ? 'step + observe' : 'step only     '} ${Math.round(rate).toLocaleString('en-US').padStart(11)} macro steps/s`);
  }
}
