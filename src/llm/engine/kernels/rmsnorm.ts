/** shaders/rmsnorm.wgsl: x [T, D] -> y [T, D], rstd [T]. */
import { elementwiseWorkgroups, kernelVariant, makeCall, requireSubgroups, type KernelCall, type KernelVariant } from '../../../gpu/kernel';
import type { PipelineCache } from '../../../gpu/pipelines';

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
  /**
   * Default: one thread per row for D <= 256, one workgroup per row above (reducing through subgroups where
   * the pipeline cache allows them: rmsnorm_subgroups.wgsl).
   */
  variant?: KernelVariant,
): Promise<KernelCall> {
  const chosen = kernelVariant(dim, variant, undefined, pipelines.subgroups);
  const thread = chosen === 'thread';
  if (chosen === 'subgroup') requireSubgroups(device, 'rmsnorm_forward');
  const pipeline =
    chosen === 'subgroup'
      ? await pipelines.get('rmsnorm_subgroups.wgsl', 'rmsnorm_forward_subgroup')
      : await pipelines.get('rmsnorm.wgsl', thread ? 'rmsnorm_forward_rows' : 'rmsnorm_forward');
  return makeCall(device, 'rmsnorm_forward', pipeline, [rows, dim, { f32: eps }, 0], [buffers.x, buffers.weight, buffers.y, buffers.rstd], thread ? elementwiseWorkgroups(rows) : [rows]);
}
