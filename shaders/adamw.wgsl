// One optimizer step on the GPU, as torch.nn.utils.clip_grad_norm_ followed by torch.optim.AdamW / Adam,
// with no round trip to the CPU:
//
//   sum_squares    partial[slot + wg] = sum of g^2 over a workgroup's slice of one gradient tensor
//   adam_prepare   norm = sqrt(sum partial); finite = norm is finite;
//                  coef = min(1, max_norm / (norm + 1e-6)) * grad_scale;  if finite: t += 1;
//                  bc1 = 1 - b1^t, bc2_sqrt = sqrt(1 - b2^t)            -> info
//   adamw_update   if finite:  p *= 1 - lr wd                            (decoupled weight decay; 0 for Adam)
//                              g  = coef * grad
//                              m  = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//                              p -= (lr / bc1) m / (sqrt(v) / bc2_sqrt + eps)
//                  always:     grad = 0   (a non-finite gradient is dropped, never applied; info reports it)
//
// info: [0] norm, [1] coef, [2] finite (1/0), [3] t, [4] bc1, [5] bc2_sqrt, [6] skipped steps so far.

struct Params {
  count: u32,       // elements of this tensor (sum_squares, adamw_update); partial slots (adam_prepare)
  slot: u32,        // first partial slot of this tensor (sum_squares)
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  max_norm: f32,    // <= 0: no clipping
  grad_scale: f32,  // e.g. 1 / accumulation steps, applied after clipping as the caller decides
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> info: array<f32>;
@group(0) @binding(4) var<storage, read_write> param: array<f32>;
@group(0) @binding(5) var<storage, read_write> m: array<f32>;
@group(0) @binding(6) var<storage, read_write> v: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn sum_squares(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wid.x * WG + lid;
  var s = 0.0;
  if (i < params.count) { s = grad[i] * grad[i]; }
  red[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { red[lid] += red[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { partial[params.slot + wid.x] = red[0]; }
}

// The same partial sums without shared memory or barriers: invocation i sums its WG elements alone, into the
// same slot as sum_squares' workgroup i. For small tensors on a CPU-emulated GPU (SwiftShader), where a
// workgroup barrier costs far more than 256 multiply-adds; optimizer.ts picks by size.
@compute @workgroup_size(64)
fn sum_squares_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let chunk = gid.x + gid.y * nwg.x * 64u;
  let first = chunk * WG;
  if (first >= params.count) { return; }
  let last = min(first + WG, params.count);
  var s = 0.0;
  for (var i = first; i < last; i++) { s += grad[i] * grad[i]; }
  partial[params.slot + chunk] = s;
}

@compute @workgroup_size(WG)
fn adam_prepare(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = lid; i < params.count; i += WG) { s += partial[i]; }
  red[lid] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) { red[lid] += red[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let norm = sqrt(red[0]);
    // NaN fails every comparison, and an infinite norm is not below the largest float.
    let finite = norm == norm && norm <= 3.4e38;
    var coef = 1.0;
    if (params.max_norm > 0.0 && finite) { coef = min(1.0, params.max_norm / (norm + 1e-6)); }
    var t = info[3];
    if (finite) { t += 1.0; } else { info[6] += 1.0; }
    info[0] = norm;
    info[1] = coef * params.grad_scale;
    info[2] = select(0.0, 1.0, finite);
    info[3] = t;
    info[4] = 1.0 - pow(params.beta1, t);
    info[5] = sqrt(1.0 - pow(params.beta2, t));
  }
}

@compute @workgroup_size(WG)
fn adamw_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= params.count) { return; }
  if (info[2] == 1.0) {
    let g = info[1] * grad[i];
    var p = param[i] * (1.0 - params.lr * params.weight_decay);
    let mi = params.beta1 * m[i] + (1.0 - params.beta1) * g;
    let vi = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    p -= (params.lr / info[4]) * mi / (sqrt(vi) / info[5] + params.eps);
    param[i] = p;
  }
  grad[i] = 0.0;
}
