// The backward references against central finite differences of their forwards (float64 loss sums).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { ropeTable } from '../rope';
import { planScoring } from '../scoring-layout';
import * as fwd from './ops';
import * as bwd from './ops-backward';
import { rmsnormForward } from './rmsnorm';

/** d(sum(dy * f(x)))/dx by central differences, for a few coordinates. */
function numericGrad(f: (x: Float32Array) => Float32Array, x: Float32Array, dy: Float32Array, indices: number[], eps = 1e-3): number[] {
  return indices.map((i) => {
    const plus = x.slice();
    const minus = x.slice();
    plus[i] += eps;
    minus[i] -= eps;
    const a = f(plus);
    const b = f(minus);
    let s = 0;
    for (let k = 0; k < dy.length; k++) s += dy[k] * (a[k] - b[k]);
    return s / (2 * eps);
  });
}
const rand = (rng: Rng, n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);
function expectGradClose(analytic: ArrayLike<number>, numeric: number[], indices: number[]) {
  indices.forEach((idx, i) => expect(Math.abs(analytic[idx] - numeric[i])).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric[i]))));
}

describe('backward references match finite differences', () => {
  it('rmsnorm', () => {
    const rng = new Rng(1);
    const [rows, dim] = [3, 10];
    const x = rand(rng, rows * dim);
    const w = rand(rng, dim);
    const dy = rand(rng, rows * dim);
    const idx = [0, 5, 13, 29];
    expectGradClose(bwd.rmsnormBackward(x, w, dy, rows, dim, 1e-5), numericGrad((v) => rmsnormForward(v, w, rows, dim, 1e-5).y, x, dy, idx), idx);
  });

  it('silu * up', () => {
    const rng = new Rng(2);
    const x = rand(rng, 2 * 2 * 6, 2);
    const dh = rand(rng, 2 * 6);
    const idx = [0, 3, 7, 14, 23];
    expectGradClose(bwd.siluMulBackward(x, dh, 2, 6), numericGrad((v) => fwd.siluMul(v, 2, 6), x, dh, idx), idx);
  });

  it('rope (Q and K heads rotate back, V passes through)', () => {
    const rng = new Rng(3);
    const [heads, kv, hd] = [2, 1, 8];
    const positions = [0, 3, 9];
    const invFreq = Float32Array.from({ length: hd / 2 }, (_, d) => 10000 ** (-(2 * d) / hd));
    const table = ropeTable(invFreq, 10);
    const x = rand(rng, positions.length * (heads + 2 * kv) * hd);
    const dy = rand(rng, x.length);
    const grad = dy.slice();
    bwd.ropeBackward(grad, positions, table, heads, kv, hd);
    const idx = [0, 5, 20, 33, 40, 60, 95];
    const f = (v: Float32Array) => {
      const out = v.slice();
      fwd.rope(out, positions, invFreq, heads, kv, hd);
      return out;
    };
    expectGradClose(grad, numericGrad(f, x, dy, idx), idx);
  });

  it('log-softmax gather', () => {
    const rng = new Rng(4);
    const logits = rand(rng, 3 * 7, 2);
    const targets = [1, 6, 1];
    const g = [0.5, -1, 2];
    const idx = [0, 1, 8, 13, 20];
    const f = (v: Float32Array) => fwd.logSoftmaxGather(v, targets, 7);
    expectGradClose(bwd.logSoftmaxGatherBackward(logits, targets, g, 7), numericGrad(f, logits, Float32Array.from(g), idx), idx);
  });

  it('shared-prompt attention with GQA', () => {
    const rng = new Rng(5);
    const [heads, kv, hd] = [4, 2, 4];
    const plan = planScoring([{ promptTokens: [1, 2, 3, 4], actionTokens: [[5, 6], [7]] }]);
    const rows = plan.tokens.length;
    const qkv = rand(rng, rows * (heads + 2 * kv) * hd);
    const dout = rand(rng, rows * heads * hd);
    const idx = [0, 7, 17, 30, 45, 63, 77, 90, 111, 130, 150, 170, 191];
    const f = (v: Float32Array) => fwd.segmentAttention(v, plan.segments, rows, heads, kv, hd);
    expectGradClose(bwd.segmentAttentionBackward(qkv, plan.segments, dout, rows, heads, kv, hd), numericGrad(f, qkv, dout, idx), idx);
  });
});
