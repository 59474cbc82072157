import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { centralDifference } from '../../util/testing';
import { makeModel } from '../model/make-model';
import { loadLlamaModel, memorySource } from '../model/weights';
import { criticFeature } from './score';
import { criticBackward, criticFeatures, criticForward, criticParameterCount, initCritic } from './critic';

describe('critic MLP', () => {
  it("the paper's head on a 4096-wide model: 4096 -> 1024 -> 512 -> 1, no biases, 4,719,104 parameters", () => {
    const critic = initCritic(4096, new Rng(1));
    expect(critic.sizes).toEqual([4096, 1024, 512, 1]);
    expect(critic.weights.map((w) => w.length)).toEqual([1024 * 4096, 512 * 1024, 512]);
    expect(criticParameterCount(critic)).toBe(4_719_104);
  });

  it('nn.Linear default init: U(-1/sqrt(in), 1/sqrt(in)) per layer, seeded, row-major draw order', () => {
    const a = initCritic(64, new Rng(2), [32, 16]);
    a.weights.forEach((w, l) => {
      const bound = 1 / Math.sqrt(a.sizes[l]);
      let max = 0;
      let sumSq = 0;
      for (const v of w) {
        max = Math.max(max, Math.abs(v));
        sumSq += v * v;
      }
      expect(max).toBeLessThanOrEqual(bound);
      if (w.length > 100) {
        expect(max).toBeGreaterThan(0.9 * bound);
        // variance of U(-b, b) is b^2 / 3
        expect(sumSq / w.length).toBeCloseTo((bound * bound) / 3, 2);
      }
    });
    const rng = new Rng(2);
    expect(a.weights[0][0]).toBe(Math.fround((2 * rng.next() - 1) / 8));
    expect(Array.from(initCritic(64, new Rng(2), [32, 16]).weights[2])).toEqual(Array.from(a.weights[2]));
    expect(Array.from(initCritic(64, new Rng(3), [32, 16]).weights[2])).not.toEqual(Array.from(a.weights[2]));
  });

  it('forward: ReLU hidden layers, linear output, no bias', () => {
    const critic = { sizes: [2, 2, 1], weights: [Float32Array.from([1, -1, 2, 0.5]), Float32Array.from([3, -2])] };
    // x = (1, 2): z1 = (1 - 2, 2 + 1) = (-1, 3) -> relu (0, 3) -> v = -6
    // x = (-1, -1): z1 = (0, -2.5) -> (0, 0) -> v = 0
    const fwd = criticForward(critic, [1, 2, -1, -1], 2);
    expect(fwd.values).toEqual([-6, 0]);
    expect(Array.from(fwd.pre[0])).toEqual([-1, 3, 0, -2.5]);
    expect(() => criticForward(critic, [1, 2, 3], 2)).toThrow(/2 x 2 expected/);
  });

  it('backward matches central finite differences for every weight and the input (float64 forward)', () => {
    const rng = new Rng(4);
    const critic = initCritic(8, rng, [6, 5]);
    const batch = 3;
    const x = Float64Array.from({ length: batch * 8 }, () => rng.normal());
    const c = [0.7, -1.3, 0.4];
    // loss = sum_b c_b v_b  =>  dL/dv = c
    const loss = () => criticForward(critic, x, batch, 'float64').values.reduce((s, v, b) => s + c[b] * v, 0);
    const fwd = criticForward(critic, x, batch, 'float64');
    // no pre-activation sits at a ReLU kink (finite differences would straddle it)
    fwd.pre.slice(0, -1).forEach((z) => z.forEach((v) => expect(Math.abs(v)).toBeGreaterThan(1e-3)));
    const grads = criticBackward(critic, fwd, c);
    const eps = 2 ** -18; // a power of two: float32 weights take exact steps
    critic.weights.forEach((w, l) => {
      for (let i = 0; i < w.length; i++) {
        const fd = centralDifference(w, i, loss, eps);
        expect(Math.abs(fd - grads.weights[l][i])).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
    });
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      x[i] = v + 1e-6;
      const lp = loss();
      x[i] = v - 1e-6;
      const lm = loss();
      x[i] = v;
      expect(Math.abs((lp - lm) / 2e-6 - grads.input[i])).toBeLessThan(1e-7);
    }
    // every layer receives gradient
    expect(grads.weights.every((g) => g.some((v) => v !== 0))).toBe(true);
    expect(() => criticBackward(critic, fwd, [1])).toThrow(/batch of 3/);
  });

  it('float32 forward stores float32 activations; float64 agrees to float32 precision', () => {
    const rng = new Rng(5);
    const critic = initCritic(16, rng, [8, 4]);
    const x = Float32Array.from({ length: 2 * 16 }, () => rng.normal());
    const f32 = criticForward(critic, x, 2);
    const f64 = criticForward(critic, x, 2, 'float64');
    expect(f32.pre[0]).toBeInstanceOf(Float32Array);
    f32.values.forEach((v, i) => expect(v).toBeCloseTo(f64.values[i], 6));
  });
});

describe('critic features', () => {
  it('final-norm hidden state of the last prompt token with LoRA off: equals score.ts criticFeature bit for bit', async () => {
    const made = makeModel({ hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64 });
    const { weights } = await loadLlamaModel(memorySource(made.files), { verifyMd5: false });
    const prompts = [
      [1, 40, 41, 42],
      [1, 7, 300, 9, 12, 100],
    ];
    const features = criticFeatures(weights, prompts);
    const H = weights.config.hidden;
    expect(features).toHaveLength(2 * H);
    prompts.forEach((ids, p) =>
      expect(Array.from(features.subarray(p * H, (p + 1) * H))).toEqual(Array.from(criticFeature(weights, ids))),
    );
    // and it feeds the critic
    const critic = initCritic(H, new Rng(1), [16, 8]);
    expect(criticForward(critic, features, 2).values.every(Number.isFinite)).toBe(true);
  });
});
