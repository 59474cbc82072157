// Reading an unquantized weight (the unquantized variants of matmul.wgsl, matmul_gemv.wgsl, matmul_tiled.wgsl;
// pasted in by `//! include`).
// Expects from the including file: `params.weight_f16` and `w` (array<u32>: f32 bits, or f16 pairs, low half
// first).

// Element `index` of W, row-major [N, K].
fn weight(index: u32) -> f32 {
  if (params.weight_f16 == 1u) {
    let pair = unpack2x16float(w[index / 2u]);
    return select(pair.x, pair.y, (index & 1u) == 1u);
  }
  return bitcast<f32>(w[index]);
}
