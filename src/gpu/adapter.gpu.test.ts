// The device is the adapter the test stage asked for, with the features that stage exists to cover: on the
// lavapipe stage (TWOSOME_WEBGPU=lavapipe) lavapipe itself, with `shader-f16` and `subgroups`, so that a stage
// that silently fell back to SwiftShader fails here; on the SwiftShader stage SwiftShader, without f16 and with
// subgroups of 4. Both are software adapters, so the engine leaves the subgroup kernels off by default there.
// And an `enable f16;` kernel really computes in f16 where the device has the feature.
import { afterAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from './buffers';
import { requestNodeGpuContext, subgroupsSetting } from './node-gpu';
import { describeAdapter, requireShaderF16, stageAdapter } from './test-adapter';

const ctx = await requestNodeGpuContext();
afterAll(() => ctx.device.destroy());
const stage = stageAdapter();
const subgroupsWanted = subgroupsSetting() !== 'off';

describe(`the adapter: ${describeAdapter(ctx)}`, () => {
  it('is lavapipe with shader-f16 and subgroups on the lavapipe stage', (t) => {
    if (stage !== 'lavapipe') t.skip('not the lavapipe stage (TWOSOME_WEBGPU is not lavapipe)');
    expect(ctx.adapterKind).toBe('lavapipe');
    expect(ctx.isSoftware).toBe(true);
    expect(ctx.features.shaderF16).toBe(true);
    expect(ctx.device.features.has('shader-f16')).toBe(true);
    if (subgroupsWanted) {
      expect(ctx.features.subgroups).toBe(true);
      // llvmpipe runs a subgroup as one SIMD vector: one fixed size (8 with 256-bit vectors).
      expect(ctx.subgroupSizes).not.toBeNull();
      expect(ctx.subgroupSizes?.min).toBe(ctx.subgroupSizes?.max);
    }
    expect(ctx.useSubgroups).toBe(subgroupsSetting() === 'on');
  });

  it('is SwiftShader without shader-f16, with subgroups of 4, on the SwiftShader stage', (t) => {
    if (stage !== 'swiftshader') t.skip('not the SwiftShader stage (TWOSOME_WEBGPU is not swiftshader)');
    expect(ctx.adapterKind).toBe('swiftshader');
    expect(ctx.isSoftware).toBe(true);
    expect(ctx.features.shaderF16).toBe(false);
    if (subgroupsWanted) expect(ctx.subgroupSizes).toEqual({ min: 4, max: 4 });
    expect(ctx.useSubgroups).toBe(subgroupsSetting() === 'on');
  });

  it('computes in f16 in an `enable f16;` kernel', async (t) => {
    requireShaderF16(ctx, t);
    const { device } = ctx;
    const module = device.createShaderModule({
      code: `enable f16;
        @group(0) @binding(0) var<storage, read> a: array<f32>;
        @group(0) @binding(1) var<storage, read> b: array<f32>;
        @group(0) @binding(2) var<storage, read_write> sum: array<f32>;
        @compute @workgroup_size(1) fn main(@builtin(global_invocation_id) id: vec3u) {
          sum[id.x] = f32(f16(a[id.x]) + f16(b[id.x]));
        }`,
    });
    expect((await module.getCompilationInfo()).messages.filter((m) => m.type === 'error')).toEqual([]);
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const a = createStorageBuffer(device, new Float32Array([1, 0.1, 2049]));
    const b = createStorageBuffer(device, new Float32Array([0.0004, 0, 0]));
    const sum = createStorageBuffer(device, 3 * 4);
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [a, b, sum].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(3);
    pass.end();
    device.queue.submit([encoder.finish()]);
    const got = Array.from(await readFloat32(device, sum, 3));
    [a, b, sum].forEach((buffer) => buffer.destroy());
    // Each result is one of the two f16 values around the exact one (WGSL lets either be taken), never the f32
    // result: 1 + 0.0004 is below f16's step of 2^-10 at 1, 0.1 is not an f16 value, and f16 has 11 bits.
    expect([1, 1 + 2 ** -10]).toContain(got[0]);
    expect([0.0999755859375, 0.10003662109375]).toContain(got[1]);
    expect([2048, 2050]).toContain(got[2]);
  });
});
