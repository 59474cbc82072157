// ReLU, in place, and its backward (the critic MLP's hidden layers).
//   forward:  z <- max(z, 0)
//   backward: grad <- grad * [a > 0]     (relu'(0) = 0, as torch; a > 0 exactly where z > 0)
// Shapes: z [count] f32; backward: a [count] (the forward's output), grad [count] in place.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(64)
fn relu_forward(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i < params.count) { z[i] = max(z[i], 0.0); }
}

@compute @workgroup_size(64)
fn relu_backward(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i < params.count) { grad[i] = select(0.0, grad[i], a[i] > 0.0); }
}
