/**
 * Rotary position embedding (shaders/rope.wgsl) on the Q and K heads of the fused qkv rows, in place:
 *
 *   forward    (a, b) <- (a cos - b sin, b cos + a sin)   for each pair (d, d + hd/2), angle = p * invFreq[d]
 *   backward   the inverse rotation (angle -p * invFreq[d]) of the gradient dqkv, in place
 *
 * qkv [R, (H + 2 KVH) hd]: the first H + KVH heads rotate, V does not. positions [R] u32; cosSin from
 * ropeTable() (engine/rope.ts). Reference: reference/rope.ts.
 */
import { elementwiseWorkgroups, kernelCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';

export interface RopeShape {
  rows: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

async function ropeCall(
  ctx: KernelContext,
  label: string,
  qkv: GPUBuffer,
  positions: GPUBuffer,
  cosSin: GPUBuffer,
  s: RopeShape,
  direction: 1 | -1,
): Promise<KernelCall> {
  if (s.headDim % 2 !== 0) throw new Error(`rope: head_dim ${s.headDim} must be even`);
  const rotated = s.heads + s.kvHeads;
  const kernel = await ctx.pipelines.kernel('rope.wgsl', 'rope_forward');
  return kernelCall(ctx.device, kernel, {
    label,
    params: {
      rows: s.rows,
      rotated_heads: rotated,
      head_dim: s.headDim,
      row_stride: (s.heads + 2 * s.kvHeads) * s.headDim,
      direction,
    },
    buffers: { positions, cos_sin: cosSin, qkv },
    workgroups: elementwiseWorkgroups((s.rows * rotated * s.headDim) / 2),
  });
}

/** Rotates the Q and K heads of qkv in place. */
export function ropeForwardCall(
  ctx: KernelContext,
  qkv: GPUBuffer,
  positions: GPUBuffer,
  cosSin: GPUBuffer,
  shape: RopeShape,
): Promise<KernelCall> {
  return ropeCall(ctx, 'rope_forward', qkv, positions, cosSin, shape, 1);
}

/** rope's gradient: the inverse rotation of the Q and K heads of dqkv, in place. */
export function ropeBackwardCall(
  ctx: KernelContext,
  dqkv: GPUBuffer,
  positions: GPUBuffer,
  cosSin: GPUBuffer,
  shape: RopeShape,
): Promise<KernelCall> {
  return ropeCall(ctx, 'rope_backward', dqkv, positions, cosSin, shape, -1);
}
