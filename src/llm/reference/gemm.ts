/**
 * CPU reference of the general matrix product (kernels/gemm.ts) on strided sub-matrices:
 *
 *   C[m, n] = beta C[m, n] + alpha sum_k op(A)[m, k] op(B)[k, n]
 *   op(A)[m, k] = transpose ? A[off + k lda + m] : A[off + m lda + k]   (B alike; C[m, n] at off + m ldc + n)
 *
 * A product's backward is two more of these (dA = dC op(B)^T, dB = op(A)^T dC). In place on `c`, float64 sums.
 */
export interface GemmOperandRef {
  data: ArrayLike<number>;
  ld: number;
  offset?: number;
  transpose?: boolean;
}

export function gemm(
  a: GemmOperandRef,
  b: GemmOperandRef,
  c: { data: Float32Array | Float64Array; ld: number; offset?: number },
  { m, n, k, alpha = 1, beta = 0 }: { m: number; n: number; k: number; alpha?: number; beta?: number },
): void {
  const at = (i: number, kk: number) =>
    a.transpose ? a.data[(a.offset ?? 0) + kk * a.ld + i] : a.data[(a.offset ?? 0) + i * a.ld + kk];
  const bt = (kk: number, j: number) =>
    b.transpose ? b.data[(b.offset ?? 0) + j * b.ld + kk] : b.data[(b.offset ?? 0) + kk * b.ld + j];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let kk = 0; kk < k; kk++) s += at(i, kk) * bt(kk, j);
      const at0 = (c.offset ?? 0) + i * c.ld + j;
      c.data[at0] = (beta === 0 ? 0 : beta * c.data[at0]) + alpha * s;
    }
  }
}
