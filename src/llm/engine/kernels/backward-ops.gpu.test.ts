// The backward kernels on Dawn against the CPU reference's per-op backward (src/llm/reference/backward.ts), f32 path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import { disposeCalls, submitCalls, type KernelCall } from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import * as bwd from '../../reference/backward';
import { rmsnormForward } from '../../reference/rmsnorm';
import { ropeTable } from '../rope';
import { gatherSources } from '../scoring-layout';
import {
  logSoftmaxGatherBackwardCall,
  ropeBackwardCall,
  rmsnormBackwardCall,
  scatterAddRowsCall,
  siluMulBackwardCall,
} from './backward-ops';

let ctx: GpuContext;
let pipelines: PipelineCache;
const owned: GPUBuffer[] = [];
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  pipelines = new PipelineCache(ctx.device);
});
afterAll(() => {
  owned.forEach((b) => b.destroy());
  ctx?.device.destroy();
});
const gpu = () => ({ device: ctx.device, pipelines });
const up = (data: Float32Array | Uint32Array | number) => {
  const b = createStorageBuffer(ctx.device, typeof data === 'number' ? data * 4 : data);
  owned.push(b);
  return b;
};
async function run(calls: KernelCall[], out: GPUBuffer, count: number) {
  submitCalls(ctx.device, calls);
  disposeCalls(calls);
  return readFloat32(ctx.device, out, count);
}
const rand = (rng: Rng, n: number, scale = 1) => Float32Array.from({ length: n }, () => rng.normal() * scale);
function expectClose(actual: Float32Array, expected: ArrayLike<number>, tol = 1e-5) {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('backward kernels on Dawn', () => {
  for (const [accumulate, variant] of [
    [false, 'workgroup'],
    [true, 'workgroup'],
    [false, 'thread'],
    [true, 'thread'],
  ] as const) {
    it(`rmsnorm_backward${accumulate ? ' (accumulating)' : ''} (${variant} variant)`, async () => {
      const rng = new Rng(1);
      const [rows, dim] = [5, 200];
      const x = rand(rng, rows * dim, 2);
      const w = rand(rng, dim);
      const dy = rand(rng, rows * dim);
      const prior = rand(rng, rows * dim);
      const { rstd } = rmsnormForward(x, w, rows, dim, 1e-5);
      const dx = up(prior);
      const call = await rmsnormBackwardCall(gpu(), { x: up(x), weight: up(w), dy: up(dy), rstd: up(rstd), dx }, rows, dim, accumulate, variant);
      const expected = bwd.rmsnormBackward(x, w, rstd, dy, rows, dim).map((v, i) => v + (accumulate ? prior[i] : 0));
      expectClose(await run([call], dx, rows * dim), expected);
    });
  }

  it('silu_mul_backward', async () => {
    const rng = new Rng(2);
    const [rows, inter] = [4, 70];
    const gateUp = rand(rng, rows * 2 * inter, 3);
    const dh = rand(rng, rows * inter);
    const out = up(rows * 2 * inter);
    expectClose(await run([await siluMulBackwardCall(gpu(), up(gateUp), up(dh), out, rows, inter)], out, rows * 2 * inter), bwd.siluMulBackward(gateUp, dh, rows, inter));
  });

  it('rope backward (inverse rotation)', async () => {
    const rng = new Rng(3);
    const [heads, kv, hd] = [4, 2, 16];
    const positions = Uint32Array.from([0, 1, 7, 40]);
    const invFreq = Float32Array.from({ length: hd / 2 }, (_, d) => 10000 ** (-(2 * d) / hd));
    const table = ropeTable(invFreq, 41);
    const d = rand(rng, positions.length * (heads + 2 * kv) * hd);
    const buf = up(d);
    const actual = await run([await ropeBackwardCall(gpu(), buf, up(positions), up(table), positions.length, heads, kv, hd)], buf, d.length);
    const expected = Float64Array.from(d);
    bwd.ropeBackward(expected, positions, invFreq, heads, kv, hd);
    expectClose(actual, expected);
  });

  for (const variant of ['workgroup', 'thread'] as const) {
    it(`logsoftmax_gather_backward (${variant} variant)`, async () => {
      const rng = new Rng(4);
      const [rows, vocab] = [3, 700];
      const logits = rand(rng, rows * vocab, 3);
      const targets = Uint32Array.from([0, 699, 5]);
      const g = Float32Array.from([1, -0.5, 2]);
      const out = up(rows * vocab);
      const call = await logSoftmaxGatherBackwardCall(gpu(), up(logits), up(targets), up(g), out, rows, vocab, variant);
      expectClose(await run([call], out, rows * vocab), bwd.logSoftmaxGatherBackward(logits, targets, g, vocab));
    });
  }

  it('scatter_add_rows: the gather backward sums rows gathered several times', async () => {
    const rng = new Rng(5);
    const [rows, dim] = [6, 33];
    const gathered = Uint32Array.from([2, 2, 5, 0, 2]);
    const dout = rand(rng, gathered.length * dim);
    const { offsets, sources } = gatherSources(gathered, rows);
    const dx = up(rows * dim);
    const call = await scatterAddRowsCall(gpu(), up(dout), up(offsets), up(sources), dx, rows, dim, false);
    const expected = new Float32Array(rows * dim); // the gather's backward: rows read several times sum their gradients
    gathered.forEach((r, j) => {
      for (let c = 0; c < dim; c++) expected[r * dim + c] += dout[j * dim + c];
    });
    expectClose(await run([call], dx, rows * dim), expected);
  });
});
