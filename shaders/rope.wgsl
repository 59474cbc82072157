// Rotary position embedding, rotate-half form (LLaMA / HF), forward and backward: for each query and key
// head and each pair
// (d, d + hd/2) of a row at position p, with angle a = p * inv_freq[d]:
//
//   x[d]        <- x[d] * cos(a) - x[d + hd/2] * sin(a)
//   x[d + hd/2] <- x[d + hd/2] * cos(a) + x[d] * sin(a)
//
// The backward applies the transposed rotation (angle -a) to the gradient, in place: direction = -1.
// In place on the fused qkv rows: qkv [R, (H + 2*KVH) * hd] f32; the first H + KVH heads (Q, then K) rotate,
// V does not. positions [R] u32; cos_sin [P, hd/2] vec2 f32 = (cos a, sin a) for every position p < P, made
// on the CPU (rope-table.ts): theta and Llama-3 scaling live there, and a GPU's sin/cos of angles in the
// hundreds of radians is not accurate enough for 1e-4 log-probs.

struct Params {
  rows: u32,          // R
  rotated_heads: u32, // H + KVH
  head_dim: u32,      // hd
  row_stride: u32,    // (H + 2*KVH) * hd
  direction: f32,     // 1: forward; -1: backward (the gradient of a rotation is the inverse rotation)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> positions: array<u32>;
@group(0) @binding(2) var<storage, read> cos_sin: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> qkv: array<f32>;

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(64)
fn rope_forward(ids: FlatIds) {
  let half = params.head_dim / 2u;
  let i = flat_index(ids, 64u);
  if (i >= params.rows * params.rotated_heads * half) { return; }
  let d = i % half;
  let head = (i / half) % params.rotated_heads;
  let r = i / (half * params.rotated_heads);
  let cs = cos_sin[positions[r] * half + d];
  let c = cs.x;
  let s = cs.y * params.direction;
  let base = r * params.row_stride + head * params.head_dim;
  let a = qkv[base + d];
  let b = qkv[base + d + half];
  qkv[base + d] = a * c - b * s;
  qkv[base + d + half] = b * c + a * s;
}
