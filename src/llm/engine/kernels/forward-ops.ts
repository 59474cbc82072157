/**
 * Prepared calls of the attention forward (shaders/attention.wgsl). The other forward kernels have a module
 * each (rmsnorm.ts, rope.ts, silu-mul.ts, embedding.ts, gather-rows.ts, logsoftmax-gather.ts, linear.ts).
 */
import { elementwiseWorkgroups, kernelVariant, makeCall, type KernelCall, type KernelVariant } from '../../../gpu/kernel';
import type { PipelineCache } from '../../../gpu/pipelines';

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

/** attention.wgsl's thread variants keep a head in registers: head_dim up to its HD_MAX. */
export const ATTENTION_THREAD_MAX_HEAD_DIM = 64;

/**
 * attention.wgsl: out [R, H * hd] from qkv rows and per-row key segments [R, 4]. `totalKeys` (the sum of
 * every row's key count) only sizes the cost estimate.
 */
export async function attentionCall(
  { device, pipelines }: Ctx,
  qkv: GPUBuffer,
  segments: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  totalKeys = rows,
  /** [R, H]: also keep each row's log-sum-exp (the backward's recomputation; saves it a pass over the keys). */
  lse?: GPUBuffer,
  /** Default: one thread per (row, head) for head_dim <= 64, one workgroup per (row, head) above. */
  variant?: KernelVariant,
): Promise<KernelCall> {
  if (headDim > 256) throw new Error(`attention: head_dim ${headDim} > 256 is not supported`);
  if (heads % kvHeads !== 0) throw new Error(`attention: ${heads} heads is not a multiple of ${kvHeads} kv heads`);
  const thread = kernelVariant(headDim, variant, ATTENTION_THREAD_MAX_HEAD_DIM) === 'thread';
  if (thread && headDim > ATTENTION_THREAD_MAX_HEAD_DIM) throw new Error(`attention: the thread variant takes head_dim <= ${ATTENTION_THREAD_MAX_HEAD_DIM}, got ${headDim}`);
  const entry = lse ? 'attention_forward_lse' : 'attention_forward';
  const pipeline = await pipelines.get('attention.wgsl', thread ? `${entry}_thread` : entry);
  return makeCall(
    device,
    entry,
    pipeline,
    [rows, heads, kvHeads, headDim, { f32: 1 / Math.sqrt(headDim) }, 0, 0, 0],
    lse ? [qkv, segments, out, lse] : [qkv, segments, out],
    thread ? elementwiseWorkgroups(rows * heads) : [rows, heads],
    // q.k and p.v per key and head (2 flops each per dim); K and V rows read once per (row, head).
    { flops: 4 * totalKeys * heads * headDim, bytes: 4 * (2 * totalKeys * heads * headDim + 2 * rows * heads * headDim) },
    lse ? [1, 2, 3, 5] : undefined,
  );
}
