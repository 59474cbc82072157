// Copies selected rows: out[j, :] = x[rows[j], :]. Logits are needed only where a next token is scored
// (the last prompt row and each action row but its last), so the vocabulary projection runs on these only.
// Shapes: x [R, D] f32; rows [J] u32; out [J, D] f32.

struct Params {
  count: u32,  // J
  dim: u32,    // D
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(64)
fn gather_rows(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i >= params.count * params.dim) { return; }
  out[i] = x[rows[i / params.dim] * params.dim + i % params.dim];
}

// ---------------------------------------------------------------------------------------------------------
// Backward: the gradient of a gather is a scatter-add, and several j may gather the same row (every action's
// first token is scored at its prompt's last row). Without float atomics each output row sums its own
// sources, listed CSR-style: sources[offsets[r] .. offsets[r + 1]] are the j with rows[j] == r.
//   dx[r, :] = sum_{j in sources(r)} dout[j, :]      (0 for a row that no j gathered)
// Shapes: dout [J, D]; offsets [R + 1] u32; sources [J] u32; dx [R, D].

// Params here: count = R (rows of dx), dim = D.
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> offsets: array<u32>;
@group(0) @binding(7) var<storage, read> sources: array<u32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(64)
fn scatter_add_rows(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i >= params.count * params.dim) { return; }
  let r = i / params.dim;
  let d = i % params.dim;
  var sum = 0.0;
  for (var s = offsets[r]; s < offsets[r + 1u]; s++) { sum += dout[sources[s] * params.dim + d]; }
  dx[i] = sum;
}
