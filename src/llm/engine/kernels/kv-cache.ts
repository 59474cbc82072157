/**
 * Attention over a KV cache (shaders/kv_cache.wgsl), for generation (../generate.ts): each layer keeps the K and
 * V heads of every position of the sequence in a cache buffer, so that a new token runs one row through the
 * model instead of the whole sequence again.
 *
 *   append     cache [capacity, 2 KVH hd]: row positions[r] = the K and V heads of qkv row r (RoPE applied)
 *   attention  out [R, H hd] from the Q heads of qkv [R, (H + 2 KVH) hd]: row r reads cache rows 0 .. positions[r]
 *
 * Record the append before the attention of the same pass (dispatches in one compute pass are ordered). CPU
 * reference: reference/kv-cache.ts.
 */
import { elementwiseWorkgroups, kernelCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';
import type { AttentionKernelInfo } from './attention';

export interface KvCacheShape {
  /** R: rows of the pass (the prompt's tokens when prefilling, 1 per generated token). */
  rows: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/**
 * What generation's attention runs, for `kernels` reports (cli/generate.ts): this kernel, in f32 throughout (its
 * query head and scores in f32 workgroup memory), whatever precision the engine's matrix products take.
 */
export const KV_CACHE_ATTENTION_INFO: AttentionKernelInfo = {
  kernel: 'kv_cache',
  forwardTiles: 'f32',
  backwardTiles: null,
};

/** kv_cache.wgsl keeps a query head in workgroup memory of this many floats. */
export const KV_CACHE_MAX_HEAD_DIM = 256;

/** Floats of one position's row of the cache: its K heads, then its V heads. */
export function kvCacheWidth(s: Pick<KvCacheShape, 'kvHeads' | 'headDim'>): number {
  return 2 * s.kvHeads * s.headDim;
}

function params(s: KvCacheShape) {
  if (s.heads % s.kvHeads !== 0)
    throw new Error(`kv cache: ${s.heads} heads is not a multiple of ${s.kvHeads} kv heads`);
  if (s.headDim > KV_CACHE_MAX_HEAD_DIM) {
    throw new Error(`kv cache: head_dim ${s.headDim} > ${KV_CACHE_MAX_HEAD_DIM} is not supported`);
  }
  return { rows: s.rows, heads: s.heads, kv_heads: s.kvHeads, head_dim: s.headDim, scale: 1 / Math.sqrt(s.headDim) };
}

/** Writes the K and V heads of qkv's rows into the cache, at their positions. */
export async function kvCacheAppendCall(
  ctx: KernelContext,
  b: { qkv: GPUBuffer; positions: GPUBuffer; cache: GPUBuffer },
  s: KvCacheShape,
): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('kv_cache.wgsl', 'kv_cache_append');
  const width = kvCacheWidth(s);
  return kernelCall(ctx.device, kernel, {
    params: params(s),
    buffers: b,
    workgroups: elementwiseWorkgroups(s.rows * width),
    cost: { flops: 0, bytes: 8 * s.rows * width + 4 * s.rows },
  });
}

/**
 * Each row's query heads against the cache's keys 0 .. its position: one workgroup per (row, head). `maxKeys`
 * (the most keys a row reads: its position + 1) sizes the cost only.
 */
export async function cachedAttentionCall(
  ctx: KernelContext,
  b: { qkv: GPUBuffer; positions: GPUBuffer; cache: GPUBuffer; out: GPUBuffer },
  s: KvCacheShape,
  maxKeys: number,
): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('kv_cache.wgsl', 'cached_attention');
  const { rows: R, heads: H, headDim: hd } = s;
  return kernelCall(ctx.device, kernel, {
    params: params(s),
    buffers: b,
    workgroups: [R, H],
    cost: { flops: 4 * R * H * maxKeys * hd, bytes: 8 * R * H * maxKeys * hd + 8 * R * H * hd },
  });
}
