/** Encodes shaders/rmsnorm.wgsl: x [T, D] -> y [T, D], rstd [T]. */
import { createUniformBuffer } from '../../gpu/buffers';
import type { PipelineCache } from '../../gpu/pipelines';

export interface RmsnormBuffers {
  x: GPUBuffer;
  weight: GPUBuffer;
  y: GPUBuffer;
  rstd: GPUBuffer;
}

export async function encodeRmsnormForward(
  device: GPUDevice,
  pipelines: PipelineCache,
  pass: GPUComputePassEncoder,
  buffers: RmsnormBuffers,
  rows: number,
  dim: number,
  eps: number,
): Promise<void> {
  const pipeline = await pipelines.get('rmsnorm.wgsl', 'rmsnorm_forward');
  const params = createUniformBuffer(
    device,
    (u32, f32) => {
      u32[0] = rows;
      u32[1] = dim;
      f32[2] = eps;
    },
    4,
    'rmsnorm params',
  );
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [params, buffers.x, buffers.weight, buffers.y, buffers.rstd].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(rows);
}
