// Reading a q4 weight (the Q4 variants of matmul.wgsl, matmul_gemv.wgsl, matmul_tiled.wgsl; pasted in by
// `//! include`). Expects from the including file: `params.in_dim` (K) and `params.scale_f16`, and `scales`
// (array<u32>: f32 bits, or f16 pairs, low half first).

// The scale of row n's quantization group `group` (k / 32).
fn group_scale(n: u32, group: u32) -> f32 {
  let index = n * (params.in_dim / 32u) + group;
  if (params.scale_f16 == 1u) {
    let pair = unpack2x16float(scales[index / 2u]);
    return select(pair.x, pair.y, (index & 1u) == 1u);
  }
  return bitcast<f32>(scales[index]);
}

// Element j of four q4 words (one per column), dequantized with the columns' scales.
fn dequant4(words: vec4<u32>, j: u32, s: vec4<f32>) -> vec4<f32> {
  return (vec4<f32>((words >> vec4<u32>(4u * j)) & vec4<u32>(0xFu)) - vec4<f32>(7.0)) * s;
}
