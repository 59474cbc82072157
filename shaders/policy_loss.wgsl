// PPO's clipped policy loss over TWOSOME's action distributions (spec 1.1 and 2.2; CleanRL), and its gradient with
// respect to every action token's log-prob, between the LoRA forward and its backward in one submission, so that
// a policy pass needs no round trip to the CPU:
//
//   S_rk     = sum of the token log-probs of action k of request r;   z_rk = S_rk / d_rk   (d: the normalization)
//   logpi_r  = z_r - logsumexp(z_r);   H_r = -sum_k pi_rk logpi_rk
//   sample s (request r_s, taken action a_s, rollout log-prob o_s, advantage A_s, normalized per minibatch):
//     ratio_s = exp(logpi_{r_s}(a_s) - o_s)
//   minibatch m of n samples (scale = 1 / gradient accumulation steps):
//     pgLoss   = mean_s max(-A_s ratio_s, -A_s clamp(ratio_s, 1 - c, 1 + c));   entropy = mean_s H_{r_s}
//     loss     = (pgLoss - ent_coef entropy) scale
//     approxKl = mean_s (ratio_s - 1) - log ratio_s;   oldApproxKl = mean_s -log ratio_s
//     clipFrac = mean_s [|ratio_s - 1| > c]
//   backward, torch's autograd: max sends (w1, w2) = (1, 0), (0, 1) or (0.5, 0.5), clamp passes c-inclusive:
//     dL/dlogpi_s = (scale / n) (-A_s) (w1 + w2 [1 - c <= ratio_s <= 1 + c]) ratio_s;   dL/dH_s = -ent_coef scale / n
//     dL/dS_rk    = (1 / d_rk) sum_{s: r_s = r} (dL/dlogpi_s ([k = a_s] - pi_rk) - dL/dH_s pi_rk (logpi_rk + H_r))
//     and each token of action k gets dL/dS_rk (S_rk is their sum).
// Samples that share a request (one forward for both) sum into that request's tokens, in sample order.
//
// Shapes: sizes (requests R, minibatches M), requests [R] (first action, actions), actions [sum of actions]
// (first token, tokens, d), samples [N] (request, action, old log-prob, advantage), minibatches [M] (first
// sample, samples), logprobs [T] (the pass's token log-probs in request order), grads [T] (dL/dlogprob, what the
// LoRA backward consumes), stats [M, 6] (loss, pgLoss, entropy, approxKl, oldApproxKl, clipFrac). f32 throughout.
// One workgroup: policy_loss runs one invocation per minibatch, policy_loss_backward one per request, each summing
// serially in sample order (deterministic, no atomics; a pass has a few dozen samples). Reference:
// rl/policy.ts actionDistribution and scoreGradients, rl/ppo-loss.ts policyLoss.

struct Params {
  clip_coef: f32,  // c
  ent_coef: f32,
  scale: f32,      // 1 / gradient accumulation steps
}

struct Sizes {
  requests: u32,
  minibatches: u32,
}

struct Action {
  first: u32,    // its tokens: logprobs[first .. first + count)
  count: u32,
  divisor: f32,  // d_rk: 1 (sum), its tokens (token) or its words (word)
}

struct Sample {
  request: u32,
  action: u32,
  old_logp: f32,
  advantage: f32,
}

// A request's action distribution: logsumexp of its logits and its entropy.
struct Distribution {
  lse: f32,
  entropy: f32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> sizes: Sizes;
@group(0) @binding(2) var<storage, read> requests: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> actions: array<Action>;
@group(0) @binding(4) var<storage, read> samples: array<Sample>;
@group(0) @binding(5) var<storage, read> minibatches: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read> logprobs: array<f32>;
@group(0) @binding(7) var<storage, read_write> grads: array<f32>;
@group(0) @binding(8) var<storage, read_write> stats: array<f32>;

// z_rk for the global action index a (its request's action k).
fn logit(a: u32) -> f32 {
  let action = actions[a];
  var s = 0.0;
  for (var t = action.first; t < action.first + action.count; t++) { s += logprobs[t]; }
  return s / action.divisor;
}

fn distribution(r: u32) -> Distribution {
  let first = requests[r].x;
  let end = first + requests[r].y;
  var max_z = logit(first);
  for (var a = first + 1u; a < end; a++) { max_z = max(max_z, logit(a)); }
  var sum = 0.0;
  for (var a = first; a < end; a++) { sum += exp(logit(a) - max_z); }
  let lse = max_z + log(sum);
  var entropy = 0.0;
  for (var a = first; a < end; a++) {
    let lp = logit(a) - lse;
    let p = exp(lp);
    // 0 log 0 = 0, as torch's clamped log-probs give.
    if (p > 0.0) { entropy -= p * lp; }
  }
  return Distribution(lse, entropy);
}

// log pi of sample s's taken action.
fn new_logp(s: Sample, dist: Distribution) -> f32 {
  return logit(requests[s.request].x + s.action) - dist.lse;
}

// dL/dlogpi of one sample of a minibatch of n.
fn dloss_dlogp(s: Sample, ratio: f32, n: u32) -> f32 {
  let c = params.clip_coef;
  let l1 = -s.advantage * ratio;
  let l2 = -s.advantage * clamp(ratio, 1.0 - c, 1.0 + c);
  var w1 = 0.5;
  var w2 = 0.5;
  if (l1 > l2) { w1 = 1.0; w2 = 0.0; } else if (l1 < l2) { w1 = 0.0; w2 = 1.0; }
  let in_range = select(0.0, 1.0, ratio >= 1.0 - c && ratio <= 1.0 + c);
  return params.scale / f32(n) * (-s.advantage) * (w1 + w2 * in_range) * ratio;
}

@compute @workgroup_size(WG)
fn policy_loss(@builtin(local_invocation_index) lid: u32) {
  let c = params.clip_coef;
  for (var m = lid; m < sizes.minibatches; m += WG) {
    let first = minibatches[m].x;
    let n = minibatches[m].y;
    var pg = 0.0;
    var ent = 0.0;
    var kl = 0.0;
    var old_kl = 0.0;
    var clipped = 0.0;
    for (var i = first; i < first + n; i++) {
      let s = samples[i];
      let dist = distribution(s.request);
      let log_ratio = new_logp(s, dist) - s.old_logp;
      let ratio = exp(log_ratio);
      pg += max(-s.advantage * ratio, -s.advantage * clamp(ratio, 1.0 - c, 1.0 + c));
      ent += dist.entropy;
      kl += ratio - 1.0 - log_ratio;
      old_kl -= log_ratio;
      if (abs(ratio - 1.0) > c) { clipped += 1.0; }
    }
    let pg_loss = pg / f32(n);
    let entropy = ent / f32(n);
    stats[6u * m] = (pg_loss - params.ent_coef * entropy) * params.scale;
    stats[6u * m + 1u] = pg_loss;
    stats[6u * m + 2u] = entropy;
    stats[6u * m + 3u] = kl / f32(n);
    stats[6u * m + 4u] = old_kl / f32(n);
    stats[6u * m + 5u] = clipped / f32(n);
  }
}

@compute @workgroup_size(WG)
fn policy_loss_backward(@builtin(local_invocation_index) lid: u32) {
  for (var r = lid; r < sizes.requests; r += WG) {
    let dist = distribution(r);
    let first = requests[r].x;
    for (var a = first; a < first + requests[r].y; a++) {
      let k = a - first;
      let lp = logit(a) - dist.lse;
      let p = exp(lp);
      let dh = select(0.0, -p * (lp + dist.entropy), p > 0.0);
      var g = 0.0;
      for (var m = 0u; m < sizes.minibatches; m++) {
        let n = minibatches[m].y;
        for (var i = minibatches[m].x; i < minibatches[m].x + n; i++) {
          let s = samples[i];
          if (s.request != r) { continue; }
          let ratio = exp(new_logp(s, dist) - s.old_logp);
          let taken = select(0.0, 1.0, s.action == k);
          g += dloss_dlogp(s, ratio, n) * (taken - p) + (-params.ent_coef * params.scale / f32(n)) * dh;
        }
      }
      let action = actions[a];
      g /= action.divisor;
      for (var t = action.first; t < action.first + action.count; t++) { grads[t] = g; }
    }
  }
}
