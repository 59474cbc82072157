// The linear and embedding kernels on Dawn, every weight format (q4 with f32 or packed-f16 scales, dense f32 and
// f16), against the CPU product with the decoded matrix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../gpu/buffers';
import type { GpuContext } from '../../gpu/device';
import { disposeCalls, submitCalls } from '../../gpu/kernel';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { PipelineCache } from '../../gpu/pipelines';
import { Rng } from '../../util/rng';
import * as ref from '../reference/ops';
import { embeddingCall, linearCall, linearInputGradCall, type GpuLinear } from './linear';
import { randomDense, randomQ4 } from './test-weights';

let ctx: GpuContext;
let pipelines: PipelineCache;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  pipelines = new PipelineCache(ctx.device);
});
afterAll(() => ctx?.device.destroy());

describe('linear and embedding kernels on Dawn', () => {
  for (const [tokens, outDim, inDim, scaleF16, variant] of [
    [1, 8, 32, false, 'workgroup'],
    [3, 70, 64, true, 'workgroup'],
    [9, 130, 320, false, 'workgroup'],
    [5, 64, 288, true, 'workgroup'],
    [1, 8, 32, false, 'thread'],
    [3, 70, 64, true, 'thread'],
    [9, 130, 320, false, 'thread'],
    [6, 5, 96, true, 'thread'],
  ] as const) {
    it(`matmul_q4 T=${tokens} N=${outDim} K=${inDim} ${scaleF16 ? 'f16' : 'f32'} scales (${variant} variant)`, async () => {
      const rng = new Rng(tokens * 7 + outDim);
      const w = randomQ4(rng, outDim, inDim, scaleF16);
      const x = Float32Array.from({ length: tokens * inDim }, () => rng.normal());
      const { device } = ctx;
      const bufs = [createStorageBuffer(device, x), createStorageBuffer(device, w.qWeight), createStorageBuffer(device, w.scaleWords), createStorageBuffer(device, tokens * outDim * 4)];
      const call = await linearCall({ device, pipelines }, bufs[0], { format: 'q4', qWeight: bufs[1], scales: bufs[2], outDim, inDim, scaleF16 }, bufs[3], tokens, variant);
      submitCalls(device, [call]);
      const y = await readFloat32(device, bufs[3], tokens * outDim);
      const expected = ref.matmul(x, w.dense, tokens, outDim, inDim);
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i])));
      disposeCalls([call]);
      bufs.forEach((b) => b.destroy());
    });
  }

  it('rejects K that is not a multiple of the quantization group', async () => {
    const b = createStorageBuffer(ctx.device, 64);
    await expect(linearCall({ device: ctx.device, pipelines }, b, { format: 'q4', qWeight: b, scales: b, outDim: 4, inDim: 40, scaleF16: false }, b, 1)).rejects.toThrow(/multiple of 32/);
    b.destroy();
  });

  for (const [f16, variant, tokens, outDim, inDim] of [
    [false, 'workgroup', 6, 67, 300],
    [true, 'workgroup', 6, 67, 300],
    [false, 'thread', 6, 67, 300],
    [true, 'thread', 7, 67, 64],
  ] as const) {
    it(`matmul_dense and embedding_dense with ${f16 ? 'f16' : 'f32'} weights (${variant} variant)`, async () => {
      const rng = new Rng(f16 ? 12 : 11);
      const { dense, words } = randomDense(rng, outDim, inDim, f16);
      const x = Float32Array.from({ length: tokens * inDim }, () => rng.normal());
      const { device } = ctx;
      const bufs = [createStorageBuffer(device, x), createStorageBuffer(device, words), createStorageBuffer(device, tokens * outDim * 4)];
      const w: GpuLinear = { format: 'dense', weight: bufs[1], f16, outDim, inDim };
      const call = await linearCall({ device, pipelines }, bufs[0], w, bufs[2], tokens, variant);
      submitCalls(device, [call]);
      const y = await readFloat32(device, bufs[2], tokens * outDim);
      const expected = ref.matmul(x, dense, tokens, outDim, inDim);
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i])));
      const ids = Uint32Array.from([3, 0, 66]);
      const idBuf = createStorageBuffer(device, ids);
      const out = createStorageBuffer(device, ids.length * inDim * 4);
      const lookup = await embeddingCall({ device, pipelines }, idBuf, w, out, ids.length);
      submitCalls(device, [lookup]);
      expect(await readFloat32(device, out, ids.length * inDim)).toEqual(ref.embedding(dense, ids, inDim));
      disposeCalls([call, lookup]);
      [...bufs, idBuf, out].forEach((b) => b.destroy());
    });
  }

  for (const [format, f16, accumulate, variant, outDim] of [
    ['q4', false, false, 'workgroup', 300],
    ['q4', true, true, 'workgroup', 300],
    ['dense', false, true, 'workgroup', 300],
    ['dense', true, false, 'workgroup', 300],
    ['q4', false, false, 'thread', 300],
    ['q4', true, true, 'thread', 71],
    ['dense', false, true, 'thread', 71],
    ['dense', true, false, 'thread', 300],
  ] as const) {
    it(`input gradient through a frozen ${format} weight (${f16 ? 'f16' : 'f32'}${accumulate ? ', accumulating' : ''}, N=${outDim}, ${variant} variant): dx = dy W`, async () => {
      const rng = new Rng(f16 ? 31 : 30);
      const [tokens, inDim] = [7, 96];
      const { device } = ctx;
      let w: GpuLinear;
      let dense: Float32Array;
      const owned: GPUBuffer[] = [];
      if (format === 'q4') {
        const q = randomQ4(rng, outDim, inDim, f16);
        dense = q.dense;
        owned.push(createStorageBuffer(device, q.qWeight), createStorageBuffer(device, q.scaleWords));
        w = { format: 'q4', qWeight: owned[0], scales: owned[1], scaleF16: f16, outDim, inDim };
      } else {
        const d = randomDense(rng, outDim, inDim, f16);
        dense = d.dense;
        owned.push(createStorageBuffer(device, d.words));
        w = { format: 'dense', weight: owned[0], f16, outDim, inDim };
      }
      const dy = Float32Array.from({ length: tokens * outDim }, () => rng.normal());
      const prior = Float32Array.from({ length: tokens * inDim }, () => rng.normal());
      const dyBuf = createStorageBuffer(device, dy);
      const dxBuf = createStorageBuffer(device, prior);
      const call = await linearInputGradCall({ device, pipelines }, dyBuf, w, dxBuf, tokens, accumulate, variant);
      submitCalls(device, [call]);
      const dx = await readFloat32(device, dxBuf, tokens * inDim);
      const wT = new Float32Array(inDim * outDim);
      for (let n = 0; n < outDim; n++) for (let k = 0; k < inDim; k++) wT[k * outDim + n] = dense[n * inDim + k];
      const expected = ref.matmul(dy, wT, tokens, inDim, outDim);
      if (accumulate) expected.forEach((v, i) => (expected[i] = v + prior[i]));
      for (let i = 0; i < dx.length; i++) expect(Math.abs(dx[i] - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i])));
      disposeCalls([call]);
      [...owned, dyBuf, dxBuf].forEach((b) => b.destroy());
    });
  }

  for (const scaleF16 of [false, true]) {
    it(`embedding_q4 looks up dequantized rows (${scaleF16 ? 'f16' : 'f32'} scales)`, async () => {
      const rng = new Rng(scaleF16 ? 2 : 1);
      const [vocab, dim] = [50, 64];
      const w = randomQ4(rng, vocab, dim, scaleF16);
      const tokens = Uint32Array.from([0, 49, 7, 7, 23]);
      const { device } = ctx;
      const bufs = [createStorageBuffer(device, tokens), createStorageBuffer(device, w.qWeight), createStorageBuffer(device, w.scaleWords), createStorageBuffer(device, tokens.length * dim * 4)];
      const table: GpuLinear = { format: 'q4', qWeight: bufs[1], scales: bufs[2], scaleF16, outDim: vocab, inDim: dim };
      const call = await embeddingCall({ device, pipelines }, bufs[0], table, bufs[3], tokens.length);
      submitCalls(device, [call]);
      const x = await readFloat32(device, bufs[3], tokens.length * dim);
      expect(x).toEqual(ref.embedding(w.dense, tokens, dim));
      disposeCalls([call]);
      bufs.forEach((b) => b.destroy());
    });
  }
});
