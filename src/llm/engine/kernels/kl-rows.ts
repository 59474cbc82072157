/**
 * KL(base || adapted) of two models' next-token distributions at each logit row (shaders/kl_rows.wgsl):
 *
 *   kl [J] = sum_v softmax(base[j])[v] (log_softmax(base[j])[v] - log_softmax(adapted[j])[v])    base, adapted [J, V]
 *
 * The capability check's meanKl (LlamaEngine.forwardPairedTokenLogprobs): the same layout scored without and with
 * a LoRA adapter leaves two logits tensors on the GPU, and only their J divergences come back. Reference:
 * reference/kl-rows.ts. Variant by V, as logsoftmax-gather.ts: one thread per row up to 4096, one workgroup per
 * row above, reducing through subgroups where the pipeline cache allows them.
 */
import { kernelCall, rowKernel, type KernelCall, type KernelContext, type KernelVariant } from '../../../gpu/kernel';

/** Vocabularies up to this take the thread-per-row entry point. */
export const KL_ROWS_THREAD_MAX_VOCAB = 4096;

export async function klRowsCall(
  ctx: KernelContext,
  base: GPUBuffer,
  adapted: GPUBuffer,
  kl: GPUBuffer,
  rows: number,
  vocab: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const entries = { workgroup: 'kl_rows', thread: 'kl_rows_thread' };
  const choice = { maxDim: KL_ROWS_THREAD_MAX_VOCAB, variant };
  const { kernel, workgroups } = await rowKernel(ctx, 'kl_rows.wgsl', entries, rows, vocab, choice);
  return kernelCall(ctx.device, kernel, {
    label: 'kl_rows',
    params: { rows, vocab },
    buffers: { base, adapted, kl },
    workgroups,
    // Three passes over both rows; about ten operations per element and pass.
    cost: { flops: 30 * rows * vocab, bytes: 24 * rows * vocab + 4 * rows },
  });
}
