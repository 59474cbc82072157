// The CPU reference of attention (the twin the kernels are tested against) checked on its own: its log-sum-exp,
// its probabilities, causality, the shared layout against separate sequences, GQA. Gradients: backward.test.ts.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { planScoring } from '../engine/scoring-layout';
import { attentionForward, causalSegments } from './attention';

const random = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => rng.normal());
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('reference attention', () => {
  const [heads, kvHeads, hd] = [4, 2, 8];
  const stride = (heads + 2 * kvHeads) * hd;

  it('keeps lse = log sum exp of the scaled scores, and probabilities that sum to 1', () => {
    const T = 5;
    const qkv = random(new Rng(1), T * stride);
    const { lse, probs, keys } = attentionForward(qkv, causalSegments(T), T, heads, kvHeads, hd);
    const t = 3;
    const h = 3; // kv head 1
    let sum = 0;
    for (let s = 0; s <= t; s++) {
      let dot = 0;
      for (let d = 0; d < hd; d++) dot += qkv[t * stride + h * hd + d] * qkv[s * stride + (heads + 1) * hd + d];
      sum += Math.exp(dot / Math.sqrt(hd));
    }
    expect(lse[t * heads + h]).toBeCloseTo(Math.log(sum), 12);
    for (let r = 0; r < T; r++) {
      let total = 0;
      for (let i = 0; i < keys; i++) total += probs[(h * T + r) * keys + i];
      expect(total).toBeCloseTo(1, 12);
    }
  });

  it('is causal: a row does not see later rows', () => {
    const T = 6;
    const qkv = random(new Rng(2), T * stride);
    const a = attentionForward(qkv, causalSegments(T), T, heads, kvHeads, hd).out;
    const changed = qkv.slice();
    for (let i = 4 * stride; i < T * stride; i++) changed[i] += 1;
    const b = attentionForward(changed, causalSegments(T), T, heads, kvHeads, hd).out;
    expect(maxAbsDiff(a.subarray(0, 4 * heads * hd), b.subarray(0, 4 * heads * hd))).toBe(0);
    expect(maxAbsDiff(a.subarray(4 * heads * hd), b.subarray(4 * heads * hd))).toBeGreaterThan(1e-3);
  });

  it("gives an action's rows in the shared layout what they get as the end of their own sequence", () => {
    const request = { promptTokens: [1, 2, 3, 4], actionTokens: [[5, 6], [7], [8, 9, 10]] };
    const rng = new Rng(3);
    const values = new Map<string, Float64Array>();
    const outputs: Record<string, number[]> = {};
    for (const mode of ['shared', 'separate'] as const) {
      const layout = planScoring([request], mode);
      const rows = layout.tokens.length;
      const qkv = new Float64Array(rows * stride);
      for (let r = 0; r < rows; r++) {
        const key = `${layout.tokens[r]}@${layout.positions[r]}`;
        if (!values.has(key)) values.set(key, random(rng, stride));
        qkv.set(values.get(key)!, r * stride);
      }
      const out = attentionForward(qkv, layout.segments, rows, heads, kvHeads, hd).out;
      outputs[mode] = [];
      for (let r = 0; r < rows; r++)
        if (layout.positions[r] >= 4) outputs[mode].push(...out.subarray(r * heads * hd, (r + 1) * heads * hd));
    }
    expect(outputs.shared).toHaveLength(6 * heads * hd);
    expect(maxAbsDiff(outputs.shared, outputs.separate)).toBeLessThan(1e-12);
  });

  it('with zero q and k, averages v over the keys; query heads of one kv head read the same v', () => {
    const T = 3;
    const qkv = random(new Rng(4), T * stride);
    for (let r = 0; r < T; r++) qkv.fill(0, r * stride, r * stride + (heads + kvHeads) * hd);
    const { out } = attentionForward(qkv, causalSegments(T), T, heads, kvHeads, hd);
    const v = (row: number, g: number, d: number) => qkv[row * stride + (heads + kvHeads + g) * hd + d];
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / 2);
      for (let d = 0; d < hd; d++)
        expect(out[2 * heads * hd + h * hd + d]).toBeCloseTo((v(0, g, d) + v(1, g, d) + v(2, g, d)) / 3, 12);
    }
  });
});
