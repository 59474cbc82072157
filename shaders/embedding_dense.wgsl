// Token embedding lookup from an unquantized table (q0f32 / q0f16): x[r, d] = table[tokens[r], d].
// Shapes: tokens [R] u32; table [V, D] as f32 bits or packed f16 pairs; x [R, D] f32.
//
// Row chunks (as embedding_q4.wgsl): for a table split by vocabulary rows, `table` holds rows
// row_start .. row_start + row_count and the dispatch writes only the x rows whose token falls there.

struct Params {
  rows: u32,
  dim: u32,
  table_f16: u32,
  row_start: u32,  // first token id of this chunk
  row_count: u32,  // token ids in this chunk
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(64)
fn embedding_dense(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i >= params.rows * params.dim) { return; }
  // Row of this chunk; ids below row_start wrap to large values and are skipped with those past the end.
  let tok = tokens[i / params.dim] - params.row_start;
  if (tok >= params.row_count) { return; }
  let index = tok * params.dim + i % params.dim;
  if (params.table_f16 == 1u) {
    let pair = unpack2x16float(table[index / 2u]);
    x[i] = select(pair.x, pair.y, (index & 1u) == 1u);
  } else {
    x[i] = bitcast<f32>(table[index]);
  }
}
