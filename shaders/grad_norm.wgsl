// The global gradient norm and its clipping coefficient, as torch.nn.utils.clip_grad_norm_, with no round trip
// to the CPU (the optimizer, adamw.wgsl, reads the result from `info`):
//
//   sum_squares    partial[slot + c] = sum of g^2 over chunk c (WG elements) of one gradient tensor
//   clip_coef      norm = sqrt(sum of every partial); finite = norm is finite;
//                  coef = min(1, max_norm / (norm + 1e-6)) where max_norm > 0 and finite, else 1
//
// info: [0] norm, [1] coef, [2] finite (1/0); the optimizer owns the rest (adamw.wgsl).
// Shapes: grad [count] f32 (one tensor per sum_squares dispatch); partial [slots] f32; info [8] f32.

struct Params {
  count: u32,     // elements of this tensor (sum_squares); partial slots of every tensor (clip_coef)
  slot: u32,      // first partial slot of this tensor (sum_squares)
  max_norm: f32,  // clip_coef; <= 0: no clipping
}

const WG: u32 = 256u;
alias Reduced = f32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<f32>;

//! include "include/workgroup_reduce.wgsl"

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(WG)
fn sum_squares(@builtin(workgroup_id) wid: vec3<u32>, inv: Invocation) {
  let i = wid.x * WG + inv.lid;
  var s = 0.0;
  if (i < params.count) { s = grad[i] * grad[i]; }
  let chunk_sum = workgroup_sum(s, inv);
  if (inv.lid == 0u) { partial[params.slot + wid.x] = chunk_sum; }
}

// The same partial sums without shared memory or barriers: invocation i sums its WG elements alone, into the
// same slot as sum_squares' workgroup i. For small tensors on a CPU-emulated GPU (SwiftShader), where a
// workgroup barrier costs far more than 256 multiply-adds; train/grad-norm.ts picks by size.
@compute @workgroup_size(64)
fn sum_squares_thread(ids: FlatIds) {
  let chunk = flat_index(ids, 64u);
  let first = chunk * WG;
  if (first >= params.count) { return; }
  let last = min(first + WG, params.count);
  var s = 0.0;
  for (var i = first; i < last; i++) { s += grad[i] * grad[i]; }
  partial[params.slot + chunk] = s;
}

@compute @workgroup_size(WG)
fn clip_coef(inv: Invocation) {
  var s = 0.0;
  for (var i = inv.lid; i < params.count; i += WG) { s += partial[i]; }
  let total = workgroup_sum(s, inv);
  if (inv.lid == 0u) {
    let norm = sqrt(total);
    // NaN fails every comparison, and an infinite norm is not below the largest float.
    let finite = norm == norm && norm <= 3.4e38;
    var coef = 1.0;
    if (params.max_norm > 0.0 && finite) { coef = min(1.0, params.max_norm / (norm + 1e-6)); }
    info[0] = norm;
    info[1] = coef;
    info[2] = select(0.0, 1.0, finite);
  }
}
