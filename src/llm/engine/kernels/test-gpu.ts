/** Shared by the per-op kernel tests (kernels/*.gpu.test.ts): one device, buffers, runs and comparisons. Tests only. */
import { afterAll, beforeAll, expect } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import {
  disposeCalls,
  submitCalls,
  type KernelCall,
  type KernelContext,
  type KernelVariant,
} from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import type { Rng } from '../../../util/rng';

export interface KernelTestGpu {
  ctx: GpuContext;
  /** The device and a pipeline cache that allows subgroups where the device has them. */
  kernels: KernelContext;
  /** A storage buffer with `data` (or `data` zero words), destroyed after the file's tests. */
  upload(data: Float32Array | Uint32Array | number): GPUBuffer;
  /** Submits `calls` (then releases them) and reads `count` words of `out`. */
  run(calls: KernelCall | KernelCall[], out: GPUBuffer, count: number): Promise<Float32Array>;
  /** The variants this adapter runs: thread and workgroup everywhere, subgroup where it has `subgroups`. */
  variants(): KernelVariant[];
}

/** Registers beforeAll/afterAll for one device per test file; use the result inside tests only. */
export function kernelTestGpu(): KernelTestGpu {
  const owned: GPUBuffer[] = [];
  const t = {} as KernelTestGpu;
  beforeAll(async () => {
    t.ctx = await requestNodeGpuContext();
    t.kernels = { device: t.ctx.device, pipelines: new PipelineCache(t.ctx.device) };
  });
  afterAll(() => {
    owned.forEach((b) => b.destroy());
    t.ctx?.device.destroy();
  });
  t.upload = (data) => {
    const b = createStorageBuffer(t.ctx.device, typeof data === 'number' ? data * 4 : data);
    owned.push(b);
    return b;
  };
  t.run = async (calls, out, count) => {
    const list = [calls].flat();
    submitCalls(t.ctx.device, list);
    disposeCalls(list);
    return readFloat32(t.ctx.device, out, count);
  };
  t.variants = () => (t.ctx.features.subgroups ? ['thread', 'workgroup', 'subgroup'] : ['thread', 'workgroup']);
  return t;
}

export function random(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** max_i |a_i - b_i| / max(1, |b_i|) <= tolerance: the measure every kernel test of this repo uses. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(tolerance);
}
