/**
 * The global gradient norm over several tensors and its clipping coefficient (shaders/grad_norm.wgsl), as
 * torch.nn.utils.clip_grad_norm_, on the GPU:
 *
 *   sum_squares  per tensor: partial[slot + c] = sum of g^2 over its chunk c of 256 elements
 *   clip_coef    norm = sqrt(sum of all partials); coef = min(1, max_norm / (norm + 1e-6)) -> info[0..2]
 *
 * The optimizer (optimizer.ts) runs these before its update. Reference: reference/grad-norm.ts.
 */
import {
  elementwiseWorkgroups,
  entryCall,
  type KernelCall,
  type KernelContext,
  type KernelVariant,
} from '../../gpu/kernel';

/** Elements per squared-norm partial (grad_norm.wgsl's WG). */
export const NORM_CHUNK = 256;

/** Squared-norm partials of one tensor of `count` elements: one per chunk (engine/memory-plan.ts counts them too). */
export function normPartialSlots(count: number): number {
  return Math.ceil(count / NORM_CHUNK);
}

/** Tensors up to this many elements get their partials from sum_squares_thread (no barriers). */
export const THREAD_SUM_MAX = 1 << 20;

/** partial[slot ..] = the squared sums of `grad`'s chunks. Default variant: thread up to THREAD_SUM_MAX elements. */
export async function sumSquaresCall(
  ctx: KernelContext,
  grad: GPUBuffer,
  partial: GPUBuffer,
  count: number,
  slot: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const thread = (variant ?? (count <= THREAD_SUM_MAX ? 'thread' : 'workgroup')) === 'thread';
  const chunks = normPartialSlots(count);
  return entryCall(ctx, 'grad_norm.wgsl', thread ? 'sum_squares_thread' : 'sum_squares', {
    label: 'grad sum_squares',
    params: { count, slot, max_norm: 0 },
    buffers: { grad, partial },
    workgroups: thread ? elementwiseWorkgroups(chunks) : [chunks],
  });
}

/** info[0] = the norm over `slots` partials, info[1] = the clipping coefficient, info[2] = finite (1/0). */
export async function clipCoefCall(
  ctx: KernelContext,
  partial: GPUBuffer,
  info: GPUBuffer,
  slots: number,
  maxNorm: number,
): Promise<KernelCall> {
  return entryCall(ctx, 'grad_norm.wgsl', 'clip_coef', {
    label: 'clip_coef',
    params: { count: slots, slot: 0, max_norm: maxNorm },
    buffers: { partial, info },
    workgroups: [1],
  });
}
