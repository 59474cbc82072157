// kernelCall binds buffers and Params fields by the names the WGSL declares (wgsl-reflect.ts), on real WebGPU.
import { afterAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from './buffers';
import { kernelCall, submitCalls } from './kernel';
import { requestNodeGpuContext } from './node-gpu';
import { PipelineCache } from './pipelines';

const ctx = await requestNodeGpuContext();
afterAll(() => ctx.device.destroy());

describe('kernelCall', () => {
  const { device } = ctx;
  const pipelines = new PipelineCache(device);

  it('runs a kernel with named buffers and Params, whatever their binding numbers', async () => {
    // relu_backward binds `a` at 2 and `grad` at 3 (1 is the forward's).
    const kernel = await pipelines.kernel('relu.wgsl', 'relu_backward');
    expect(kernel.name).toBe('relu.wgsl:relu_backward');
    const n = 100;
    const a = Float32Array.from({ length: n }, (_, i) => (i % 3) - 1);
    const g = Float32Array.from({ length: n }, (_, i) => 1000 + i);
    const grad = createStorageBuffer(device, g);
    const call = kernelCall(device, kernel, {
      params: { count: n - 1 },
      buffers: { a: createStorageBuffer(device, a), grad },
      workgroups: [2],
    });
    submitCalls(device, [call]);
    const out = await readFloat32(device, grad, n);
    expect(Array.from(out.subarray(0, n - 1))).toEqual(Array.from(g.subarray(0, n - 1), (v, i) => (a[i] > 0 ? v : 0)));
    expect(out[n - 1]).toBe(g[n - 1]); // count = n - 1: the Params field reached the shader
  });

  it('refuses names the shader does not declare, and a missing Params field, before creating anything', async () => {
    const kernel = await pipelines.kernel('silu_mul.wgsl', 'silu_mul_forward');
    const buf = createStorageBuffer(device, 16);
    const params = { rows: 1, inter: 1 };
    expect(() =>
      kernelCall(device, kernel, { params, buffers: { gate_up: buf, h: buf, zz: buf }, workgroups: [1] }),
    ).toThrow('silu_mul.wgsl:silu_mul_forward: the shader has no binding "zz"');
    expect(() =>
      kernelCall(device, kernel, { params: { rows: 1 }, buffers: { gate_up: buf }, workgroups: [1] }),
    ).toThrow('Params field "inter" was not given');
    expect(() => kernelCall(device, kernel, { params, buffers: { params: buf }, workgroups: [1] })).toThrow(
      'is the Params uniform',
    );
  });

  it('compiles one source into variants chosen by defines, cached apart', async () => {
    const a = await pipelines.kernel('rmsnorm.wgsl', 'rmsnorm_forward', { defines: { ADD: false } });
    const b = await pipelines.kernel('rmsnorm.wgsl', 'rmsnorm_forward', { defines: { ADD: true } });
    expect(a.name).toBe('rmsnorm.wgsl:rmsnorm_forward');
    expect(b.name).toBe('rmsnorm.wgsl:rmsnorm_forward [ADD]');
    expect(b.pipeline).not.toBe(a.pipeline);
    expect([...b.iface.bindings.keys()]).toContain('residual');
    expect([...a.iface.bindings.keys()]).not.toContain('residual');
    expect(await pipelines.kernel('rmsnorm.wgsl', 'rmsnorm_forward', { defines: { ADD: true } })).toBe(b);
  });
});
