/**
 * CPU references of the matrix product and the attention forward, with the layouts the kernels use (the other
 * ops have a file each: ./rmsnorm.ts, ./rope.ts, ./silu-mul.ts, ./embedding.ts, ./logsoftmax-gather.ts, ...).
 * Tests compare the kernels with these; the CPU model forward composes them. Accumulation is in float64 (JS
 * numbers); results are stored as float32.
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

/**
 * Attention where row r attends to the rows of two segments, segments[4r..4r+3] = (start1, len1, start2,
 * len2), with grouped-query heads (query head h reads kv head h / (H / KVH)). Returns out [R, H * hd].
 */
export function segmentAttention(qkv: Float32Array, segments: ArrayLike<number>, rows: number, heads: number, kvHeads: number, headDim: number): Float32Array {
  const stride = (heads + 2 * kvHeads) * headDim;
  const out = new Float32Array(rows * heads * headDim);
  const scale = 1 / Math.sqrt(headDim);
  for (let r = 0; r < rows; r++) {
    const keys: number[] = [];
    for (let i = 0; i < segments[4 * r + 1]; i++) keys.push(segments[4 * r] + i);
    for (let i = 0; i < segments[4 * r + 3]; i++) keys.push(segments[4 * r + 2] + i);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / (heads / kvHeads));
      const q = r * stride + h * headDim;
      const scores = keys.map((kr) => {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += qkv[q + d] * qkv[kr * stride + (heads + g) * headDim + d];
        return dot * scale;
      });
      const max = Math.max(...scores);
      const weights = scores.map((s) => Math.exp(s - max));
      const total = weights.reduce((a, b) => a + b, 0);
      for (let d = 0; d < headDim; d++) {
        let sum = 0;
        keys.forEach((kr, i) => (sum += weights[i] * qkv[kr * stride + (heads + kvHeads + g) * headDim + d]));
        out[r * heads * headDim + h * headDim + d] = sum / total;
      }
    }
  }
  return out;
}
