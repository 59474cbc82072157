/**
 * Orthogonal initialization as torch.nn.init.orthogonal_(W, gain) for a [rows, cols] weight: QR of a Gaussian
 * matrix (transposed when rows < cols so Q is tall), then gain * Q (transposed back). QR here is modified
 * Gram-Schmidt with one re-orthogonalization pass, in float64; its R has a positive diagonal by construction,
 * which is what torch's sign fix (q *= sign(diag(r))) produces from Householder QR.
 * Result: orthonormal columns (rows >= cols) or orthonormal rows (rows < cols), times gain.
 */
import type { Rng } from '../../util/rng';

export function orthogonalMatrix(rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  if (!(Number.isInteger(rows) && rows > 0 && Number.isInteger(cols) && cols > 0))
    throw new RangeError(`bad shape [${rows}, ${cols}]`);
  const tall = rows >= cols;
  // A is [n, k] with n >= k; columns are what Gram-Schmidt orthonormalizes.
  const n = tall ? rows : cols;
  const k = tall ? cols : rows;
  const a = new Float64Array(n * k); // column-major: column j at a[j*n .. j*n+n)
  // Draw in the row-major order of the [rows, cols] Gaussian, as torch fills its matrix.
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = rng.normal();
      if (tall) a[c * n + r] = g;
      else a[r * n + c] = g; // transposed: row r of W becomes column r of A
    }
  }
  for (let j = 0; j < k; j++) {
    const cj = j * n;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const ci = i * n;
        let dot = 0;
        for (let t = 0; t < n; t++) dot += a[ci + t] * a[cj + t];
        for (let t = 0; t < n; t++) a[cj + t] -= dot * a[ci + t];
      }
    }
    let norm = 0;
    for (let t = 0; t < n; t++) norm += a[cj + t] * a[cj + t];
    norm = Math.sqrt(norm);
    if (norm < 1e-12) throw new Error('orthogonal init: degenerate Gaussian draw');
    for (let t = 0; t < n; t++) a[cj + t] /= norm;
  }
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) w[r * cols + c] = gain * (tall ? a[c * n + r] : a[r * n + c]);
  }
  return w;
}
