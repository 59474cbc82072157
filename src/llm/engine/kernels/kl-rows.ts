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
import {
  elementwiseWorkgroups,
  kernelCall,
  kernelVariant,
  requireSubgroups,
  type KernelCall,
  type KernelContext,
  type KernelVariant,
} from '../../../gpu/kernel';

/** Vocabularies up to this take the thread-per-row entry point. */
export const KL_ROWS_THREAD_MAX_VOCAB = 4096;

export async function klRowsCall(
  { device, pipelines }: KernelContext,
  base: GPUBuffer,
  adapted: GPUBuffer,
  kl: GPUBuffer,
  rows: number,
  vocab: number,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const chosen = kernelVariant(vocab, variant, KL_ROWS_THREAD_MAX_VOCAB, pipelines.subgroups);
  if (chosen === 'subgroup') requireSubgroups(device, 'kl_rows');
  const kernel =
    chosen === 'thread'
      ? await pipelines.kernel('kl_rows.wgsl', 'kl_rows_thread')
      : await pipelines.kernel('kl_rows.wgsl', 'kl_rows', { defines: { SUBGROUPS: chosen === 'subgroup' } });
  return kernelCall(device, kernel, {
    label: 'kl_rows',
    params: { rows, vocab },
    buffers: { base, adapted, kl },
    workgroups: chosen === 'thread' ? elementwiseWorkgroups(rows) : [rows],
    // Three passes over both rows; about ten operations per element and pass.
    cost: { flops: 30 * rows * vocab, bytes: 24 * rows * vocab + 4 * rows },
  });
}
