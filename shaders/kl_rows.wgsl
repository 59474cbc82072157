// KL divergence between two models' next-token distributions, one value per logit row:
//
//   kl[j] = sum_v p_b(v) (log p_b(v) - log p_a(v)),   p_b = softmax(base[j, :]), p_a = softmax(adapted[j, :])
//
// Shapes: base [J, V] f32, adapted [J, V] f32 (the same rows of the same layout, without and with an adapter);
// kl [J] f32. Only kl is written: a vocabulary row never leaves the GPU.
//
// How (three passes over the two rows, f32 throughout). With d_v = a_v - b_v and dbar = E_pb[d]:
//   KL = (lse_a - lse_b) - dbar = log E_pb[exp(d - dbar)] = log1p(S),   S = E_pb[phi(d_v - dbar)],
//   phi(e) = exp(e) - 1 - e >= 0   (E_pb[d - dbar] = 0 is what lets the -1 - e in).
// 1. m_b = max b, m_a = max a.
// 2. w_v = exp(b_v - m_b): s_b = sum w, t = sum w d (dbar = t / s_b), s_a = sum exp(a_v - m_a).
// 3. S = sum w_v phi(d_v - dbar) / s_b.
// Every term of S is >= 0, so nothing cancels: S (and KL = log1p(S)) has a relative error of a few float32
// roundings per term and of the sums, however small the KL. The textbook form sum p_b (lp_b - lp_a) subtracts
// numbers of the size of the log-probs (up to ~30) to get a KL of maybe 1e-4: its absolute error, ~1e-6, would
// be a large part of such a KL. An error in dbar only enters S squared (S' = S (1 - delta) + delta^2 / 2). phi is
// a series for |e| <= 1 (exp(e) - 1 - e cancels there) and log1p a series below 1 (WGSL's log has an absolute
// error bound of 2^-21 near 1, too much for a small S). Where d_v is large, w_v exp(e_v) is exp(b_v - m_b + e_v)
// (one exponent: no 0 * inf). Should S overflow (KL above ~80 nats), KL falls back to (lse_a - lse_b) - dbar,
// whose absolute error is then irrelevant. Identical rows give exactly 0 (d = 0, e = 0, phi(0) = 0).
//
// Entry points: kl_rows (one workgroup per row) and kl_rows_thread (one thread per row, no shared memory and no
// barriers: for small vocabularies such as the micro model's 710; kernels/kl-rows.ts picks by V).
// Variant SUBGROUPS (the device has `subgroups`): the workgroup entry point reduces through subgroups and only
// the subgroups' totals go through shared memory; otherwise through shared-memory trees (both in
// include/workgroup_reduce.wgsl).

//! if SUBGROUPS
enable subgroups;
//! endif

struct Params {
  rows: u32,   // J
  vocab: u32,  // V
}

const WG: u32 = 256u;
// The reductions below take (m_b, m_a) and (s_b, t, s_a) as one value each, unused components 0.
alias Reduced = vec4<f32>;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> base: array<f32>;
@group(0) @binding(2) var<storage, read> adapted: array<f32>;
@group(0) @binding(3) var<storage, read_write> kl: array<f32>;

// phi(e) = exp(e) - 1 - e, times w = exp(b - m_b) (the unnormalized p_b). The series to e^11 / 11! for
// |e| <= 1 (the next term is below 4e-9 of the sum); above, exp(b - m_b + e) in one exponent.
fn weighted_phi(w: f32, b_shifted: f32, e: f32) -> f32 {
  if (abs(e) <= 1.0) {
    var s = 1.0 + e / 11.0;
    s = 1.0 + e / 10.0 * s;
    s = 1.0 + e / 9.0 * s;
    s = 1.0 + e / 8.0 * s;
    s = 1.0 + e / 7.0 * s;
    s = 1.0 + e / 6.0 * s;
    s = 1.0 + e / 5.0 * s;
    s = 1.0 + e / 4.0 * s;
    s = 1.0 + e / 3.0 * s;
    return w * (0.5 * e * e * s);
  }
  if (e > 0.0) { return exp(b_shifted + e) - w * (1.0 + e); }
  return w * (exp(e) - 1.0 - e);
}

// log(1 + x) for x >= 0: 2 atanh(z), z = x / (2 + x) <= 1/3 below x = 1, by its series to z^13 (the rest is
// below 2e-8 of it); log(1 + x) itself from x = 1 on, where its rounding is relative.
fn log1p_nonneg(x: f32) -> f32 {
  if (x >= 1.0) { return log(1.0 + x); }
  let z = x / (2.0 + x);
  let z2 = z * z;
  var s = 1.0 / 13.0;
  s = 1.0 / 11.0 + z2 * s;
  s = 1.0 / 9.0 + z2 * s;
  s = 1.0 / 7.0 + z2 * s;
  s = 1.0 / 5.0 + z2 * s;
  s = 1.0 / 3.0 + z2 * s;
  s = 1.0 + z2 * s;
  return 2.0 * z * s;
}

// KL from the reductions: m = (m_b, m_a), sums = (s_b, t, s_a), big_s = sum w phi (unnormalized).
fn kl_value(m: vec2<f32>, sums: vec3<f32>, dbar: f32, big_s: f32) -> f32 {
  let s = big_s / sums.x;
  if (s <= 3.4e38) { return log1p_nonneg(s); }
  return (m.y - m.x) + log(sums.z) - log(sums.x) - dbar;
}

//! include "include/workgroup_reduce.wgsl"

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(WG)
fn kl_rows(@builtin(workgroup_id) wid: vec3<u32>, inv: Invocation) {
  let j = wid.x;
  if (j >= params.rows) { return; }
  let row = j * params.vocab;
  // 1. Row maxima.
  var m = vec2<f32>(-3.4e38);
  for (var v = inv.lid; v < params.vocab; v += WG) { m = max(m, vec2<f32>(base[row + v], adapted[row + v])); }
  let maxima = workgroup_max(vec4<f32>(m, 0.0, 0.0), inv).xy;
  // 2. s_b, t, s_a.
  var sums = vec3<f32>(0.0);
  for (var v = inv.lid; v < params.vocab; v += WG) {
    let b = base[row + v];
    let a = adapted[row + v];
    let w = exp(b - maxima.x);
    sums += vec3<f32>(w, w * (a - b), exp(a - maxima.y));
  }
  let totals = workgroup_sum(vec4<f32>(sums, 0.0), inv).xyz;
  let dbar = totals.y / totals.x;
  // 3. S, unnormalized.
  var big_s = 0.0;
  for (var v = inv.lid; v < params.vocab; v += WG) {
    let b_shifted = base[row + v] - maxima.x;
    big_s += weighted_phi(exp(b_shifted), b_shifted, adapted[row + v] - base[row + v] - dbar);
  }
  // workgroup_sum's second call: every invocation must have read the first's result before its slots are reused.
  workgroupBarrier();
  let total_s = workgroup_sum(vec4<f32>(big_s, 0.0, 0.0, 0.0), inv).x;
  if (inv.lid == 0u) { kl[j] = kl_value(maxima, totals, dbar, total_s); }
}

// ---------------------------------------------------------------------------------------------------------
// One thread per row: row j = flat_index(ids, 64u).

@compute @workgroup_size(64)
fn kl_rows_thread(ids: FlatIds) {
  let j = flat_index(ids, 64u);
  if (j >= params.rows) { return; }
  let row = j * params.vocab;
  var m = vec2<f32>(-3.4e38);
  for (var v = 0u; v < params.vocab; v++) { m = max(m, vec2<f32>(base[row + v], adapted[row + v])); }
  var sums = vec3<f32>(0.0);
  for (var v = 0u; v < params.vocab; v++) {
    let b = base[row + v];
    let a = adapted[row + v];
    let w = exp(b - m.x);
    sums += vec3<f32>(w, w * (a - b), exp(a - m.y));
  }
  let dbar = sums.y / sums.x;
  var big_s = 0.0;
  for (var v = 0u; v < params.vocab; v++) {
    let b_shifted = base[row + v] - m.x;
    big_s += weighted_phi(exp(b_shifted), b_shifted, adapted[row + v] - base[row + v] - dbar);
  }
  kl[j] = kl_value(m, sums, dbar, big_s);
}
