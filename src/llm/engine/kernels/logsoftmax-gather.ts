/**
 * The log-probability of each scored token (shaders/logsoftmax_gather.wgsl) and its gradient:
 *
 *   forward    out [J] = logits[j, target[j]] - logsumexp(logits[j, :])               logits [J, V]
 *   backward   dlogits [J, V] = g[j] * ([v == target[j]] - softmax(logits[j, :])[v]),  g [J] = dL/dout
 *
 * Reference: reference/logsoftmax-gather.ts. Variant by V: one thread per row for V <= 4096, one workgroup per
 * row above, reducing through subgroups where the pipeline cache allows them.
 */
import {
  kernelCall,
  rowKernel,
  type KernelCall,
  type KernelContext,
  type KernelCost,
  type KernelVariant,
} from '../../../gpu/kernel';

/** Vocabularies up to this take the thread-per-row entry points. */
export const LOGSOFTMAX_THREAD_MAX_VOCAB = 4096;

type LogSoftmaxEntry = 'logsoftmax_gather' | 'logsoftmax_gather_backward';

/** A call of `entry` on rows of `vocab` logits, in the variant its vocabulary takes, labelled by the entry. */
async function logSoftmaxCall(
  ctx: KernelContext,
  entry: LogSoftmaxEntry,
  buffers: Record<string, GPUBuffer>,
  rows: number,
  vocab: number,
  variant?: KernelVariant,
  cost?: KernelCost,
): Promise<KernelCall> {
  const entries = { workgroup: entry, thread: `${entry}_rows` };
  const choice = { maxDim: LOGSOFTMAX_THREAD_MAX_VOCAB, variant };
  const { kernel, workgroups } = await rowKernel(ctx, 'logsoftmax_gather.wgsl', entries, rows, vocab, choice);
  return kernelCall(ctx.device, kernel, { label: entry, params: { rows, vocab }, buffers, workgroups, cost });
}

export function logSoftmaxGatherCall(
  ctx: KernelContext,
  logits: GPUBuffer,
  targets: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  vocab: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  return logSoftmaxCall(ctx, 'logsoftmax_gather', { logits, targets, out }, rows, vocab, variant);
}

export function logSoftmaxGatherBackwardCall(
  ctx: KernelContext,
  logits: GPUBuffer,
  targets: GPUBuffer,
  g: GPUBuffer,
  dlogits: GPUBuffer,
  rows: number,
  vocab: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const cost = { flops: 4 * rows * vocab, bytes: 8 * rows * vocab };
  return logSoftmaxCall(ctx, 'logsoftmax_gather_backward', { logits, targets, g, dlogits }, rows, vocab, variant, cost);
}
