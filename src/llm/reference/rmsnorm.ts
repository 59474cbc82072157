/**
 * CPU reference of RMSNorm (kernels/rmsnorm.ts, shaders/rmsnorm.wgsl), forward and backward:
 *
 *   y[t, d] = x[t, d] * rstd[t] * w[d],   rstd[t] = 1 / sqrt(mean_d x[t, :]^2 + eps)
 *
 * x [T, D], weight [D] -> y [T, D], rstd [T] (what the backward reuses). The GPU's fused residual add
 * (add_rmsnorm) is this forward of residual + branch; its backward's `dresidual` is added to dx.
 */
import { allocator, type Alloc, type Vec } from './precision';

/** Forward: y [T, D], rstd [T] (float64 by default; allocator f32 rounds as the GPU stores them). */
export function rmsnormForward(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  rows: number,
  dim: number,
  eps: number,
  alloc: Alloc = allocator(),
): { y: Vec; rstd: Vec } {
  const y = alloc(rows * dim);
  const rstd = alloc(rows);
  for (let t = 0; t < rows; t++) {
    let sumSq = 0;
    for (let d = 0; d < dim; d++) sumSq += x[t * dim + d] ** 2;
    const r = 1 / Math.sqrt(sumSq / dim + eps);
    rstd[t] = r;
    for (let d = 0; d < dim; d++) y[t * dim + d] = x[t * dim + d] * r * weight[d];
  }
  return { y, rstd };
}

/**
 * Backward w.r.t. x (the norm weight is frozen), with the forward's rstd:
 *   dx[t, i] = rstd * w[i] * dy[t, i] - rstd^3 / D * x[t, i] * sum_d dy[t, d] w[d] x[t, d]
 */
export function rmsnormBackward(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  rstd: ArrayLike<number>,
  dy: ArrayLike<number>,
  rows: number,
  dim: number,
): Float64Array {
  const dx = new Float64Array(rows * dim);
  for (let t = 0; t < rows; t++) {
    const o = t * dim;
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += dy[o + d] * weight[d] * x[o + d];
    const r = rstd[t];
    const c = (r * r * r * dot) / dim;
    for (let d = 0; d < dim; d++) dx[o + d] = r * weight[d] * dy[o + d] - c * x[o + d];
  }
  return dx;
}
