// RMSNorm, forward and backward, with the row's reduction done by subgroup operations: the same functions as
// rmsnorm.wgsl's rmsnorm_forward and rmsnorm_backward (see there for the math; one workgroup per row), for
// devices with the `subgroups` feature. Its own file because a module that says `enable subgroups;` does not
// compile on a device without the feature. kernels/rmsnorm.ts and backward-ops.ts pick these where the
// workgroup variant would run (D > 256) and the pipeline cache allows subgroups (PipelineCache.subgroups).
//
//   y[t, d] = x[t, d] * r[t] * weight[d],   r[t] = rsqrt(mean_d(x[t, :]^2) + eps)
//   dx[t, d] (+)= r * w[d] * dy[t, d] - x[t, d] * r^3 / D * sum_e dy[t, e] * w[e] * x[t, e]
//
// Shapes: x [T, D] f32, weight [D] f32, y [T, D] f32, rstd [T] f32 (kept for the backward); dy, dx [T, D].
// Why: the shared-memory tree of rmsnorm.wgsl takes log2(WG) + 1 = 7 workgroup barriers per row; here a
// subgroup adds its invocations' partial sums in registers and only the subgroups' totals go through shared
// memory: one barrier per row.

enable subgroups;

struct Params {
  rows: u32,   // T
  dim: u32,    // D
  eps: f32,
  _pad: u32,   // backward: 1 adds into dx instead of overwriting it
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;

var<workgroup> part: array<f32, WG>;

// The sum of v over the workgroup, returned to every invocation; at most one call per kernel (a second one
// would overwrite `part` while other subgroups may still read it). Each subgroup adds its values with
// subgroupAdd; its invocation 0 leaves that total at its own local index in `part` and every other invocation
// leaves 0 there, so no subgroup numbering is needed (WGSL has none without the `subgroup_id` extension, and
// nothing promises that a subgroup is a run of consecutive local indices). After one barrier, invocation i of
// each subgroup adds part[i], part[i + size], part[i + 2 size], ...: each subgroup covers all WG slots and
// gets the whole total, for any subgroup size (4 .. 128) and any grouping of invocations into subgroups,
// provided each subgroup's invocation ids run 0 .. min(size, WG) - 1 (full subgroups, as every driver makes
// them for a power-of-two workgroup size).
fn workgroup_sum(v: f32, lid: u32, sid: u32, sg_size: u32) -> f32 {
  let s = subgroupAdd(v);
  part[lid] = select(0.0, s, sid == 0u);
  workgroupBarrier();
  var acc = 0.0;
  for (var i = sid; i < WG; i += sg_size) { acc += part[i]; }
  return subgroupAdd(acc);
}

@compute @workgroup_size(WG)
fn rmsnorm_forward_subgroup(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let t = wid.x;
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var sum_sq = 0.0;
  for (var d = lid; d < params.dim; d += WG) {
    let v = x[base + d];
    sum_sq += v * v;
  }
  let r = inverseSqrt(workgroup_sum(sum_sq, lid, sid, sg_size) / f32(params.dim) + params.eps);
  if (lid == 0u) { rstd[t] = r; }
  for (var d = lid; d < params.dim; d += WG) {
    y[base + d] = x[base + d] * r * weight[d];
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward_subgroup(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let t = wid.x;
  if (t >= params.rows) { return; }
  let base = t * params.dim;
  var dot = 0.0;
  for (var d = lid; d < params.dim; d += WG) { dot += dy[base + d] * weight[d] * x[base + d]; }
  let r = rstd_in[t];
  let c = workgroup_sum(dot, lid, sid, sg_size) * r * r * r / f32(params.dim);
  let accumulate = params._pad == 1u;
  for (var d = lid; d < params.dim; d += WG) {
    var prior = 0.0;
    if (accumulate) { prior = dx[base + d]; }
    dx[base + d] = prior + r * weight[d] * dy[base + d] - x[base + d] * c;
  }
}
