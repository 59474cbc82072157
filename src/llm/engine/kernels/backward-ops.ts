/**
 * Prepared calls of the attention backward (shaders/attention.wgsl); the other backward kernels live in their
 * op's module with its forward (rmsnorm.ts, rope.ts, silu-mul.ts, gather-rows.ts, logsoftmax-gather.ts,
 * linear.ts).
 */
import { elementwiseWorkgroups, kernelVariant, makeCall, type KernelCall, type KernelVariant } from '../../../gpu/kernel';
import { ATTENTION_THREAD_MAX_HEAD_DIM } from './forward-ops';
import type { PipelineCache } from '../../../gpu/pipelines';

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

/**
 * attention_forward's gradient, three calls: row statistics (lse, delta), dQ per (row, head), dK and dV per
 * (key row, kv head) from the CSR list of each key row's readers. Writes every Q, K, V slot of dqkv.
 * `lseFromForward`: `b.lse` already holds what attention_forward_lse wrote (the same values), so the first call
 * computes delta only and does not walk the keys again.
 */
export async function attentionBackwardCalls(
  { device, pipelines }: Ctx,
  b: { qkv: GPUBuffer; segments: GPUBuffer; out: GPUBuffer; dout: GPUBuffer; lse: GPUBuffer; delta: GPUBuffer; dqkv: GPUBuffer; readerOffsets: GPUBuffer; readers: GPUBuffer },
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  options: { lseFromForward?: boolean; variant?: KernelVariant } = {},
): Promise<KernelCall[]> {
  if (headDim > 256) throw new Error(`attention backward: head_dim ${headDim} > 256 is not supported`);
  const params = [rows, heads, kvHeads, headDim, { f32: 1 / Math.sqrt(headDim) }, 0, 0, 0];
  if (kernelVariant(headDim, options.variant, ATTENTION_THREAD_MAX_HEAD_DIM) === 'thread') {
    if (headDim > ATTENTION_THREAD_MAX_HEAD_DIM) throw new Error(`attention backward: the thread variant takes head_dim <= ${ATTENTION_THREAD_MAX_HEAD_DIM}, got ${headDim}`);
    const get = (entry: string) => pipelines.get('attention.wgsl', entry);
    const perHead = elementwiseWorkgroups(rows * heads);
    const first = options.lseFromForward
      ? makeCall(device, 'attention_backward_delta', await get('attention_backward_delta_thread'), params, [b.out, b.dout, b.delta], perHead, undefined, [3, 4, 6])
      : makeCall(device, 'attention_backward_rowstats', await get('attention_backward_rowstats_thread'), params, [b.qkv, b.segments, b.out, b.dout, b.lse, b.delta], perHead, undefined, [1, 2, 3, 4, 5, 6]);
    return [
      first,
      makeCall(device, 'attention_backward_dq', await get('attention_backward_dq_thread'), params, [b.qkv, b.segments, b.dout, b.lse, b.delta, b.dqkv], perHead, undefined, [1, 2, 4, 5, 6, 7]),
      makeCall(device, 'attention_backward_dkv', await get('attention_backward_dkv_thread'), params, [b.qkv, b.dout, b.lse, b.delta, b.dqkv, b.readerOffsets, b.readers], elementwiseWorkgroups(rows * kvHeads), undefined, [1, 4, 5, 6, 7, 8, 9]),
    ];
  }
  const first = options.lseFromForward
    ? makeCall(device, 'attention_backward_delta', await pipelines.get('attention.wgsl', 'attention_backward_delta'), params, [b.out, b.dout, b.delta], [rows, heads], undefined, [3, 4, 6])
    : makeCall(device, 'attention_backward_rowstats', await pipelines.get('attention.wgsl', 'attention_backward_rowstats'), params, [b.qkv, b.segments, b.out, b.dout, b.lse, b.delta], [rows, heads], undefined, [1, 2, 3, 4, 5, 6]);
  const dq = await pipelines.get('attention.wgsl', 'attention_backward_dq');
  const dkv = await pipelines.get('attention.wgsl', 'attention_backward_dkv');
  return [
    first,
    makeCall(device, 'attention_backward_dq', dq, params, [b.qkv, b.segments, b.dout, b.lse, b.delta, b.dqkv], [rows, heads], undefined, [1, 2, 4, 5, 6, 7]),
    makeCall(device, 'attention_backward_dkv', dkv, params, [b.qkv, b.dout, b.lse, b.delta, b.dqkv, b.readerOffsets, b.readers], [rows, kvHeads], undefined, [1, 4, 5, 6, 7, 8, 9]),
  ];
}
