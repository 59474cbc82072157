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
  _pad: u32,   // backward: 1 adds into dx instead of overwriting it
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

// ---------------------------------------------------------------------------------------------------------
// Backward. The forward computed y = x * r * w with r = rstd[t] = (mean_d x^2 + eps)^-1/2, so
//
//   dx[t, d] (+)= r * w[d] * dy[t, d] - x[t, d] * r^3 / D * sum_e dy[t, e] * w[e] * x[t, e]
//
// (no gradient for the frozen norm weight). Shapes: x, dy, dx [T, D]; weight [D]; rstd [T] from the forward.

@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var dot = 0.0;
  for (var d = lid; d < params.dim; d += WG) { dot += dy[base + d] * weight[d] * x[base + d]; }
  partial[lid] = dot;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
    workgroupBarrier();
  }
  let r = rstd_in[t];
  let c = partial[0] * r * r * r / f32(params.dim);
  let accumulate = params._pad == 1u;
  for (var d = lid; d < params.dim; d += WG) {
    var prior = 0.0;
    if (accumulate) { prior = dx[base + d]; }
    dx[base + d] = prior + r * weight[d] * dy[base + d] - x[base + d] * c;
  }
}

// ---------------------------------------------------------------------------------------------------------
// One thread per row, no shared memory and no barriers: the same two functions for short rows (small models'
// hidden sizes). Where the GPU is emulated on the CPU (SwiftShader), a workgroup barrier is far dearer than
// the D multiply-adds a thread does here, so these are ~30x faster there; kernels/rmsnorm.ts picks by D.
// Rows fold into two dispatch dimensions: t = gid.x + gid.y * nwg.x * WG.

@compute @workgroup_size(WG)
fn rmsnorm_forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var sum_sq = 0.0;
  for (var d = 0u; d < params.dim; d++) {
    let v = x[base + d];
    sum_sq += v * v;
  }
  let r = inverseSqrt(sum_sq / f32(params.dim) + params.eps);
  rstd[t] = r;
  for (var d = 0u; d < params.dim; d++) { y[base + d] = x[base + d] * r * weight[d]; }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var dot = 0.0;
  for (var d = 0u; d < params.dim; d++) { dot += dy[base + d] * weight[d] * x[base + d]; }
  let r = rstd_in[t];
  let c = dot * r * r * r / f32(params.dim);
  let accumulate = params._pad == 1u;
  for (var d = 0u; d < params.dim; d++) {
    var prior = 0.0;
    if (accumulate) { prior = dx[base + d]; }
    dx[base + d] = prior + r * weight[d] * dy[base + d] - x[base + d] * c;
  }
}
