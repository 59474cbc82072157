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
// 2 * (log2(WG) + 2) = 20 for the shared-memory trees. The row max is exact either way (max does not depend on
// order), so only the sum's rounding differs.

//! if SUBGROUPS
enable subgroups;
//! endif

struct Params {
  rows: u32,   // J
  vocab: u32,  // V
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

//! if SUBGROUPS
// One array per reduction, so the sum never overwrites slots another subgroup is still reading for the max.
var<workgroup> part_max: array<f32, WG>;
var<workgroup> part_sum: array<f32, WG>;

// Workgroup max and sum through subgroups, returned to every invocation. Each subgroup reduces with
// subgroupMax / subgroupAdd; its invocation 0 leaves the result at its own local index and the others leave
// the identity, so no subgroup numbering is needed (nothing promises that a subgroup is a run of consecutive
// local indices). After one barrier, invocation i of each subgroup folds slots i, i + size, i + 2 size, ...,
// so each subgroup covers all WG slots and gets the whole result, for any subgroup size (4 .. 128), provided
// each subgroup's invocation ids run 0 .. min(size, WG) - 1 (full subgroups, as every driver makes them for a
// power-of-two workgroup size).
fn workgroup_max(v: f32, lid: u32, sid: u32, sg_size: u32) -> f32 {
  let m = subgroupMax(v);
  part_max[lid] = select(-3.4e38, m, sid == 0u);
  workgroupBarrier();
  var acc = -3.4e38;
  for (var i = sid; i < WG; i += sg_size) { acc = max(acc, part_max[i]); }
  return subgroupMax(acc);
}

fn workgroup_sum(v: f32, lid: u32, sid: u32, sg_size: u32) -> f32 {
  let s = subgroupAdd(v);
  part_sum[lid] = select(0.0, s, sid == 0u);
  workgroupBarrier();
  var acc = 0.0;
  for (var i = sid; i < WG; i += sg_size) { acc += part_sum[i]; }
  return subgroupAdd(acc);
}
//! else
var<workgroup> red: array<f32, WG>;

// Workgroup max and sum through shared-memory trees, returned to every invocation (sid and sg_size are unused:
// the signatures are the subgroup variant's). Each ends with a barrier, so `red` is free for the next one.
fn workgroup_max(v: f32, lid: u32, sid: u32, sg_size: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let result = red[0];
  workgroupBarrier();
  return result;
}

fn workgroup_sum(v: f32, lid: u32, sid: u32, sg_size: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s /= 2u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let result = red[0];
  workgroupBarrier();
  return result;
}
//! endif

// (max, sum of exp(logit - max)) of the row starting at `base`, in every invocation of the workgroup.
fn row_max_and_sum(base: u32, lid: u32, sid: u32, sg_size: u32) -> vec2<f32> {
  var m = -3.4e38;
  for (var v = lid; v < params.vocab; v += WG) { m = max(m, logits[base + v]); }
  let row_max = workgroup_max(m, lid, sid, sg_size);
  var sum = 0.0;
  for (var v = lid; v < params.vocab; v += WG) { sum += exp(logits[base + v] - row_max); }
  return vec2<f32>(row_max, workgroup_sum(sum, lid, sid, sg_size));
}

@compute @workgroup_size(WG)
fn logsoftmax_gather(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
//! if SUBGROUPS
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
//! else
) {
  let sid = 0u;
  let sg_size = 1u;
//! endif
  let j = wid.x;
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_max_and_sum(base, lid, sid, sg_size);
  if (lid == 0u) { out[j] = logits[base + targets[j]] - stats.x - log(stats.y); }
}

@compute @workgroup_size(WG)
fn logsoftmax_gather_backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
//! if SUBGROUPS
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
//! else
) {
  let sid = 0u;
  let sg_size = 1u;
//! endif
  let j = wid.x;
  if (j >= params.rows) { return; }
  let base = j * params.vocab;
  let stats = row_max_and_sum(base, lid, sid, sg_size);
  let target_id = targets[j];
  for (var v = lid; v < params.vocab; v += WG) {
    let p = exp(logits[base + v] - stats.x) / stats.y;
    dlogits[base + v] = g[j] * (select(0.0, 1.0, v == target_id) - p);
  }
}

// ---------------------------------------------------------------------------------------------------------
// One thread per row. Rows fold: j = gid.x + gid.y * nwg.x * 64.

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
