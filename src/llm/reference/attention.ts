/**
 * CPU reference of attention, forward and backward, the readable twin of shaders/attention.wgsl that the kernel
 * tests compare against; the CPU model forward (llama.ts) and the LoRA training reference (backward.ts) use it.
 *
 * Grouped-query attention over roped qkv rows [R, Q], Q = (nh + 2 nkv) hd (Q heads, then K heads, then V
 * heads), each row reading the key rows of its segments: segments[4r .. 4r+3] = start1, len1, start2, len2, as
 * engine/scoring-layout.ts and attention.wgsl; a causal sequence is segments (0, r + 1, 0, 0). Keys are taken in
 * that order: segment 1, then segment 2. Query head h reads kv head g = floor(h / (nh / nkv)).
 *
 *   score[r, i] = q_r · k_{key i} / sqrt(hd)      P = softmax_i      out_r = sum_i P[r, i] v_{key i}
 *   lse[r, h]   = log sum_i exp(score[r, i])       (what the kernels keep for the backward)
 *
 * Sums in float64 (JS numbers); `out` is stored as the allocator says (float64 by default, float32 as the GPU).
 */

import { allocator, type Alloc } from './precision';

export { causalSegments } from '../engine/scoring-layout';

/** The key rows of row r, in order. */
function keysOf(segments: ArrayLike<number>, r: number): number[] {
  const keys: number[] = [];
  for (let i = 0; i < segments[4 * r + 1]; i++) keys.push(segments[4 * r] + i);
  for (let i = 0; i < segments[4 * r + 3]; i++) keys.push(segments[4 * r + 2] + i);
  return keys;
}

/** Most keys any row reads (K). */
export function maxKeys(segments: ArrayLike<number>, rows: number): number {
  let k = 0;
  for (let r = 0; r < rows; r++) k = Math.max(k, segments[4 * r + 1] + segments[4 * r + 3]);
  return k;
}

/** One query head h of row t: the row's keys, and where its vectors start in qkv, out/datt and probs. */
interface RowHead {
  t: number;
  h: number;
  keys: number[];
  /** qkv offset of the row's query head. */
  q: number;
  /** qkv offsets of key row s's key and value heads (the kv head g that h reads). */
  key: (s: number) => number;
  value: (s: number) => number;
  /** Offset in out and datt [R, nh hd]. */
  o: number;
  /** Offset in probs [nh, R, K]. */
  p: number;
}

/** Every (row, query head) pair, rows outer: the order both passes visit (and sum) in. */
function* rowHeads(
  segments: ArrayLike<number>,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  K: number,
): Generator<RowHead> {
  const stride = (heads + 2 * kvHeads) * headDim;
  const group = heads / kvHeads;
  for (let t = 0; t < rows; t++) {
    const keys = keysOf(segments, t);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      yield {
        t,
        h,
        keys,
        q: t * stride + h * headDim,
        key: (s) => s * stride + (heads + g) * headDim,
        value: (s) => s * stride + (heads + kvHeads + g) * headDim,
        o: t * heads * headDim + h * headDim,
        p: (h * rows + t) * K,
      };
    }
  }
}

export interface AttentionForward {
  /** [R, nh hd] */
  out: Float32Array | Float64Array;
  /** [R, nh] log-sum-exp of each row's scaled scores, float64. */
  lse: Float64Array;
  /** [nh, R, K] softmax probabilities, float64: P[h, r, i] for the i-th key of row r (0 past its keys). */
  probs: Float64Array;
  /** K: the probs' last dimension. */
  keys: number;
}

export function attentionForward(
  qkv: ArrayLike<number>,
  segments: ArrayLike<number>,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  alloc: Alloc = allocator(),
): AttentionForward {
  const scale = 1 / Math.sqrt(headDim);
  const K = maxKeys(segments, rows);
  const out = alloc(rows * heads * headDim);
  const lse = new Float64Array(rows * heads);
  const probs = new Float64Array(heads * rows * K);
  const e = new Float64Array(K);
  for (const { t, h, keys, q, key, value, o, p } of rowHeads(segments, rows, heads, kvHeads, headDim, K)) {
    let max = -Infinity;
    keys.forEach((s, i) => {
      const k = key(s);
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += qkv[q + d] * qkv[k + d];
      e[i] = dot * scale;
      if (e[i] > max) max = e[i];
    });
    let total = 0;
    for (let i = 0; i < keys.length; i++) {
      e[i] = Math.exp(e[i] - max);
      total += e[i];
    }
    lse[t * heads + h] = max + Math.log(total);
    for (let d = 0; d < headDim; d++) {
      let sum = 0;
      for (let i = 0; i < keys.length; i++) sum += e[i] * qkv[value(keys[i]) + d];
      out[o + d] = sum / total;
    }
    for (let i = 0; i < keys.length; i++) probs[p + i] = e[i] / total;
  }
  return { out, lse, probs, keys: K };
}

/**
 * Backward: from datt [R, nh hd] to dqkv [R, Q] (gradients of the roped q, k and of v):
 *   dv_key   += P[r, i] datt_r                  dP[r, i] = datt_r · v_key
 *   dS[r, i]  = P[r, i] (dP[r, i] - sum_i' P[r, i'] dP[r, i'])
 *   dq_r     += dS[r, i] k_key / sqrt(hd)        dk_key  += dS[r, i] q_r / sqrt(hd)
 * A key row accumulates over every row and every query head (nh / nkv per kv head) that read it.
 * (sum_i' P dP = datt_r · out_r: the kernels' delta.)
 */
export function attentionBackward(
  qkv: ArrayLike<number>,
  segments: ArrayLike<number>,
  fwd: Pick<AttentionForward, 'probs' | 'keys'>,
  datt: ArrayLike<number>,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
): Float64Array {
  const scale = 1 / Math.sqrt(headDim);
  const { probs, keys: K } = fwd;
  const dqkv = new Float64Array(rows * (heads + 2 * kvHeads) * headDim);
  const dP = new Float64Array(K);
  for (const { keys, q, key, value, o, p } of rowHeads(segments, rows, heads, kvHeads, headDim, K)) {
    let pdp = 0;
    keys.forEach((s, i) => {
      const v = value(s);
      let dot = 0;
      for (let d = 0; d < headDim; d++) {
        dot += datt[o + d] * qkv[v + d];
        dqkv[v + d] += probs[p + i] * datt[o + d];
      }
      dP[i] = dot;
      pdp += probs[p + i] * dot;
    });
    keys.forEach((s, i) => {
      const dS = probs[p + i] * (dP[i] - pdp) * scale;
      if (dS === 0) return;
      const k = key(s);
      for (let d = 0; d < headDim; d++) {
        dqkv[q + d] += dS * qkv[k + d];
        dqkv[k + d] += dS * qkv[q + d];
      }
    });
  }
  return dqkv;
}
