// A rollout step on the GPU actor (GpuTwosomeActor.observe): the policy's scores, the critic's features and its
// values in one submission, equal to the three separate calls bit for bit, with and without features memoized.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEnv } from '../envs/registry';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { directorySource } from '../llm/model/weights-node';
import type { PolicyRequest } from '../llm/scores';
import { quickPpoConfig } from './config';
import { createGpuTwosomeModels } from './twosome-gpu';
import { observeStep } from './twosome-model';
import { twosomeSeeds } from './twosome-trainer';

let ctx: GpuContext;
let engine: LlamaEngine;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  engine = await LlamaEngine.load(ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
});
afterAll(() => {
  engine?.dispose();
  ctx?.device.destroy();
});

function observation(task: string, steps: number[]): PolicyRequest {
  const env = createEnv(task);
  env.reset(0);
  for (const a of steps) env.step(a);
  return env.observe();
}

describe('GpuTwosomeActor.observe', () => {
  it('scores, features and values in one submission, as the separate calls give them', async () => {
    const config = { ...quickPpoConfig('tomato-salad'), critic: { hiddenSizes: [32, 16], bias: false } };
    const seeds = twosomeSeeds(config.seed);
    const fused = createGpuTwosomeModels(engine, config, seeds);
    const separate = createGpuTwosomeModels(engine, config, seeds);
    const envs = [observation('tomato-salad', [0]), observation('tomato-salad', [1]), observation('tomato-salad', [0])];
    const submit = vi.spyOn(ctx.device.queue, 'submit');
    for (const [score, observe] of [
      [envs.slice(0, 2), envs], // nothing memoized yet; a prompt seen twice
      [[envs[2]], envs], // features memoized (the separate actor memoized the same in its first round)
      [[], [observation('tomato-salad', [2]), envs[0]]], // no new scores, one new prompt
    ] as const) {
      submit.mockClear();
      const a = await fused.actor.observe(score, observe, fused.critic);
      expect(submit).toHaveBeenCalledTimes(1);
      const b = await observeStep({ ...separate.actor, observe: undefined, score: (r) => separate.actor.score(r), features: (r) => separate.actor.features(r) }, separate.critic, score, observe);
      expect(a.scores).toEqual(b.scores);
      expect(a.features).toEqual(b.features);
      expect(a.values).toEqual(b.values);
    }
    submit.mockRestore();
    for (const m of [fused, separate]) {
      m.actor.dispose();
      m.critic.dispose();
    }
  });
});
