// The attention forward on Dawn against its CPU reference (src/llm/reference/ops.ts), f32 path. The other forward
// kernels have a test file each (rmsnorm.gpu.test.ts, rope.gpu.test.ts, silu-mul.gpu.test.ts, ...).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import { disposeCalls, submitCalls, type KernelCall } from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import * as ref from '../../reference/ops';
import { planScoring } from '../scoring-layout';
import { attentionCall } from './forward-ops';

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

describe('attention forward on Dawn', () => {
  for (const [heads, kvHeads, headDim, promptLen, variant] of [
    [4, 4, 16, 5, 'workgroup'],
    [4, 2, 32, 70, 'workgroup'],
    [6, 2, 8, 130, 'workgroup'],
    [4, 4, 16, 5, 'thread'],
    [4, 2, 32, 70, 'thread'],
    [6, 2, 8, 130, 'thread'],
    [2, 2, 64, 40, 'thread'],
  ] as const) {
    it(`attention.wgsl matches the reference, and shared equals separate scoring (H=${heads}, KVH=${kvHeads}, hd=${headDim}, prompt ${promptLen}, ${variant} variant)`, async () => {
      const rng = new Rng(heads * 100 + promptLen);
      const request = {
        promptTokens: Array.from({ length: promptLen }, (_, i) => i),
        actionTokens: [[1, 2, 3], [4], [5, 6]],
      };
      const results: Record<string, Float32Array> = {};
      const stride = (heads + 2 * kvHeads) * headDim;
      // Row contents are a function of (token, position) so that shared and separate rows agree.
      const rowValues = new Map<string, Float32Array>();
      for (const mode of ['shared', 'separate'] as const) {
        const plan = planScoring([request], mode);
        const rows = plan.tokens.length;
        const qkv = new Float32Array(rows * stride);
        for (let r = 0; r < rows; r++) {
          const key = `${plan.tokens[r]}@${plan.positions[r]}`;
          if (!rowValues.has(key)) rowValues.set(key, random(rng, stride));
          qkv.set(rowValues.get(key)!, r * stride);
        }
        const out = upload(rows * heads * headDim * 4);
        const call = await attentionCall(gpu(), upload(qkv), upload(plan.segments), out, rows, heads, kvHeads, headDim, rows, undefined, variant);
        const actual = await run(call, out, rows * heads * headDim);
        expectClose(actual, ref.segmentAttention(qkv, plan.segments, rows, heads, kvHeads, headDim), 1e-5);
        // Keep the action rows' outputs, in action order.
        const width = heads * headDim;
        const picked: number[] = [];
        for (let r = 0; r < rows; r++) if (plan.positions[r] >= promptLen) picked.push(...actual.slice(r * width, (r + 1) * width));
        results[mode] = Float32Array.from(picked);
      }
      expectClose(results.shared, results.separate, 1e-5);
    });
  }
});
