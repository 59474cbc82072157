/**
 * RMSNorm (shaders/rmsnorm.wgsl), forward and backward, and the forward fused with the residual add before it:
 *
 *   forward        y = x * rstd * w,  rstd [T] = rsqrt(mean_d x^2 + eps)          x, y [T, D]; w [D]
 *   add forward    sum = residual + branch, then the forward of sum                 (writes sum, y, rstd)
 *   backward       dx = [dresidual +] rstd * w * dy - x * rstd^3 / D * sum_d(dy * w * x)
 *
 * Reference: reference/rmsnorm.ts. Variant by D (kernelVariant): one thread per row for D <= 256, one
 * workgroup per row above, reducing through subgroups where the pipeline cache allows them.
 */
import { kernelCall, rowKernel, type KernelCall, type KernelContext, type KernelVariant } from '../../../gpu/kernel';
import type { Kernel } from '../../../gpu/pipelines';

const SHADER = 'rmsnorm.wgsl';

/** The pipeline of `entry` for `rows` x `dim` (its variant chosen by D) with `defines`, and its grid. */
function rmsnormKernel(
  ctx: KernelContext,
  entry: 'rmsnorm_forward' | 'rmsnorm_backward',
  rows: number,
  dim: number,
  defines: Record<string, boolean>,
  variant?: KernelVariant,
): Promise<{ kernel: Kernel; workgroups: [number, number?] }> {
  return rowKernel(ctx, SHADER, { workgroup: entry, thread: `${entry}_rows` }, rows, dim, { variant, defines });
}

/** y, rstd = rmsnorm(x). */
export function rmsnormForwardCall(
  ctx: KernelContext,
  b: { x: GPUBuffer; weight: GPUBuffer; y: GPUBuffer; rstd: GPUBuffer },
  rows: number,
  dim: number,
  eps: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  return forwardCall(ctx, b, false, { rows, dim, eps }, variant);
}

/**
 * sum = residual + branch; y, rstd = rmsnorm(sum): the residual add fused into the norm that follows it
 * (forward.ts: x_mid and the post-attention norm; x_out and the next layer's input norm, or the final norm).
 */
export function addRmsnormForwardCall(
  ctx: KernelContext,
  b: { residual: GPUBuffer; branch: GPUBuffer; sum: GPUBuffer; weight: GPUBuffer; y: GPUBuffer; rstd: GPUBuffer },
  rows: number,
  dim: number,
  eps: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  return forwardCall(ctx, b, true, { rows, dim, eps }, variant);
}

/** The forward entry point's call, with the residual add first (variant ADD) where `add`. */
async function forwardCall(
  ctx: KernelContext,
  buffers: Record<string, GPUBuffer>,
  add: boolean,
  params: { rows: number; dim: number; eps: number },
  variant?: KernelVariant,
): Promise<KernelCall> {
  const { rows, dim } = params;
  const { kernel, workgroups } = await rmsnormKernel(ctx, 'rmsnorm_forward', rows, dim, { ADD: add }, variant);
  return kernelCall(ctx.device, kernel, {
    label: add ? 'add_rmsnorm_forward' : 'rmsnorm_forward',
    params,
    buffers,
    workgroups,
  });
}

/**
 * The input gradient dx of rmsnormForwardCall from dy and the forward's rstd; with `dresidual`, dx is that
 * gradient plus dresidual (the residual branch around the norm), in one pass.
 */
export async function rmsnormBackwardCall(
  ctx: KernelContext,
  b: { x: GPUBuffer; weight: GPUBuffer; dy: GPUBuffer; rstd: GPUBuffer; dx: GPUBuffer; dresidual?: GPUBuffer },
  rows: number,
  dim: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const { kernel, workgroups } = await rmsnormKernel(
    ctx,
    'rmsnorm_backward',
    rows,
    dim,
    { RESIDUAL: b.dresidual !== undefined },
    variant,
  );
  const buffers: Record<string, GPUBuffer> = { x: b.x, weight: b.weight, dy: b.dy, rstd_in: b.rstd, dx: b.dx };
  if (b.dresidual) buffers.dresidual = b.dresidual;
  // The backward does not read eps (rstd holds it), but the Params struct is shared with the forward.
  return kernelCall(ctx.device, kernel, {
    label: 'rmsnorm_backward',
    params: { rows, dim, eps: 0 },
    buffers,
    workgroups,
  });
}
