/**
 * AdamW / Adam after the gradient norm (shaders/adamw.wgsl), as torch.optim.AdamW / Adam:
 *
 *   prepare   t += 1 if the norm is finite (else skipped += 1); bias corrections; factor = clip coef * grad_scale
 *   update    p *= 1 - lr wd;  g = factor grad;  m, v moments;  p -= (lr / bc1) m / (sqrt(v) / bc2_sqrt + eps);
 *             grad = 0  (skipped where the norm is not finite)
 *
 * lr and grad_scale are read from `stepArgs` [lr, grad_scale], written before each step, so the calls are built
 * once per optimizer. Reference: reference/adamw.ts.
 */
import { elementwiseWorkgroups, entryCall, type KernelCall, type KernelContext } from '../../gpu/kernel';

export interface AdamwHyper {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay; 0 gives Adam. */
  weightDecay: number;
}

/** Elements per workgroup of adamw_update. */
const WG = 256;

const params = (count: number, h: AdamwHyper) => ({
  count,
  beta1: h.beta1,
  beta2: h.beta2,
  eps: h.eps,
  weight_decay: h.weightDecay,
});

export async function adamwPrepareCall(
  ctx: KernelContext,
  info: GPUBuffer,
  stepArgs: GPUBuffer,
  h: AdamwHyper,
): Promise<KernelCall> {
  return entryCall(ctx, 'adamw.wgsl', 'adamw_prepare', {
    label: 'adamw_prepare',
    params: params(0, h),
    buffers: { info, step_args: stepArgs },
    workgroups: [1],
  });
}

export async function adamwUpdateCall(
  ctx: KernelContext,
  b: { param: GPUBuffer; grad: GPUBuffer; m: GPUBuffer; v: GPUBuffer; info: GPUBuffer; stepArgs: GPUBuffer },
  count: number,
  h: AdamwHyper,
): Promise<KernelCall> {
  return entryCall(ctx, 'adamw.wgsl', 'adamw_update', {
    label: 'adamw_update',
    params: params(count, h),
    buffers: { param: b.param, grad: b.grad, m: b.m, v: b.v, info: b.info, step_args: b.stepArgs },
    workgroups: elementwiseWorkgroups(count, WG),
  });
}
