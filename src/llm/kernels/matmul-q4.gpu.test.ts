// matmul_q4.wgsl and embedding_q4.wgsl on Dawn: dequantization inside the kernel (f32 and packed-f16 scales)
// against the CPU product with the dequantized matrix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../gpu/buffers';
import type { GpuContext } from '../../gpu/device';
import { disposeCalls, submitCalls } from '../../gpu/kernel';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { PipelineCache } from '../../gpu/pipelines';
import { Rng } from '../../util/rng';
import * as ref from '../reference/ops';
import { embeddingQ4Call } from './forward-ops';
import { matmulQ4Call } from './matmul-q4';

let ctx: GpuContext;
let pipelines: PipelineCache;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  pipelines = new PipelineCache(ctx.device);
});
afterAll(() => ctx?.device.destroy());

/** Half-precision bits to float (normal numbers only, which is all this test makes). */
function halfToFloat(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const value = (1 + (bits & 0x3ff) / 1024) * 2 ** (exponent - 15);
  return bits & 0x8000 ? -value : value;
}

/** A random q4 matrix [N, K]: packed words, raw scale words (f32 bits or f16 pairs) and its dequantized floats. */
function randomQ4(rng: Rng, outDim: number, inDim: number, scaleF16: boolean) {
  const qWeight = new Uint32Array((outDim * inDim) / 8);
  for (let i = 0; i < qWeight.length; i++) qWeight[i] = rng.nextU32();
  const groups = (outDim * inDim) / 32;
  const scales = new Float32Array(groups);
  const scaleWords = new Uint32Array(scaleF16 ? Math.ceil(groups / 2) : groups);
  for (let g = 0; g < groups; g++) {
    if (scaleF16) {
      const bits = ((11 + rng.int(3)) << 10) | rng.int(1024); // 2^-4 .. 2^-1, exactly representable
      scales[g] = halfToFloat(bits);
      scaleWords[g >> 1] |= bits << (16 * (g & 1));
    } else {
      scales[g] = 0.01 + rng.next() * 0.2;
      scaleWords[g] = new Uint32Array(Float32Array.of(scales[g]).buffer)[0];
    }
  }
  const dense = new Float32Array(outDim * inDim);
  for (let n = 0; n < outDim; n++) {
    for (let k = 0; k < inDim; k++) {
      const q = (qWeight[(n * inDim + k) >> 3] >>> (4 * (k % 8))) & 0xf;
      dense[n * inDim + k] = (q - 7) * scales[(n * inDim + k) >> 5];
    }
  }
  return { qWeight, scaleWords, dense };
}

describe('q4 kernels on Dawn', () => {
  for (const [tokens, outDim, inDim, scaleF16] of [
    [1, 8, 32, false],
    [3, 70, 64, true],
    [9, 130, 320, false],
    [5, 64, 288, true],
  ] as const) {
    it(`matmul_q4 T=${tokens} N=${outDim} K=${inDim} ${scaleF16 ? 'f16' : 'f32'} scales`, async () => {
      const rng = new Rng(tokens * 7 + outDim);
      const w = randomQ4(rng, outDim, inDim, scaleF16);
      const x = Float32Array.from({ length: tokens * inDim }, () => rng.normal());
      const { device } = ctx;
      const bufs = [createStorageBuffer(device, x), createStorageBuffer(device, w.qWeight), createStorageBuffer(device, w.scaleWords), createStorageBuffer(device, tokens * outDim * 4)];
      const call = await matmulQ4Call(device, pipelines, bufs[0], { qWeight: bufs[1], scales: bufs[2], outDim, inDim, scaleF16 }, bufs[3], tokens);
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
    await expect(matmulQ4Call(ctx.device, pipelines, b, { qWeight: b, scales: b, outDim: 4, inDim: 40, scaleF16: false }, b, 1)).rejects.toThrow(/multiple of 32/);
    b.destroy();
  });

  for (const scaleF16 of [false, true]) {
    it(`embedding_q4 looks up dequantized rows (${scaleF16 ? 'f16' : 'f32'} scales)`, async () => {
      const rng = new Rng(scaleF16 ? 2 : 1);
      const [vocab, dim] = [50, 64];
      const w = randomQ4(rng, vocab, dim, scaleF16);
      const tokens = Uint32Array.from([0, 49, 7, 7, 23]);
      const { device } = ctx;
      const bufs = [createStorageBuffer(device, tokens), createStorageBuffer(device, w.qWeight), createStorageBuffer(device, w.scaleWords), createStorageBuffer(device, tokens.length * dim * 4)];
      const call = await embeddingQ4Call({ device, pipelines }, bufs[0], { qWeight: bufs[1], scales: bufs[2], scaleF16 }, bufs[3], tokens.length, dim);
      submitCalls(device, [call]);
      const x = await readFloat32(device, bufs[3], tokens.length * dim);
      expect(x).toEqual(ref.embedding(w.dense, tokens, dim));
      disposeCalls([call]);
      bufs.forEach((b) => b.destroy());
    });
  }
});
