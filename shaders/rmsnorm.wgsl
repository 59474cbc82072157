// RMSNorm, forward (LLaMA's input_layernorm, post_attention_layernorm and the final norm).
//
//   y[t, d] = x[t, d] * rsqrt(mean_d(x[t, :]^2) + eps) * weight[d]
//
// Shapes: x [T, D] f32, weight [D] f32, y [T, D] f32, rstd [T] f32 (kept for the backward pass).
// One workgroup per row t; its WG threads stride over D and reduce the sum of squares in shared memory.

struct Params {
  rows: u32,   // T
  dim: u32,    // D
  eps: f32,
  _pad: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= params.rows) { return; }
  let base = t * params.dim;

  var sum_sq = 0.0;
  for (var d = lid; d < params.dim; d += WG) {
    let v = x[base + d];
    sum_sq += v * v;
  }
  partial[lid] = sum_sq;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let r = inverseSqrt(partial[0] / f32(params.dim) + params.eps);
  if (lid == 0u) { rstd[t] = r; }
  for (var d = lid; d < params.dim; d += WG) {
    y[base + d] = x[base + d] * r * weight[d];
  }
}
