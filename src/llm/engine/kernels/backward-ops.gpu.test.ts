// The attention backward on Dawn against the CPU reference (src/llm/reference/backward.ts), f32 path. The other
// ops' backward kernels are tested with their forward, one file per op (rmsnorm.gpu.test.ts, rope.gpu.test.ts, ...).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import { disposeCalls, submitCalls, type KernelCall } from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import * as fwd from '../../reference/ops';
import * as bwd from '../../reference/backward';
import { keyReaders, planScoring } from '../scoring-layout';
import { attentionCall } from './forward-ops';
import { attentionBackwardCalls } from './backward-ops';

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

describe('attention backward kernels on Dawn', () => {
  for (const [heads, kv, hd, promptLen, variant] of [
    [4, 4, 16, 6, 'workgroup'],
    [4, 2, 32, 70, 'workgroup'],
    [6, 3, 8, 130, 'workgroup'],
    [4, 4, 16, 6, 'thread'],
    [4, 2, 32, 70, 'thread'],
    [6, 3, 8, 130, 'thread'],
    [2, 1, 64, 40, 'thread'],
  ] as const) {
    it(`attention backward over a shared-prompt batch (H=${heads}, KVH=${kv}, hd=${hd}, prompt ${promptLen}, ${variant} variant)`, async () => {
      const rng = new Rng(heads * 10 + promptLen);
      const plan = planScoring([
        { promptTokens: Array.from({ length: promptLen }, (_, i) => i), actionTokens: [[1, 2, 3], [4], [5, 6]] },
        { promptTokens: [1, 2, 3], actionTokens: [[9, 8]] },
      ]);
      const rows = plan.tokens.length;
      const stride = (heads + 2 * kv) * hd;
      const qkv = rand(rng, rows * stride);
      const dout = rand(rng, rows * heads * hd);
      const out = fwd.segmentAttention(qkv, plan.segments, rows, heads, kv, hd);
      const reference = bwd.attentionBackward(qkv, plan.segments, bwd.attentionForward(qkv, plan.segments, rows, heads, kv, hd), dout, rows, heads, kv, hd);
      const { offsets, readers } = keyReaders(plan.segments, rows);
      const dqkv = up(rows * stride);
      const calls = await attentionBackwardCalls(
        gpu(),
        { qkv: up(qkv), segments: up(plan.segments), out: up(out), dout: up(dout), lse: up(rows * heads), delta: up(rows * heads), dqkv, readerOffsets: up(offsets), readers: up(readers) },
        rows,
        heads,
        kv,
        hd,
        { variant },
      );
      expectClose(await run(calls, dqkv, rows * stride), reference, 1e-4);

      // The training path: the recomputed forward keeps lse (attention_forward_lse) and the backward computes
      // delta only. Same operations in the same order as the forward + rowstats path: bit-identical results.
      const both = async (keepLse: boolean) => {
        const lse = up(rows * heads);
        const [qkvBuf, segments, outBuf, dqkvBuf] = [up(qkv), up(plan.segments), up(rows * heads * hd), up(rows * stride)];
        const forward = await attentionCall(gpu(), qkvBuf, segments, outBuf, rows, heads, kv, hd, rows, keepLse ? lse : undefined, variant);
        const backward = await attentionBackwardCalls(
          gpu(),
          { qkv: qkvBuf, segments, out: outBuf, dout: up(dout), lse, delta: up(rows * heads), dqkv: dqkvBuf, readerOffsets: up(offsets), readers: up(readers) },
          rows,
          heads,
          kv,
          hd,
          { lseFromForward: keepLse, variant },
        );
        expect(backward[0].label).toBe(keepLse ? 'attention_backward_delta' : 'attention_backward_rowstats');
        return { dqkv: await run([forward, ...backward], dqkvBuf, rows * stride), out: await run([], outBuf, rows * heads * hd), lse: await run([], lse, rows * heads) };
      };
      const [separate, kept] = [await both(false), await both(true)];
      expect(kept.out).toEqual(separate.out);
      expect(kept.dqkv).toEqual(separate.dqkv);
      expect(kept.lse).toEqual(separate.lse);
      expectClose(kept.dqkv, reference, 1e-4);
    });
  }
});
