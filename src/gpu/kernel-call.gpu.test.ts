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
    const kernel = await pipelines.kernel('residual_add.wgsl', 'add_out');
    expect(kernel.name).toBe('residual_add.wgsl:add_out');
    const n = 100;
    const a = Float32Array.from({ length: n }, (_, i) => i);
    const b = Float32Array.from({ length: n }, (_, i) => 1000 * i);
    const z = createStorageBuffer(device, n * 4);
    const call = kernelCall(device, kernel, {
      params: { count: n - 1, _pad0: 0, _pad1: 0, _pad2: 0 },
      buffers: { x_in: createStorageBuffer(device, a), y: createStorageBuffer(device, b), z },
      workgroups: [2],
    });
    submitCalls(device, [call]);
    const out = await readFloat32(device, z, n);
    expect(Array.from(out.subarray(0, n - 1))).toEqual(Array.from(a.subarray(0, n - 1), (v, i) => v + b[i]));
    expect(out[n - 1]).toBe(0); // count = n - 1: the Params field reached the shader
  });

  it('refuses names the shader does not declare, and a missing Params field, before creating anything', async () => {
    const kernel = await pipelines.kernel('residual_add.wgsl', 'add_out');
    const buf = createStorageBuffer(device, 16);
    const params = { count: 1, _pad0: 0, _pad1: 0, _pad2: 0 };
    expect(() => kernelCall(device, kernel, { params, buffers: { x_in: buf, y: buf, zz: buf }, workgroups: [1] })).toThrow(
      'residual_add.wgsl:add_out: the shader has no binding "zz"',
    );
    expect(() => kernelCall(device, kernel, { params: { count: 1 }, buffers: { x_in: buf }, workgroups: [1] })).toThrow(
      'Params field "_pad0" was not given',
    );
    expect(() => kernelCall(device, kernel, { params, buffers: { params: buf }, workgroups: [1] })).toThrow('is the Params uniform');
  });

  it('compiles one source into variants chosen by defines, cached apart', async () => {
    const a = await pipelines.kernel('residual_add.wgsl', 'add_out', { defines: { F16: false } });
    const b = await pipelines.kernel('residual_add.wgsl', 'add_out', { defines: { UNUSED: true } });
    expect(a.name).toBe('residual_add.wgsl:add_out');
    expect(b.name).toBe('residual_add.wgsl:add_out [UNUSED]');
    expect(b.pipeline).not.toBe(a.pipeline);
    expect(await pipelines.kernel('residual_add.wgsl', 'add_out', { defines: { UNUSED: true } })).toBe(b);
  });
});
