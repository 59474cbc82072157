/**
 * ReLU in place (shaders/relu.wgsl), for the critic MLP's hidden layers (train/gpu-critic.ts):
 *
 *   forward    z <- max(z, 0)
 *   backward   grad <- grad * [a > 0]      (a: the forward's output; relu'(0) = 0, as torch)
 *
 * Reference: reference/relu.ts.
 */
import { elementwiseWorkgroups, kernelCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';

export async function reluForwardCall(ctx: KernelContext, z: GPUBuffer, count: number): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('relu.wgsl', 'relu_forward');
  return kernelCall(ctx.device, kernel, {
    label: 'relu_forward',
    params: { count },
    buffers: { z },
    workgroups: elementwiseWorkgroups(count),
  });
}

export async function reluBackwardCall(
  ctx: KernelContext,
  grad: GPUBuffer,
  a: GPUBuffer,
  count: number,
): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('relu.wgsl', 'relu_backward');
  return kernelCall(ctx.device, kernel, {
    label: 'relu_backward',
    params: { count },
    buffers: { grad, a },
    workgroups: elementwiseWorkgroups(count),
  });
}
