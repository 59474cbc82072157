// Log-probability of one target token per logit row, forward and backward:
//
//   out[j] = logits[j, target[j]] - logsumexp(logits[j, :])
//   backward, g[j] = dL/dout[j]:  dlogits[j, v] = g[j] * ([v == target[j]] - softmax(logits[j, :])[v])
//
// Only these values are needed for action scoring, so the full log-softmax is never written.
// Shapes: logits [J, V] f32; targets [J] u32; out [J] f32; g [J] f32; dlogits [J, V] f32.
//
// Entry points: logsoftmax_gather / logsoftmax_gather_backward (one workgroup per row), and
// logsoftmax_gather_rows / logsoftmax_gather_backward_rows (one thread per row, no shared memory and no
// barriers: for small vocabularies, e.g. the micro model's 710, where a barrier costs more than the row's
// arithmetic on a CPU-emulated GPU). kernels/logsoftmax-gather.ts picks by V.
// Variant SUBGROUPS (the device has `subgroups`): the workgroup entry points reduce the row's max and sum with
// subgroup operations, and only the subgroups' totals go through shared memory: two barriers, against
// 2 * (log2(WG) + 1) = 18 for the shared-memory trees (both in include/workgroup_reduce.wgsl). The row max is
// exact either way (max does not depend on order), so only the sum's rounding differs.

//! if SUBGROUPS
enable subgroups;
//! endif

struct Params {
  rows: u32,   // J
  vocab: u32,  // V
}

const WG: u32 = 256u;
alias Reduced = f32;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

//! include "include/workgroup_reduce.wgsl"

//! include "include/common_flat_index.wgsl"

// (max, sum of exp(logit - max)) of the row starting at `base`, in every invocation of the workgroup.
fn row_max_and_sum(base: u32, inv: Invocation) -> vec2<f32> {
  var m = -3.4e38;
  for (var v = inv.lid; v < params.vocab; v += WG) { m = max(m, logits[base + v]); }
  let row_max = workgroup_max(m, inv);
  var sum = 0.0;
  for (var v = inv.lid; v < params.vocab; v += WG) { sum += exp(logits[base + v] - row_max); }
  return vec2<f32>(row_max, workgroup_sum(sum, inv));
}

@compute @workgroup_size(WG)
fn logsoftmax_gather(@builtin(workgroup_id) wid: vec3<u32>, inv: Invocation) {
  let j = wid.x;
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_max_and_sum(base, inv);
  if (inv.lid == 0u) { out[j] = logits[base + targets[j]] - stats.x - log(stats.y); }
}

@compute @workgroup_size(WG)
fn logsoftmax_gather_backward(@builtin(workgroup_id) wid: vec3<u32>, inv: Invocation) {
  let j = wid.x;
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_max_and_sum(base, inv);
  let target_id = targets[j];
  for (var v = inv.lid; v < params.vocab; v += WG) {
    let p = exp(logits[base + v] - stats.x) / stats.y;
    dlogits[base + v] = g[j] * (select(0.0, 1.0, v == target_id) - p);
  }
}

// ---------------------------------------------------------------------------------------------------------
// One thread per row: row j = flat_index(ids, 64u).

fn row_stats_serial(base: u32) -> vec2<f32> {
  var m = -3.4e38;
  for (var v = 0u; v < params.vocab; v++) { m = max(m, logits[base + v]); }
  var sum = 0.0;
  for (var v = 0u; v < params.vocab; v++) { sum += exp(logits[base + v] - m); }
  return vec2<f32>(m, sum);
}

@compute @workgroup_size(64)
fn logsoftmax_gather_rows(ids: FlatIds) {
  let j = flat_index(ids, 64u);
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_stats_serial(base);
  out[j] = logits[base + targets[j]] - stats.x - log(stats.y);
}

@compute @workgroup_size(64)
fn logsoftmax_gather_backward_rows(ids: FlatIds) {
  let j = flat_index(ids, 64u);
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_stats_serial(base);
  let target_id = targets[j];
  let gj = g[j];
  for (var v = 0u; v < params.vocab; v++) {
    let p = exp(logits[base + v] - stats.x) / stats.y;
    dlogits[base + v] = gj * (select(0.0, 1.0, v == target_id) - p);
  }
}
