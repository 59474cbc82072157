// PPO's policy loss on the GPU (shaders/policy_loss.wgsl through GpuPolicyLoss) against its CPU reference
// (policy-pass.ts policyPassLoss: policy.ts actionDistribution and scoreGradients, ppo-loss.ts policyLoss) on
// real WebGPU: every normalization, samples sharing a request within and across minibatches, minibatches of
// unequal sizes, and ratios on both sides of the clip range with both signs of advantage.
//
// Tolerance: the kernel computes in f32 what the reference computes in f64 from the same f32 token log-probs.
// Logits here are at most ~20 in magnitude, so the f32 sums, the logsumexp and exp carry a few 1e-6 of absolute
// error into each log-prob and so a few 1e-6 relative into each ratio; the losses (|A| ratio ~ 1) and the
// gradients agree to 2e-5 (absolute, plus relative for the larger figures), far below any real difference (a
// dropped divisor, a wrong sign, a sample summed into the wrong request move them by 1e-2 or more).
import { describe, expect, it } from 'vitest';
import { readbackPool } from '../gpu/readback';
import { kernelTestGpu } from '../llm/engine/kernels/test-gpu';
import { relativeError } from '../llm/engine/test-helpers';
import { sumActionScores, type ScoringBatch } from '../llm/scores';
import { batchTokenRanges } from '../llm/train/lora-trainer';
import { Rng } from '../util/rng';
import { actionDistribution, NORMALIZATIONS, type Normalization } from './policy';
import { GpuPolicyLoss, policyLossTables } from './policy-loss-gpu';
import { policyPassLoss, type PolicyPassLoss } from './policy-pass';
import { normalizeAdvantages } from './ppo-loss';

const gpu = kernelTestGpu();

const CLIP = 0.2;

/** A pass of `actionsPer.length` requests: random token log-probs, token and word counts. */
function randomPass(rng: Rng, actionsPer: number[]): { batch: ScoringBatch; tokenLogprobs: Float32Array<ArrayBuffer> } {
  const batch = actionsPer.map((actions) => ({
    promptTokens: [1],
    actionTokens: Array.from({ length: actions }, () => Array.from({ length: 1 + rng.int(4) }, () => 5)),
    actionWords: Array.from({ length: actions }, () => 1 + rng.int(3)),
  }));
  const tokens = batch.reduce((n, r) => n + r.actionTokens.flat().length, 0);
  const tokenLogprobs = Float32Array.from({ length: tokens }, () => -0.05 - 4 * rng.next());
  return { batch, tokenLogprobs };
}

/** The reference's scores of the pass: each action's summed token log-probs, as the engine's scores give them. */
function scoresOf(batch: ScoringBatch, tokenLogprobs: Float32Array) {
  const ranges = batchTokenRanges(batch);
  return batch.map((r, p) =>
    sumActionScores(
      r,
      ranges[p].map(({ first, count }) => tokenLogprobs.subarray(first, first + count)),
    ),
  );
}

/**
 * Old log-probs that give each sample the ratio `ratios[s]` under the reference's new log-probs, and the samples'
 * advantages (normalized per minibatch where `normAdv`).
 */
function lossInput(
  batch: ScoringBatch,
  tokenLogprobs: Float32Array,
  samples: { slots: number[]; actions: number[]; ratios: number[]; advantages: number[] },
  minibatchSizes: number[],
  normalization: Normalization,
  options: { entCoef: number; scale: number; normAdv: boolean },
): PolicyPassLoss {
  const scores = scoresOf(batch, tokenLogprobs);
  const oldLogProbs = Float32Array.from(samples.slots, (slot, s) => {
    const dist = actionDistribution(scores[slot], normalization);
    return dist.logProbs[samples.actions[s]] - Math.log(samples.ratios[s]);
  });
  const advantages = new Float64Array(samples.advantages.length);
  let offset = 0;
  for (const n of minibatchSizes) {
    const raw = samples.advantages.slice(offset, offset + n);
    advantages.set(options.normAdv ? normalizeAdvantages(raw) : raw, offset);
    offset += n;
  }
  return {
    slots: Int32Array.from(samples.slots),
    actions: Int32Array.from(samples.actions),
    oldLogProbs,
    advantages,
    minibatchSizes,
    normalization,
    clipCoef: CLIP,
    entCoef: options.entCoef,
    scale: options.scale,
  };
}

/** The kernel's token gradients and minibatch stats for one pass. */
async function runOnGpu(batch: ScoringBatch, tokenLogprobs: Float32Array<ArrayBuffer>, loss: PolicyPassLoss) {
  const { device } = gpu.kernels;
  const policyLoss = new GpuPolicyLoss(gpu.kernels);
  const pass = await policyLoss.prepare(batch, loss);
  device.queue.writeBuffer(pass.tokenLogprobs, 0, tokenLogprobs);
  const encoder = device.createCommandEncoder();
  pass.encode(encoder);
  const grads = readbackPool(device).stage(encoder, [{ buffer: pass.tokenGrads, count: tokenLogprobs.length }]);
  device.queue.submit([encoder.finish()]);
  const [tokenGrads] = await grads.read();
  const stats = await pass.read();
  policyLoss.dispose();
  return { tokenGrads, stats };
}

/** The reference: its minibatch losses, and dL/dS of each action on every one of its tokens. */
function reference(batch: ScoringBatch, tokenLogprobs: Float32Array, loss: PolicyPassLoss) {
  const { losses, grads } = policyPassLoss(scoresOf(batch, tokenLogprobs), loss);
  const tokenGrads = new Float64Array(tokenLogprobs.length);
  batchTokenRanges(batch).forEach((actions, p) =>
    actions.forEach(({ first, count }, k) => tokenGrads.fill(grads[p][k], first, first + count)),
  );
  return { losses, tokenGrads };
}

function expectSameLoss(
  gpuResult: Awaited<ReturnType<typeof runOnGpu>>,
  ref: ReturnType<typeof reference>,
  tolerance = 2e-5,
) {
  expect(gpuResult.stats).toHaveLength(ref.losses.length);
  gpuResult.stats.forEach((stats, m) => {
    for (const key of ['loss', 'pgLoss', 'entropy', 'approxKl', 'oldApproxKl', 'clipFrac'] as const) {
      const expected = ref.losses[m][key];
      expect(Math.abs(stats[key] - expected), `minibatch ${m} ${key}`).toBeLessThan(
        tolerance * Math.max(1, Math.abs(expected)),
      );
    }
  });
  expect(ref.tokenGrads.some((g) => g !== 0)).toBe(true);
  expect(relativeError(gpuResult.tokenGrads, ref.tokenGrads)).toBeLessThan(tolerance);
}

/** A ratio in [0.6, 1.4] at least 1e-3 from the clip range's ends (where f32 and f64 could disagree on a side). */
function ratioAwayFromEnds(rng: Rng): number {
  for (;;) {
    const r = 0.6 + 0.8 * rng.next();
    if (Math.abs(r - (1 - CLIP)) > 1e-3 && Math.abs(r - (1 + CLIP)) > 1e-3) return r;
  }
}

describe('policy_loss.wgsl against policy-pass.ts policyPassLoss', () => {
  for (const normalization of NORMALIZATIONS) {
    it(`${normalization} normalization: 3 minibatches of 4, requests shared within and across them`, async () => {
      const rng = new Rng(11);
      const { batch, tokenLogprobs } = randomPass(rng, [3, 5, 2, 6, 4]);
      // Requests 0 and 3 are shared inside minibatch 0, request 1 across all three minibatches.
      const slots = [0, 1, 0, 3, 3, 1, 2, 4, 1, 4, 0, 2];
      const samples = {
        slots,
        actions: slots.map((slot) => rng.int(batch[slot].actionTokens.length)),
        ratios: slots.map(() => ratioAwayFromEnds(rng)),
        advantages: slots.map(() => rng.normal()),
      };
      const loss = lossInput(batch, tokenLogprobs, samples, [4, 4, 4], normalization, {
        entCoef: 0.01,
        scale: 1 / 8,
        normAdv: true,
      });
      const ref = reference(batch, tokenLogprobs, loss);
      // Some samples clipped, some not: both branches of the loss are in play.
      expect(ref.losses.some((l) => l.clipFrac > 0 && l.clipFrac < 1)).toBe(true);
      expectSameLoss(await runOnGpu(batch, tokenLogprobs, loss), ref);
    });
  }

  it('minibatches of unequal sizes, every sample on one of two requests, advantages not normalized', async () => {
    const rng = new Rng(5);
    const { batch, tokenLogprobs } = randomPass(rng, [4, 7]);
    const slots = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1];
    const samples = {
      slots,
      actions: slots.map((slot) => rng.int(batch[slot].actionTokens.length)),
      ratios: slots.map(() => ratioAwayFromEnds(rng)),
      advantages: slots.map(() => 2 * rng.normal()),
    };
    const loss = lossInput(batch, tokenLogprobs, samples, [3, 7], 'word', {
      entCoef: 0.05,
      scale: 1,
      normAdv: false,
    });
    expectSameLoss(await runOnGpu(batch, tokenLogprobs, loss), reference(batch, tokenLogprobs, loss));
  });

  it('the clip boundary: 1e-3 inside and outside each end of [1 - c, 1 + c], both signs of advantage', async () => {
    const rng = new Rng(3);
    const ratios = [1 - CLIP - 1e-3, 1 - CLIP + 1e-3, 1 + CLIP - 1e-3, 1 + CLIP + 1e-3];
    const cases = ratios.flatMap((ratio) => [1, -1].map((advantage) => ({ ratio, advantage })));
    // One request per sample, so each request's gradient is its one sample's; no entropy term, so a clipped
    // sample's gradient is exactly 0.
    const { batch, tokenLogprobs } = randomPass(
      rng,
      cases.map(() => 3),
    );
    const samples = {
      slots: cases.map((_, s) => s),
      actions: cases.map(() => 1),
      ratios: cases.map((c) => c.ratio),
      advantages: cases.map((c) => c.advantage),
    };
    const loss = lossInput(batch, tokenLogprobs, samples, [cases.length], 'token', {
      entCoef: 0,
      scale: 1,
      normAdv: false,
    });
    const ref = reference(batch, tokenLogprobs, loss);
    const result = await runOnGpu(batch, tokenLogprobs, loss);
    expectSameLoss(result, ref);
    expect(result.stats[0].clipFrac).toBe(4 / 8);
    // Below 1 - c with A < 0 and above 1 + c with A > 0 the clipped term is the max: no gradient.
    const ranges = batchTokenRanges(batch);
    cases.forEach(({ ratio, advantage }, s) => {
      const clipped = (ratio < 1 - CLIP && advantage < 0) || (ratio > 1 + CLIP && advantage > 0);
      const grads = ranges[s].flatMap(({ first, count }) => [...result.tokenGrads.subarray(first, first + count)]);
      expect(
        grads.every((g) => g === 0),
        `ratio ${ratio}, advantage ${advantage}`,
      ).toBe(clipped);
    });
  });

  it('refuses a sample that points at a request or an action the pass does not have', () => {
    const { batch } = randomPass(new Rng(1), [2, 3]);
    const base = {
      slots: Int32Array.of(0, 1),
      actions: Int32Array.of(1, 2),
      oldLogProbs: Float32Array.of(-1, -1),
      advantages: Float64Array.of(1, -1),
      minibatchSizes: [2],
      normalization: 'word' as const,
      clipCoef: CLIP,
      entCoef: 0,
      scale: 1,
    };
    expect(() => policyLossTables(batch, base)).not.toThrow();
    expect(() => policyLossTables(batch, { ...base, slots: Int32Array.of(0, 2) })).toThrow(
      /sample 1 points at request 2 of 2/,
    );
    expect(() => policyLossTables(batch, { ...base, actions: Int32Array.of(2, 0) })).toThrow(
      /sample 0 took action 2, its request offers 2/,
    );
    expect(() => policyLossTables(batch, { ...base, minibatchSizes: [1] })).toThrow(/minibatches of 1 samples/);
  });
});
