/**
 * CPU reference of RMSNorm, the readable twin of shaders/rmsnorm.wgsl that tests compare the GPU against.
 *
 *   y[t, d] = x[t, d] / sqrt(mean_d(x[t, :]^2) + eps) * weight[d]
 *
 * x [T, D], weight [D] -> y [T, D], rstd [T] (1 / rms per row, what the backward reuses).
 */
export function rmsnormForward(x: Float32Array, weight: Float32Array, rows: number, dim: number, eps: number): { y: Float32Array; rstd: Float32Array } {
  const y = new Float32Array(rows * dim);
  const rstd = new Float32Array(rows);
  for (let t = 0; t < rows; t++) {
    let sumSq = 0;
    for (let d = 0; d < dim; d++) sumSq += x[t * dim + d] ** 2;
    const r = 1 / Math.sqrt(sumSq / dim + eps);
    rstd[t] = r;
    for (let d = 0; d < dim; d++) y[t * dim + d] = x[t * dim + d] * r * weight[d];
  }
  return { y, rstd };
}
