// One AdamW / Adam step on the GPU after the gradient norm (grad_norm.wgsl), as torch.optim.AdamW / Adam
// after clip_grad_norm_, with no round trip to the CPU:
//
//   adamw_prepare  if finite: t += 1, else skipped += 1;  bc1 = 1 - b1^t, bc2_sqrt = sqrt(1 - b2^t);
//                  factor = coef * grad_scale                                  -> info
//   adamw_update   if finite:  p *= 1 - lr wd                            (decoupled weight decay; 0 for Adam)
//                              g  = factor * grad
//                              m  = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//                              p -= (lr / bc1) m / (sqrt(v) / bc2_sqrt + eps)
//                  always:     grad = 0   (a non-finite gradient is dropped, never applied; info reports it)
//
// info: [0] norm, [1] clip coef, [2] finite (1/0) from grad_norm.wgsl; [3] t, [4] bc1, [5] bc2_sqrt,
// [6] skipped steps so far, [7] factor. step_args: [0] lr, [1] grad_scale (e.g. 1 / accumulation steps,
// applied after clipping as the caller decides), written before each step: the calls are built once.

struct Params {
  count: u32,  // elements of this tensor (adamw_update)
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> info: array<f32>;
@group(0) @binding(2) var<storage, read> step_args: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> param: array<f32>;
@group(0) @binding(5) var<storage, read_write> m: array<f32>;
@group(0) @binding(6) var<storage, read_write> v: array<f32>;

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(1)
fn adamw_prepare() {
  let finite = info[2] == 1.0;
  var t = info[3];
  if (finite) { t += 1.0; } else { info[6] += 1.0; }
  info[3] = t;
  info[4] = 1.0 - pow(params.beta1, t);
  info[5] = sqrt(1.0 - pow(params.beta2, t));
  info[7] = info[1] * step_args[1];
}

@compute @workgroup_size(WG)
fn adamw_update(ids: FlatIds) {
  let i = flat_index(ids, WG);
  if (i >= params.count) { return; }
  if (info[2] == 1.0) {
    let lr = step_args[0];
    let g = info[7] * grad[i];
    var p = param[i] * (1.0 - lr * params.weight_decay);
    let mi = params.beta1 * m[i] + (1.0 - params.beta1) * g;
    let vi = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    p -= (lr / info[4]) * mi / (sqrt(vi) / info[5] + params.eps);
    param[i] = p;
  }
  grad[i] = 0.0;
}
