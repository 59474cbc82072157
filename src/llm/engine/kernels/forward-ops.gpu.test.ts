// The forward kernels on Dawn against their CPU references (src/llm/reference/ops.ts), f32 path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import { disposeCalls, submitCalls, type KernelCall } from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import * as ref from '../../reference/ops';
import { ropeTable } from '../rope';
import { gatherRowsCall, logSoftmaxGatherCall, residualAddCall, ropeCall, siluMulCall } from './forward-ops';

let ctx: GpuContext;
let pipelines: PipelineCache;
const buffers: GPUBuffer[] = [];

beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  pipelines = new PipelineCache(ctx.device);
});
afterAll(() => {
  buffers.forEach((b) => b.destroy());
  ctx?.device.destroy();
});

const gpu = () => ({ device: ctx.device, pipelines });
function upload(data: Float32Array | Uint32Array | number): GPUBuffer {
  const buffer = createStorageBuffer(ctx.device, data);
  buffers.push(buffer);
  return buffer;
}
async function run(call: KernelCall, out: GPUBuffer, count: number): Promise<Float32Array> {
  submitCalls(ctx.device, [call]);
  disposeCalls([call]);
  return readFloat32(ctx.device, out, count);
}
function random(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}
function expectClose(actual: Float32Array, expected: Float32Array, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe('forward kernels on Dawn', () => {
  it('rope.wgsl rotates Q and K heads, not V, at each row position (GQA layout)', async () => {
    const rng = new Rng(1);
    const [rows, heads, kvHeads, headDim] = [7, 4, 2, 16];
    const qkv = random(rng, rows * (heads + 2 * kvHeads) * headDim);
    const positions = Uint32Array.from([0, 1, 2, 3, 3, 4, 200]);
    const invFreq = Float32Array.from({ length: headDim / 2 }, (_, d) => 10000 ** (-(2 * d) / headDim));
    const buffer = upload(qkv);
    const call = await ropeCall(gpu(), buffer, upload(positions), upload(ropeTable(invFreq, 201)), rows, heads, kvHeads, headDim);
    const actual = await run(call, buffer, qkv.length);
    const expected = qkv.slice();
    ref.rope(expected, positions, invFreq, heads, kvHeads, headDim);
    expectClose(actual, expected, 1e-5);
    const vStart = (heads + kvHeads) * headDim;
    expect(actual.slice(vStart, vStart + kvHeads * headDim)).toEqual(qkv.slice(vStart, vStart + kvHeads * headDim));
  });

  it('silu_mul.wgsl', async () => {
    const rng = new Rng(3);
    const [rows, inter] = [5, 48];
    const gateUp = random(rng, rows * 2 * inter, 3);
    const out = upload(rows * inter * 4);
    const actual = await run(await siluMulCall(gpu(), upload(gateUp), out, rows, inter), out, rows * inter);
    expectClose(actual, ref.siluMul(gateUp, rows, inter), 1e-5);
  });

  it('residual_add.wgsl', async () => {
    const rng = new Rng(4);
    const x = random(rng, 300);
    const y = random(rng, 300);
    const xb = upload(x);
    const actual = await run(await residualAddCall(gpu(), xb, upload(y), 300), xb, 300);
    expectClose(actual, x.map((v, i) => v + y[i]), 1e-6);
  });

  for (const variant of ['workgroup', 'thread'] as const) {
    it(`gather_rows.wgsl and logsoftmax_gather.wgsl (${variant} variant)`, async () => {
      const rng = new Rng(5);
      const [rows, vocab] = [6, 1000];
      const logits = random(rng, rows * vocab, 4);
      const pick = Uint32Array.from([5, 0, 2, 2]);
      const gathered = upload(pick.length * vocab * 4);
      const g = await run(await gatherRowsCall(gpu(), upload(logits), upload(pick), gathered, pick.length, vocab), gathered, pick.length * vocab);
      const expectedRows = new Float32Array(pick.length * vocab);
      pick.forEach((r, j) => expectedRows.set(logits.subarray(r * vocab, (r + 1) * vocab), j * vocab));
      expect(g).toEqual(expectedRows);
      const targets = Uint32Array.from([0, 999, 17, 500]);
      const out = upload(pick.length * 4);
      const lp = await run(await logSoftmaxGatherCall(gpu(), gathered, upload(targets), out, pick.length, vocab, variant), out, pick.length);
      expectClose(lp, ref.logSoftmaxGather(expectedRows, targets, vocab), 1e-5);
    });
  }
});
