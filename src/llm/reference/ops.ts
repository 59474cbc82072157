/**
 * CPU reference of the matrix product, with the layout the kernels use (attention: ./attention.ts; the other
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
