/**
 * CPU reference of the linear layer (the matrix product), with the layout the kernels use (attention:
 * ./attention.ts; the other ops have a file each: ./rmsnorm.ts, ./rope.ts, ./silu-mul.ts, ./embedding.ts,
 * ./logsoftmax-gather.ts, ...). Tests compare the kernels with these; the CPU model forward composes them.
 * Accumulation is in float64 (JS numbers); results are stored as the allocator says (matmul: float32).
 */
import { allocator, f32, type Alloc, type Vec } from './precision';

/** y [T, N] = x [T, K] · W^T with W [N, K] (row-major, as MLC and PyTorch store linear weights), in float32. */
export function matmul(x: Float32Array, w: Float32Array, tokens: number, outDim: number, inDim: number): Float32Array {
  return linearForward(x, w, tokens, outDim, inDim, f32) as Float32Array;
}

// ---------------------------------------------------------------------------------------------------------
// Linear layer (frozen weight): forward y = x · W^T; backward gives dx only.

/** Forward: y [R, N] = x [R, K] · W^T, W [N, K] row-major (float64 sums, k ascending). */
export function linearForward(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  outDim: number,
  inDim: number,
  alloc: Alloc = allocator(),
): Vec {
  const y = alloc(rows * outDim);
  for (let t = 0; t < rows; t++) {
    const xo = t * inDim;
    for (let n = 0; n < outDim; n++) {
      const wo = n * inDim;
      let sum = 0;
      for (let k = 0; k < inDim; k++) sum += x[xo + k] * w[wo + k];
      y[t * outDim + n] = sum;
    }
  }
  return y;
}

/** Backward of y = x · W^T w.r.t. x (W frozen): dx [R, K] = dy [R, N] · W. */
export function linearBackwardInput(
  dy: ArrayLike<number>,
  w: ArrayLike<number>,
  rows: number,
  outDim: number,
  inDim: number,
): Float64Array {
  const dx = new Float64Array(rows * inDim);
  for (let t = 0; t < rows; t++) {
    const xo = t * inDim;
    for (let n = 0; n < outDim; n++) {
      const g = dy[t * outDim + n];
      if (g === 0) continue;
      const wo = n * inDim;
      for (let k = 0; k < inDim; k++) dx[xo + k] += g * w[wo + k];
    }
  }
  return dx;
}
