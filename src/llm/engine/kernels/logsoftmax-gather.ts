/**
 * The log-probability of each scored token (shaders/logsoftmax_gather.wgsl) and its gradient:
 *
 *   forward    out [J] = logits[j, target[j]] - logsumexp(logits[j, :])               logits [J, V]
 *   backward   dlogits [J, V] = g[j] * ([v == target[j]] - softmax(logits[j, :])[v]),  g [J] = dL/dout
 *
 * Reference: reference/logsoftmax-gather.ts. Variant by V: one thread per row for V <= 4096, one workgroup per
 * row above, reducing through subgroups where the pipeline cache allows them.
 */
import { kernelCall, rowKernel, type KernelCall, type KernelContext, type KernelVariant } from '../../../gpu/kernel';
import type { Kernel } from '../../../gpu/pipelines';

/** Vocabularies up to this take the thread-per-row entry points. */
export const LOGSOFTMAX_THREAD_MAX_VOCAB = 4096;

function logSoftmaxKernel(
  ctx: KernelContext,
  entry: 'logsoftmax_gather' | 'logsoftmax_gather_backward',
  rows: number,
  vocab: number,
  variant?: KernelVariant,
): Promise<{ kernel: Kernel; workgroups: [number, number?] }> {
  const entries = { workgroup: entry, thread: `${entry}_rows` };
  const choice = { maxDim: LOGSOFTMAX_THREAD_MAX_VOCAB, variant };
  return rowKernel(ctx, 'logsoftmax_gather.wgsl', entries, rows, vocab, choice);
}

export async function logSoftmaxGatherCall(
  ctx: KernelContext,
  logits: GPUBuffer,
  targets: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  vocab: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const { kernel, workgroups } = await logSoftmaxKernel(ctx, 'logsoftmax_gather', rows, vocab, variant);
  return kernelCall(ctx.device, kernel, {
    label: 'logsoftmax_gather',
    params: { rows, vocab },
    buffers: { logits, targets, out },
    workgroups,
  });
}

export async function logSoftmaxGatherBackwardCall(
  ctx: KernelContext,
  logits: GPUBuffer,
  targets: GPUBuffer,
  g: GPUBuffer,
  dlogits: GPUBuffer,
  rows: number,
  vocab: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const { kernel, workgroups } = await logSoftmaxKernel(ctx, 'logsoftmax_gather_backward', rows, vocab, variant);
  return kernelCall(ctx.device, kernel, {
    label: 'logsoftmax_gather_backward',
    params: { rows, vocab },
    buffers: { logits, targets, g, dlogits },
    workgroups,
    cost: { flops: 4 * rows * vocab, bytes: 8 * rows * vocab },
  });
}
