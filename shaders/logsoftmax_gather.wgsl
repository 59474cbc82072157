// Log-probability of one target token per logit row: out[j] = logits[j, target[j]] - logsumexp(logits[j, :]).
// Only these values are needed for action scoring, so the full log-softmax is never written.
// Shapes: logits [J, V] f32; targets [J] u32; out [J] f32. One workgroup per row.

struct Params {
  rows: u32,   // J
  vocab: u32,  // V
  _pad0: u32,
  _pad1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, WG>;

// (max, sum of exp(logit - max)) of row j, reduced over the workgroup; every thread gets the result.
fn row_max_and_sum(base: u32, lid: u32) -> vec2<f32> {
  var m = -3.4e38;
  for (var v = lid; v < params.vocab; v += WG) { m = max(m, logits[base + v]); }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let row_max = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var v = lid; v < params.vocab; v += WG) { sum += exp(logits[base + v] - row_max); }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return vec2<f32>(row_max, total);
}

@compute @workgroup_size(WG)
fn logsoftmax_gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x;
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_max_and_sum(base, lid);
  if (lid == 0u) { out[j] = logits[base + targets[j]] - stats.x - log(stats.y); }
}

// ---------------------------------------------------------------------------------------------------------
// Backward. The forward computed out[j] = logits[j, target] - logsumexp(logits[j, :]); so with g[j] = dL/dout[j]
//   dlogits[j, v] = g[j] * ([v == target[j]] - softmax(logits[j, :])[v])
// Shapes: logits [J, V] (kept from the forward), g [J] -> dlogits [J, V].

@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

@compute @workgroup_size(WG)
fn logsoftmax_gather_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wid.x;
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_max_and_sum(base, lid);
  let target_id = targets[j];
  for (var v = lid; v < params.vocab; v += WG) {
    let p = exp(logits[base + v] - stats.x) / stats.y;
    dlogits[base + v] = g[j] * (select(0.0, 1.0, v == target_id) - p);
  }
}

// ---------------------------------------------------------------------------------------------------------
// One thread per row, no shared memory and no barriers: the same two functions for small vocabularies (the
// micro model's 710), where a barrier costs more than the row's arithmetic on a CPU-emulated GPU (SwiftShader).
// kernels/forward-ops.ts and backward-ops.ts pick by V. Rows fold: j = gid.x + gid.y * nwg.x * 64.

fn row_stats_serial(base: u32) -> vec2<f32> {
  var m = -3.4e38;
  for (var v = 0u; v < params.vocab; v++) { m = max(m, logits[base + v]); }
  var sum = 0.0;
  for (var v = 0u; v < params.vocab; v++) { sum += exp(logits[base + v] - m); }
  return vec2<f32>(m, sum);
}

@compute @workgroup_size(64)
fn logsoftmax_gather_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_stats_serial(base);
  out[j] = logits[base + targets[j]] - stats.x - log(stats.y);
}

@compute @workgroup_size(64)
fn logsoftmax_gather_backward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let j = gid.x + gid.y * nwg.x * 64u;
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
