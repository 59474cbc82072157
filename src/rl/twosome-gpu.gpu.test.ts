// A rollout step on the GPU actor (GpuTwosomeActor.observe): the policy's scores, the critic's features and its
// values in one submission, equal to the three separate calls bit for bit, with and without features memoized.
import { describe, expect, it, vi } from 'vitest';
import { quickPpoConfig } from './config';
import { createGpuTwosomeModels } from './twosome-gpu';
import { twosomeSeeds } from './twosome-trainer';
import { valueLoss } from './ppo-loss';
import { Rng } from '../util/rng';
import { microEngine, observationAfter, relativeError } from '../llm/engine/test-helpers';

const gpu = microEngine();

describe('GpuTwosomeCritic.accumulateValueLoss', () => {
  for (const clipVloss of [true, false]) {
    it(`accumulates the gradients and logs the loss of ppo-loss.ts valueLoss (clip_vloss ${clipVloss})`, async () => {
      const config = { ...quickPpoConfig('tomato-salad'), critic: { hiddenSizes: [32, 16], bias: false } };
      const seeds = twosomeSeeds(config.seed);
      const [gpuLoss, cpuLoss] = [
        createGpuTwosomeModels(gpu.engine, config, seeds).critic,
        createGpuTwosomeModels(gpu.engine, config, seeds).critic,
      ];
      const rng = new Rng(7);
      const n = 12;
      const features = Array.from({ length: n }, () =>
        Float32Array.from({ length: gpu.engine.config.hidden }, () => rng.normal()),
      );
      const values = await cpuLoss.values(features);
      // Old values around the new ones, some further than the clip range (0.2), and returns all over.
      const oldValues = Float64Array.from(values, (v, i) => v + (i % 3 === 0 ? 0.5 : 0.05) * (i % 2 ? 1 : -1));
      const returns = Float64Array.from({ length: n }, () => rng.normal());
      const input = { oldValues, returns, clipCoef: 0.2, clipVloss, vfCoef: 0.5, scale: 0.25 };
      const { vLoss } = await gpuLoss.accumulateValueLoss(features, input);
      let expected = 0;
      await cpuLoss.accumulate(features, (newValues) => {
        const out = valueLoss({ newValues, ...input });
        expected = out.vLoss;
        return out.dNewValues;
      });
      expect(Math.abs((await vLoss) - expected) / expected).toBeLessThan(1e-5);
      const [a, b] = [await gpuLoss.critic.readGrads(), await cpuLoss.critic.readGrads()];
      const flat = (g: Float32Array[]) => g.flatMap((x) => [...x]);
      expect(flat(a).some((v) => v !== 0)).toBe(true);
      expect(relativeError(flat(a), flat(b))).toBeLessThan(1e-5);
      gpuLoss.dispose();
      cpuLoss.dispose();
    });
  }
});

describe('GpuTwosomeActor.observe', () => {
  it('scores, features and values in one submission, as the separate calls give them', async () => {
    const config = { ...quickPpoConfig('tomato-salad'), critic: { hiddenSizes: [32, 16], bias: false } };
    const seeds = twosomeSeeds(config.seed);
    const fused = createGpuTwosomeModels(gpu.engine, config, seeds);
    const separate = createGpuTwosomeModels(gpu.engine, config, seeds);
    const envs = [[0], [1], [0]].map((steps) => observationAfter('tomato-salad', steps));
    const submit = vi.spyOn(gpu.ctx.device.queue, 'submit');
    for (const [score, observe] of [
      [envs.slice(0, 2), envs], // nothing memoized yet; a prompt seen twice
      [[envs[2]], envs], // features memoized (the separate actor memoized the same in its first round)
      [[], [observationAfter('tomato-salad', [2]), envs[0]]], // no new scores, one new prompt
    ] as const) {
      submit.mockClear();
      const a = await fused.actor.observe(score, observe, fused.critic);
      expect(submit).toHaveBeenCalledTimes(1);
      // What observeStep does for an actor without observe(): three calls, three waits.
      const scores = score.length > 0 ? await separate.actor.score(score) : [];
      const features = await separate.actor.features(observe);
      expect(a.scores).toEqual(scores);
      expect(a.features).toEqual(features);
      expect(a.values).toEqual(await separate.critic.values(features));
    }
    submit.mockRestore();
    for (const m of [fused, separate]) {
      m.actor.dispose();
      m.critic.dispose();
    }
  });
});
