/**
 * CPU reference of the row gather (kernels/gather-rows.ts) and its gradient:
 *   forward    out [J, D] = x[rows[j], :]
 *   backward   dx [R, D]: dx[r, :] = sum of dout[j, :] over the j with rows[j] = r (0 for other rows)
 */
export function gatherRows(x: ArrayLike<number>, rows: ArrayLike<number>, dim: number): Float64Array {
  const out = new Float64Array(rows.length * dim);
  for (let j = 0; j < rows.length; j++) for (let d = 0; d < dim; d++) out[j * dim + d] = x[rows[j] * dim + d];
  return out;
}

export function scatterAddRows(
  dout: ArrayLike<number>,
  rows: ArrayLike<number>,
  rowCount: number,
  dim: number,
): Float64Array {
  const dx = new Float64Array(rowCount * dim);
  for (let j = 0; j < rows.length; j++) for (let d = 0; d < dim; d++) dx[rows[j] * dim + d] += dout[j * dim + d];
  return dx;
}
