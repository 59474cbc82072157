// PPO's clipped value loss and its gradient (CleanRL, TWOSOME spec 2.3), on the critic's device, between the
// critic's forward and its backward, so that a value minibatch needs no round trip to the CPU:
//
//   unclipped_i = (v_i - R_i)^2
//   v_clip_i    = v_old_i + clamp(v_i - v_old_i, -c, c);   clipped_i = (v_clip_i - R_i)^2
//   vLoss       = 0.5 mean_i max(unclipped_i, clipped_i)          (clip_vloss 0: 0.5 mean_i unclipped_i)
//   dL/dv_i     = k (w1 2 (v_i - R_i) + w2 [|v_i - v_old_i| <= c] 2 (v_clip_i - R_i)),   k = vf_coef scale 0.5 / n
//                 (w1, w2) = (1, 0), (0, 1) or (0.5, 0.5) as unclipped_i >, < or = clipped_i
//
// Shapes: values [n] (the critic's output), targets [n, 2] (v_old_i, R_i), dvalues [n] (the critic backward's
// dL/dv), loss [1] (vLoss, the logged value). One workgroup; reference: rl/ppo-loss.ts valueLoss.

struct Params {
  count: u32,       // n
  clip_coef: f32,   // c
  clip_vloss: u32,  // 1: clipped loss, 0: plain squared error
  k: f32,           // vf_coef * scale * 0.5 / n
}

const WG: u32 = 256u;
alias Reduced = f32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> dvalues: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;

//! include "include/workgroup_reduce.wgsl"

@compute @workgroup_size(WG)
fn value_loss(inv: Invocation) {
  var sum = 0.0;
  for (var i = inv.lid; i < params.count; i += WG) {
    let v = values[i];
    let old = targets[i].x;
    let ret = targets[i].y;
    let unclipped = (v - ret) * (v - ret);
    if (params.clip_vloss == 0u) {
      sum += unclipped;
      dvalues[i] = params.k * 2.0 * (v - ret);
      continue;
    }
    let diff = v - old;
    let v_clip = old + clamp(diff, -params.clip_coef, params.clip_coef);
    let clipped = (v_clip - ret) * (v_clip - ret);
    sum += max(unclipped, clipped);
    var w1 = 0.5;
    var w2 = 0.5;
    if (unclipped > clipped) { w1 = 1.0; w2 = 0.0; } else if (unclipped < clipped) { w1 = 0.0; w2 = 1.0; }
    let in_range = select(0.0, 1.0, diff >= -params.clip_coef && diff <= params.clip_coef);
    dvalues[i] = params.k * (w1 * 2.0 * (v - ret) + w2 * in_range * 2.0 * (v_clip - ret));
  }
  let total = workgroup_sum(sum, inv);
  if (inv.lid == 0u) { loss[0] = 0.5 * total / f32(params.count); }
}
