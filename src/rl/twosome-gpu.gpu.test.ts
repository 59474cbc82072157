// A rollout step on the GPU actor (GpuTwosomeActor.observe): the policy's scores, the critic's features and its
// values in one submission, equal to the three separate calls bit for bit, with and without features memoized.
// A policy pass with the loss on the GPU (GpuTwosomeActor.accumulatePolicyLoss): the CPU loss's gradients, in one
// pass and in a batch split into several.
import { resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { quickPpoConfig } from './config';
import { createGpuTwosomeModels } from './twosome-gpu';
import { twosomeSeeds } from './twosome-trainer';
import { normalizeAdvantages, valueLoss } from './ppo-loss';
import { actionDistribution } from './policy';
import { policyPassLoss, type PolicyPassLoss } from './policy-pass';
import { Rng } from '../util/rng';
import { microEngine, observationAfter, relativeError } from '../llm/engine/test-helpers';
import { LlamaEngine } from '../llm/engine/engine';
import { ScoringForward } from '../llm/engine/forward';
import { directorySource } from '../llm/model/weights-node';
import { readLora } from '../llm/train/gpu-lora';

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

describe('GpuTwosomeActor.accumulatePolicyLoss', () => {
  it('accumulates the gradients and logs the losses of the CPU loss, in one pass and split into passes', async () => {
    const config = { ...quickPpoConfig('tomato-salad'), critic: { hiddenSizes: [32, 16], bias: false } };
    const seeds = twosomeSeeds(config.seed);
    const salad = observationAfter('tomato-salad', [0]);
    // As batch-split.gpu.test.ts: with its 105-row cap these make groups of whole prompts, a prompt in pieces
    // and prompts alone.
    const requests = [
      { prompt: salad.prompt, actions: salad.actions.slice(0, 2) },
      { prompt: salad.prompt, actions: salad.actions.slice(3) },
      observationAfter('tomato-lettuce-salad', []),
      observationAfter('food-preparation', []),
      observationAfter('entertainment', []),
    ];
    const split = await LlamaEngine.load(gpu.ctx, directorySource(resolve(process.cwd(), 'public/models/micro')), {
      maxActivationBytes: 105 * 2 * 128 * 4,
    });
    expect(split.planGroups(split.tokenize(requests)).length).toBeGreaterThan(2);
    const scorer = createGpuTwosomeModels(gpu.engine, config, seeds);
    const scores = await scorer.actor.score(requests);
    scorer.actor.dispose();
    scorer.critic.dispose();
    // Two minibatches of 4; requests 0 and 2 shared within and across them; ratios around 1, some clipped.
    const rng = new Rng(9);
    const slots = Int32Array.of(0, 2, 0, 1, 3, 4, 2, 1);
    const actions = slots.map((p) => rng.int(requests[p].actions.length));
    const loss: PolicyPassLoss = {
      slots,
      actions,
      oldLogProbs: Float32Array.from(slots, (p, s) => {
        const dist = actionDistribution(scores[p], 'word');
        return dist.logProbs[actions[s]] - Math.log(0.7 + 0.6 * rng.next());
      }),
      advantages: Float64Array.from([
        ...normalizeAdvantages([1, -0.5, 2, 0.3]),
        ...normalizeAdvantages([-1, 0.2, 0.4, -2]),
      ]),
      minibatchSizes: [4, 4],
      normalization: 'word',
      clipCoef: 0.2,
      entCoef: 0.01,
      scale: 0.5,
    };
    const passes = vi.spyOn(ScoringForward.prototype, 'encode');
    for (const engine of [gpu.engine, split]) {
      const models = [createGpuTwosomeModels(engine, config, seeds), createGpuTwosomeModels(engine, config, seeds)];
      const [onGpu, onCpu] = models.map((m) => m.actor);
      passes.mockClear();
      const { losses } = await onGpu.accumulatePolicyLoss(requests, loss);
      expect(passes).toHaveBeenCalledTimes(engine.planGroups(engine.tokenize(requests)).length);
      let expected: ReturnType<typeof policyPassLoss>['losses'] = [];
      await onCpu.accumulate(requests, (s) => {
        const out = policyPassLoss(s, loss);
        expected = out.losses;
        return out.grads;
      });
      const got = await losses;
      expect(got).toHaveLength(2);
      expect(expected.some((l) => l.clipFrac > 0)).toBe(true);
      got.forEach((stats, m) => {
        for (const key of ['loss', 'pgLoss', 'entropy', 'approxKl', 'oldApproxKl', 'clipFrac'] as const)
          expect(Math.abs(stats[key] - expected[m][key]), key).toBeLessThan(1e-5 * Math.max(1, Math.abs(stats[key])));
      });
      const flat = async (actor: typeof onGpu) =>
        (await readLora(gpu.ctx.device, actor.trainer.lora, 'grads')).flatMap((g) => [...g.a, ...g.b]);
      const [a, b] = [await flat(onGpu), await flat(onCpu)];
      expect(b.some((v) => v !== 0)).toBe(true);
      // f32 loss against f64 (a few 1e-7 relative in dL/dS), then the same backward.
      expect(relativeError(a, b)).toBeLessThan(1e-5);
      for (const m of models) {
        m.actor.dispose();
        m.critic.dispose();
      }
    }
    passes.mockRestore();
    split.dispose();
  });
});
