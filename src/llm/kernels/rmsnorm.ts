/** shaders/rmsnorm.wgsl: x [T, D] -> y [T, D], rstd [T]. */
import { makeCall, type KernelCall } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';

export interface RmsnormBuffers {
  x: GPUBuffer;
  weight: GPUBuffer;
  y: GPUBuffer;
  rstd: GPUBuffer;
}

export async function rmsnormForwardCall(
  device: GPUDevice,
  pipelines: PipelineCache,
  buffers: RmsnormBuffers,
  rows: number,
  dim: number,
  eps: number,
): Promise<KernelCall> {
  const pipeline = await pipelines.get('rmsnorm.wgsl', 'rmsnorm_forward');
  return makeCall(device, 'rmsnorm_forward', pipeline, [rows, dim, { f32: eps }, 0], [buffers.x, buffers.weight, buffers.y, buffers.rstd], [rows]);
}
