// Token embedding lookup from the q4-quantized embedding matrix (MLC stores model.embed_tokens like any
// linear weight): x[r, d] = (q[tok[r], d] - 7) * scale[tok[r], d / 32].
//
// Shapes: tokens [R] u32; q_weight [V, D/8] u32; scales [V, D/32] (f32, or f16 pairs); x [R, D] f32.
// One thread per output element; the token id was validated on the CPU (< V) before upload.
//
// Row chunks: a table too large for one storage binding is uploaded as several buffers of consecutive
// vocabulary rows (gpu-weights.ts), one dispatch each. q_weight and scales then hold rows
// row_start .. row_start + row_count, and the dispatch writes only the x rows whose token falls there; every
// id falls in exactly one chunk, so the dispatches together write all of x. Unsplit: row_start 0, row_count V.

struct Params {
  rows: u32,       // R
  dim: u32,        // D
  scale_f16: u32,
  row_start: u32,  // first token id of this chunk
  row_count: u32,  // token ids in this chunk
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> q_weight: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;

//! include "include/common_flat_index.wgsl"

fn group_scale(index: u32) -> f32 {
  if (params.scale_f16 == 1u) {
    let pair = unpack2x16float(scales[index / 2u]);
    return select(pair.x, pair.y, (index & 1u) == 1u);
  }
  return bitcast<f32>(scales[index]);
}

@compute @workgroup_size(64)
fn embedding_q4(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i >= params.rows * params.dim) { return; }
  let r = i / params.dim;
  let d = i % params.dim;
  // Row of this chunk; ids below row_start wrap to large values and are skipped with those past the end.
  let tok = tokens[r] - params.row_start;
  if (tok >= params.row_count) { return; }
  let word = q_weight[tok * (params.dim / 8u) + d / 8u];
  let q = f32((word >> (4u * (d % 8u))) & 0xFu);
  x[i] = (q - 7.0) * group_scale(tok * (params.dim / 32u) + d / 32u);
}
