// RMSNorm (LLaMA's input_layernorm, post_attention_layernorm and the final norm), forward and backward.
//
//   y[t, d] = x[t, d] * r[t] * weight[d],   r[t] = rstd[t] = rsqrt(mean_d(x[t, :]^2) + eps)
//
// Shapes: x [T, D] f32, weight [D] f32, y [T, D] f32, rstd [T] f32 (kept for the backward pass).
//
// Variants (gpu/shader-variants.ts), one module each:
//   SUBGROUPS  the row's reduction through subgroup operations (the device has `subgroups`); otherwise a
//              shared-memory tree (both in include/workgroup_reduce.wgsl). The shared-memory tree takes
//              log2(WG) + 1 = 7 workgroup barriers per row; with subgroups, a subgroup adds its invocations'
//              partial sums in registers and only the subgroups' totals go through shared memory: one barrier
//              per row.
//   ADD        the forward's input is the residual sum x = residual + branch, which it also writes to `sum` (the
//              residual stream it continues): the residual add fused into the next norm, which saves the add's
//              dispatch and a pass over x. forward.ts fuses every add of the layer this way.
//   RESIDUAL   the backward adds its input gradient to `dresidual` (the residual branch's gradient) instead of
//              starting from zero: dx_mid = dres + rmsnorm_backward(dxn2) in one pass, no copy.
// Entry points: rmsnorm_forward / rmsnorm_backward (one workgroup per row t), and rmsnorm_forward_rows /
// rmsnorm_backward_rows (one thread per row, no shared memory and no barriers: for short rows, small models'
// hidden sizes; where the GPU is emulated on the CPU (SwiftShader), a workgroup barrier is far dearer than the
// D multiply-adds a thread does, so these are ~30x faster there). kernels/rmsnorm.ts picks by D.

//! if SUBGROUPS
enable subgroups;
//! endif

struct Params {
  rows: u32,  // T
  dim: u32,   // D
  eps: f32,   // forward only
}

const WG: u32 = 64u;
alias Reduced = f32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;

//! if ADD
@group(0) @binding(8) var<storage, read> residual: array<f32>;
@group(0) @binding(9) var<storage, read> branch: array<f32>;
@group(0) @binding(10) var<storage, read_write> sum: array<f32>;

// The input element, first read: residual + branch, stored to `sum` by the invocation that reads it again.
fn load_x(i: u32) -> f32 {
  let v = residual[i] + branch[i];
  sum[i] = v;
  return v;
}

fn reload_x(i: u32) -> f32 {
  return sum[i];
}
//! else
fn load_x(i: u32) -> f32 {
  return x[i];
}

fn reload_x(i: u32) -> f32 {
  return x[i];
}
//! endif

//! include "include/workgroup_reduce.wgsl"

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, inv: Invocation) {
  let t = wid.x;
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var sum_sq = 0.0;
  for (var d = inv.lid; d < params.dim; d += WG) {
    let v = load_x(base + d);
    sum_sq += v * v;
  }
  let r = inverseSqrt(workgroup_sum(sum_sq, inv) / f32(params.dim) + params.eps);
  if (inv.lid == 0u) { rstd[t] = r; }
  for (var d = inv.lid; d < params.dim; d += WG) {
    y[base + d] = reload_x(base + d) * r * weight[d];
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_forward_rows(ids: FlatIds) {
  let t = flat_index(ids, WG);
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var sum_sq = 0.0;
  for (var d = 0u; d < params.dim; d++) {
    let v = load_x(base + d);
    sum_sq += v * v;
  }
  let r = inverseSqrt(sum_sq / f32(params.dim) + params.eps);
  rstd[t] = r;
  for (var d = 0u; d < params.dim; d++) { y[base + d] = reload_x(base + d) * r * weight[d]; }
}

// ---------------------------------------------------------------------------------------------------------
// Backward. The forward computed y = x * r * w with r = rstd[t] = (mean_d x^2 + eps)^-1/2, so
//
//   dx[t, d] = [dresidual[t, d] +] r * w[d] * dy[t, d] - x[t, d] * r^3 / D * sum_e dy[t, e] * w[e] * x[t, e]
//
// (no gradient for the frozen norm weight). Shapes: x, dy, dx [T, D]; weight [D]; rstd [T] from the forward;
// dresidual [T, D] (RESIDUAL only).

@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;

//! if RESIDUAL
@group(0) @binding(11) var<storage, read> dresidual: array<f32>;

fn prior(i: u32) -> f32 {
  return dresidual[i];
}
//! else
fn prior(i: u32) -> f32 {
  return 0.0;
}
//! endif

@compute @workgroup_size(WG)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3<u32>, inv: Invocation) {
  let t = wid.x;
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var dot = 0.0;
  for (var d = inv.lid; d < params.dim; d += WG) { dot += dy[base + d] * weight[d] * x[base + d]; }
  let r = rstd_in[t];
  let c = workgroup_sum(dot, inv) * r * r * r / f32(params.dim);
  for (var d = inv.lid; d < params.dim; d += WG) {
    dx[base + d] = prior(base + d) + r * weight[d] * dy[base + d] - x[base + d] * c;
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_rows(ids: FlatIds) {
  let t = flat_index(ids, WG);
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var dot = 0.0;
  for (var d = 0u; d < params.dim; d++) { dot += dy[base + d] * weight[d] * x[base + d]; }
  let r = rstd_in[t];
  let c = dot * r * r * r / f32(params.dim);
  for (var d = 0u; d < params.dim; d++) {
    dx[base + d] = prior(base + d) + r * weight[d] * dy[base + d] - x[base + d] * c;
  }
}
