/**
 * CPU references of the forward kernels in shaders/, written for reading, one op per function, with the
 * layouts the kernels use. Tests compare every kernel with these; the CPU model forward composes them.
 * Accumulation is in float64 (JS numbers); results are stored as float32.
 */

/** y [T, N] = x [T, K] · W^T with W [N, K] (row-major, as MLC and PyTorch store linear weights). */
export function matmul(x: Float32Array, w: Float32Array, tokens: number, outDim: number, inDim: number): Float32Array {
  const y = new Float32Array(tokens * outDim);
  for (let t = 0; t < tokens; t++) {
    for (let n = 0; n < outDim; n++) {
      let sum = 0;
      for (let k = 0; k < inDim; k++) sum += x[t * inDim + k] * w[n * inDim + k];
      y[t * outDim + n] = sum;
    }
  }
  return y;
}

/** Rows of the embedding table: x [R, D] = table[tokens[r], :]. */
export function embedding(table: Float32Array, tokens: ArrayLike<number>, dim: number): Float32Array {
  const x = new Float32Array(tokens.length * dim);
  for (let r = 0; r < tokens.length; r++) x.set(table.subarray(tokens[r] * dim, (tokens[r] + 1) * dim), r * dim);
  return x;
}

/**
 * Rotate-half RoPE on the Q and K heads of fused qkv rows [R, (H + 2*KVH) * hd], in place: the pair
 * (d, d + hd/2) of a row at position p turns by p * invFreq[d].
 */
export function rope(qkv: Float32Array, positions: ArrayLike<number>, invFreq: Float32Array, heads: number, kvHeads: number, headDim: number): void {
  const half = headDim / 2;
  const stride = (heads + 2 * kvHeads) * headDim;
  for (let r = 0; r < positions.length; r++) {
    for (let h = 0; h < heads + kvHeads; h++) {
      const base = r * stride + h * headDim;
      for (let d = 0; d < half; d++) {
        // The angle in float32, as HF computes it (position * inv_freq in f32).
        const angle = Math.fround(positions[r] * invFreq[d]);
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const a = qkv[base + d];
        const b = qkv[base + d + half];
        qkv[base + d] = a * c - b * s;
        qkv[base + d + half] = b * c + a * s;
      }
    }
  }
}

/** h [R, I] = silu(gate) * up from the fused gate_up [R, 2I] (gate columns first). */
export function siluMul(gateUp: Float32Array, rows: number, inter: number): Float32Array {
  const h = new Float32Array(rows * inter);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inter; i++) {
      const gate = gateUp[r * 2 * inter + i];
      h[r * inter + i] = (gate / (1 + Math.exp(-gate))) * gateUp[r * 2 * inter + inter + i];
    }
  }
  return h;
}

/** out[j] = log softmax(logits[j, :])[targets[j]] for logits [J, V]. */
export function logSoftmaxGather(logits: Float32Array, targets: ArrayLike<number>, vocab: number): Float32Array {
  const out = new Float32Array(targets.length);
  for (let j = 0; j < targets.length; j++) {
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[j * vocab + v]);
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[j * vocab + v] - max);
    out[j] = logits[j * vocab + targets[j]] - max - Math.log(sum);
  }
  return out;
}
