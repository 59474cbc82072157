// The linear and embedding kernels on Dawn, every weight format (q4 with f32 or packed-f16 scales, dense f32 and
// f16), against the CPU product with the decoded matrix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import { disposeCalls, submitCalls } from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import * as ref from '../../reference/ops';
import { embedding } from '../../reference/embedding';
import { embeddingCall } from './embedding';
import { linearCall, linearInputGradCall, wholeLinear, type GpuLinear } from './linear';
import { randomDense, randomLinear, randomQ4 } from './test-weights';

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
      const bufs = [
        createStorageBuffer(device, x),
        createStorageBuffer(device, w.qWeight),
        createStorageBuffer(device, w.scaleWords),
        createStorageBuffer(device, tokens * outDim * 4),
      ];
      const call = await linearCall(
        { device, pipelines },
        bufs[0],
        wholeLinear({ format: 'q4', qWeight: bufs[1], scales: bufs[2], outDim, inDim, scaleF16 }),
        bufs[3],
        tokens,
        variant,
      );
      submitCalls(device, call);
      const y = await readFloat32(device, bufs[3], tokens * outDim);
      const expected = ref.matmul(x, w.dense, tokens, outDim, inDim);
      for (let i = 0; i < y.length; i++)
        expect(Math.abs(y[i] - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i])));
      disposeCalls(call);
      bufs.forEach((b) => b.destroy());
    });
  }

  it('rejects K that is not a multiple of the quantization group', async () => {
    const b = createStorageBuffer(ctx.device, 64);
    await expect(
      linearCall(
        { device: ctx.device, pipelines },
        b,
        wholeLinear({ format: 'q4', qWeight: b, scales: b, outDim: 4, inDim: 40, scaleF16: false }),
        b,
        1,
      ),
    ).rejects.toThrow(/multiple of 32/);
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
      const bufs = [
        createStorageBuffer(device, x),
        createStorageBuffer(device, words),
        createStorageBuffer(device, tokens * outDim * 4),
      ];
      const w: GpuLinear = wholeLinear({ format: 'dense', weight: bufs[1], f16, outDim, inDim });
      const call = await linearCall({ device, pipelines }, bufs[0], w, bufs[2], tokens, variant);
      submitCalls(device, call);
      const y = await readFloat32(device, bufs[2], tokens * outDim);
      const expected = ref.matmul(x, dense, tokens, outDim, inDim);
      for (let i = 0; i < y.length; i++)
        expect(Math.abs(y[i] - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i])));
      const ids = Uint32Array.from([3, 0, 66]);
      const idBuf = createStorageBuffer(device, ids);
      const out = createStorageBuffer(device, ids.length * inDim * 4);
      const lookup = await embeddingCall({ device, pipelines }, idBuf, w, out, ids.length);
      submitCalls(device, lookup);
      expect(await readFloat32(device, out, ids.length * inDim)).toEqual(embedding(dense, ids, inDim));
      disposeCalls([...call, ...lookup]);
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
        w = wholeLinear({ format: 'q4', qWeight: owned[0], scales: owned[1], scaleF16: f16, outDim, inDim });
      } else {
        const d = randomDense(rng, outDim, inDim, f16);
        dense = d.dense;
        owned.push(createStorageBuffer(device, d.words));
        w = wholeLinear({ format: 'dense', weight: owned[0], f16, outDim, inDim });
      }
      const dy = Float32Array.from({ length: tokens * outDim }, () => rng.normal());
      const prior = Float32Array.from({ length: tokens * inDim }, () => rng.normal());
      const dyBuf = createStorageBuffer(device, dy);
      const dxBuf = createStorageBuffer(device, prior);
      const call = await linearInputGradCall({ device, pipelines }, dyBuf, w, dxBuf, tokens, accumulate, variant);
      submitCalls(device, call);
      const dx = await readFloat32(device, dxBuf, tokens * inDim);
      const wT = new Float32Array(inDim * outDim);
      for (let n = 0; n < outDim; n++) for (let k = 0; k < inDim; k++) wT[k * outDim + n] = dense[n * inDim + k];
      const expected = ref.matmul(dy, wT, tokens, inDim, outDim);
      if (accumulate) expected.forEach((v, i) => (expected[i] = v + prior[i]));
      for (let i = 0; i < dx.length; i++)
        expect(Math.abs(dx[i] - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i])));
      disposeCalls(call);
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
      const bufs = [
        createStorageBuffer(device, tokens),
        createStorageBuffer(device, w.qWeight),
        createStorageBuffer(device, w.scaleWords),
        createStorageBuffer(device, tokens.length * dim * 4),
      ];
      const table: GpuLinear = wholeLinear({
        format: 'q4',
        qWeight: bufs[1],
        scales: bufs[2],
        scaleF16,
        outDim: vocab,
        inDim: dim,
      });
      const call = await embeddingCall({ device, pipelines }, bufs[0], table, bufs[3], tokens.length);
      submitCalls(device, call);
      const x = await readFloat32(device, bufs[3], tokens.length * dim);
      expect(x).toEqual(embedding(w.dense, tokens, dim));
      disposeCalls(call);
      bufs.forEach((b) => b.destroy());
    });
  }
  // A weight split by rows (gpu-weights.ts uploads one larger than a binding that way): rows [0, 30), [30, 60),
  // [60, 70) in buffers of their own. Each chunk's forward writes its columns of y (rows still N wide), the
  // input gradient sums over the chunks, the embedding lookup takes each id from its chunk.
  const SPLIT = [30, 30, 10];
  for (const [format, variant, inDim] of [
    ['q4', 'thread', 64],
    ['q4', 'workgroup', 320],
    ['dense', 'thread', 64],
    ['dense', 'workgroup', 300],
  ] as const) {
    it(`a ${format} weight split in 3 row chunks equals it whole: forward, input gradient, embedding (K=${inDim}, ${variant} variant)`, async () => {
      const rng = new Rng(inDim);
      const [tokens, outDim] = [6, 70];
      const { device } = ctx;
      const owned: GPUBuffer[] = [];
      const buffer = (data: Float32Array | Uint32Array | number) => {
        const b = createStorageBuffer(device, typeof data === 'number' ? data * 4 : data);
        owned.push(b);
        return b;
      };
      // f16 q4 scales (pairs: K/32 scales per row, even for these K), f32 dense words.
      const { dense, linear } = randomLinear(rng, format, outDim, inDim, format === 'q4');
      const [whole, split] = [linear(buffer), linear(buffer, SPLIT)];
      const run = async (calls: Awaited<ReturnType<typeof linearCall>>, out: GPUBuffer, count: number) => {
        submitCalls(device, calls);
        disposeCalls(calls);
        return readFloat32(device, out, count);
      };
      // Forward: the same sums in the same order, so the same bits.
      const x = buffer(Float32Array.from({ length: tokens * inDim }, () => rng.normal()));
      const forward = async (w: GpuLinear) => {
        const y = buffer(tokens * outDim);
        return run(await linearCall({ device, pipelines }, x, w, y, tokens, variant), y, tokens * outDim);
      };
      const [yWhole, ySplit] = [await forward(whole), await forward(split)];
      expect(ySplit).toEqual(yWhole);
      expect(yWhole.some((v) => v !== 0)).toBe(true);
      // Input gradient, overwriting and accumulating: chunks after the first add into dx.
      const dy = buffer(Float32Array.from({ length: tokens * outDim }, () => rng.normal()));
      const prior = Float32Array.from({ length: tokens * inDim }, () => rng.normal());
      const wT = new Float32Array(inDim * outDim);
      for (let n = 0; n < outDim; n++) for (let k = 0; k < inDim; k++) wT[k * outDim + n] = dense[n * inDim + k];
      for (const accumulate of [false, true]) {
        const dx = buffer(prior);
        const got = await run(
          await linearInputGradCall({ device, pipelines }, dy, split, dx, tokens, accumulate, variant),
          dx,
          tokens * inDim,
        );
        const expected = ref.matmul(await readFloat32(device, dy, tokens * outDim), wT, tokens, inDim, outDim);
        if (accumulate) expected.forEach((v, i) => (expected[i] = v + prior[i]));
        for (let i = 0; i < got.length; i++)
          expect(Math.abs(got[i] - expected[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected[i])));
      }
      // Embedding: ids in every chunk, at its edges.
      const ids = Uint32Array.from([0, 29, 30, 59, 60, 69, 45, 3]);
      const idBuf = buffer(ids);
      const out = buffer(ids.length * inDim);
      const rows = await run(
        await embeddingCall({ device, pipelines }, idBuf, split, out, ids.length),
        out,
        ids.length * inDim,
      );
      expect(rows).toEqual(embedding(dense, ids, inDim));
      owned.forEach((b) => b.destroy());
    });
  }
});
