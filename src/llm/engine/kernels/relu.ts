/**
 * ReLU in place (shaders/relu.wgsl), for the critic MLP's hidden layers (train/gpu-critic.ts):
 *
 *   forward    z <- max(z, 0)
 *   backward   grad <- grad * [a > 0]      (a: the forward's output; relu'(0) = 0, as torch)
 *
 * Reference: reference/relu.ts.
 */
import { elementwiseCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';

export function reluForwardCall(ctx: KernelContext, z: GPUBuffer, count: number): Promise<KernelCall> {
  return elementwiseCall(ctx, 'relu.wgsl', 'relu_forward', count, { params: { count }, buffers: { z } });
}

export function reluBackwardCall(
  ctx: KernelContext,
  grad: GPUBuffer,
  a: GPUBuffer,
  count: number,
): Promise<KernelCall> {
  return elementwiseCall(ctx, 'relu.wgsl', 'relu_backward', count, { params: { count }, buffers: { grad, a } });
}
