/**
 * CPU reference of attention over a KV cache (shaders/kv_cache.wgsl, engine/kernels/kv-cache.ts): the cache
 * holds per position the K heads, then the V heads, of a sequence's rows [capacity, 2 KVH hd]; a row at
 * position p attends to the cache's positions 0 .. p with its query heads (GQA: query head h reads kv head
 * h / (nh / nkv)). Sums in float64.
 *
 *   append     cache[positions[r]] = qkv[r, nh hd ..]
 *   attention  out[r, h] = sum_{k <= positions[r]} softmax_k(q[r, h] . K[k, g] / sqrt(hd)) V[k, g]
 */

export interface KvShape {
  rows: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

/** Writes the K and V heads of each qkv row into `cache` at its position (in place). */
export function kvCacheAppend(
  qkv: ArrayLike<number>,
  positions: ArrayLike<number>,
  cache: Float32Array,
  s: KvShape,
): void {
  const stride = (s.heads + 2 * s.kvHeads) * s.headDim;
  const width = 2 * s.kvHeads * s.headDim;
  const first = s.heads * s.headDim;
  for (let r = 0; r < s.rows; r++) {
    for (let c = 0; c < width; c++) cache[positions[r] * width + c] = qkv[r * stride + first + c];
  }
}

/** out [R, nh hd]: each row's query heads attending to the cache's positions up to its own. */
export function cachedAttention(
  qkv: ArrayLike<number>,
  positions: ArrayLike<number>,
  cache: ArrayLike<number>,
  s: KvShape,
): Float32Array {
  const { rows, heads, kvHeads, headDim: hd } = s;
  const stride = (heads + 2 * kvHeads) * hd;
  const width = 2 * kvHeads * hd;
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float32Array(rows * heads * hd);
  for (let r = 0; r < rows; r++) {
    const n = positions[r] + 1;
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      const scores = new Float64Array(n);
      let max = -Infinity;
      for (let k = 0; k < n; k++) {
        let dot = 0;
        for (let d = 0; d < hd; d++) dot += qkv[r * stride + h * hd + d] * cache[k * width + g * hd + d];
        scores[k] = dot * scale;
        max = Math.max(max, scores[k]);
      }
      let sum = 0;
      for (let k = 0; k < n; k++) sum += scores[k] = Math.exp(scores[k] - max);
      for (let d = 0; d < hd; d++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += scores[k] * cache[k * width + (kvHeads + g) * hd + d];
        out[(r * heads + h) * hd + d] = acc / sum;
      }
    }
  }
  return out;
}
