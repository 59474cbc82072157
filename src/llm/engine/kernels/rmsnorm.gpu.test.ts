// Smoke test of the GPU layer: a real WGSL kernel on real WebGPU (Dawn; SwiftShader where no GPU exists),
// compared with its CPU reference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import { disposeCalls, submitCalls } from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import { rmsnormForward } from '../../reference/rmsnorm';
import { rmsnormForwardCall } from './rmsnorm';

let ctx: GpuContext;

beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

describe('rmsnorm.wgsl on Dawn', () => {
  it('finds an adapter with the limits we asked for', () => {
    expect(ctx.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(ctx.limits.maxBufferSize).toBeGreaterThanOrEqual(256 * 1024 * 1024);
  });

  for (const [rows, dim, variant] of [
    [1, 8, 'thread'],
    [5, 64, 'workgroup'],
    [5, 64, 'thread'],
    [3, 100, 'workgroup'],
    [70, 100, 'thread'],
    [17, 257, 'workgroup'],
    [17, 257, 'thread'],
  ] as const) {
    it(`matches the CPU reference for T=${rows}, D=${dim} (${variant} variant)`, async () => {
      const rng = new Rng(rows * 1000 + dim);
      const x = Float32Array.from({ length: rows * dim }, () => rng.normal() * 3);
      const weight = Float32Array.from({ length: dim }, () => 1 + 0.5 * rng.normal());
      const eps = 1e-5;
      const { device } = ctx;
      const pipelines = new PipelineCache(device);
      const buffers = {
        x: createStorageBuffer(device, x, 'x'),
        weight: createStorageBuffer(device, weight, 'weight'),
        y: createStorageBuffer(device, rows * dim * 4, 'y'),
        rstd: createStorageBuffer(device, rows * 4, 'rstd'),
      };
      const call = await rmsnormForwardCall(device, pipelines, buffers, rows, dim, eps, variant);
      submitCalls(device, [call]);
      const y = await readFloat32(device, buffers.y, rows * dim);
      const rstd = await readFloat32(device, buffers.rstd, rows);
      const expected = rmsnormForward(x, weight, rows, dim, eps);
      for (let i = 0; i < rows * dim; i++) expect(y[i]).toBeCloseTo(expected.y[i], 4);
      for (let t = 0; t < rows; t++) expect(Math.abs(rstd[t] - expected.rstd[t]) / expected.rstd[t]).toBeLessThan(1e-5);
      disposeCalls([call]);
      Object.values(buffers).forEach((b) => b.destroy());
    });
  }
});
