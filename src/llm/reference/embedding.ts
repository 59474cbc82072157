/**
 * CPU reference of the token embedding lookup (kernels/embedding.ts): x [R, D] = table[tokens[r], :] from a
 * decoded table [V, D]. The table is frozen, so there is no backward.
 */
export function embedding(table: Float32Array, tokens: ArrayLike<number>, dim: number): Float32Array {
  const x = new Float32Array(tokens.length * dim);
  for (let r = 0; r < tokens.length; r++) x.set(table.subarray(tokens[r] * dim, (tokens[r] + 1) * dim), r * dim);
  return x;
}
