/** shaders/rmsnorm.wgsl: x [T, D] -> y [T, D], rstd [T]. */
import { elementwiseWorkgroups, kernelVariant, makeCall, type KernelCall, type KernelVariant } from '../../gpu/kernel';
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
  /** Default: one thread per row for D <= 256, one workgroup per row above. */
  variant?: KernelVariant,
): Promise<KernelCall> {
  const thread = kernelVariant(dim, variant) === 'thread';
  const pipeline = await pipelines.get('rmsnorm.wgsl', thread ? 'rmsnorm_forward_rows' : 'rmsnorm_forward');
  return makeCall(device, 'rmsnorm_forward', pipeline, [rows, dim, { f32: eps }, 0], [buffers.x, buffers.weight, buffers.y, buffers.rstd], thread ? elementwiseWorkgroups(rows) : [rows]);
}
