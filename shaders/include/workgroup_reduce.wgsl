// Workgroup reductions, shared by the kernels that reduce a row or a tensor in one workgroup (rmsnorm.wgsl,
// logsoftmax_gather.wgsl, grad_norm.wgsl, value_loss.wgsl, kl_rows.wgsl), pasted in where they say
// `//! include "include/workgroup_reduce.wgsl"` (gpu/shader-source.ts). Expects from the including file the
// constant WG (the workgroup size, a power of two), the type alias Reduced (f32, or a vector of f32 to reduce
// several values at once, component by component: `alias Reduced = f32;`) and, for the SUBGROUPS variant,
// `enable subgroups;`.
//
// An entry point that reduces takes one `Invocation` parameter (its builtins) and hands it on; it takes
// workgroup_id as a parameter of its own, since WGSL's uniformity analysis sees a struct parameter as one value
// and would count workgroup_id, as a member, non-uniform as lid is. Both functions
// return the result to every invocation. Each has its own shared array and neither ends with a barrier, so a
// kernel calls each once, or puts a workgroupBarrier() between two calls of one (the second would otherwise
// overwrite slots other invocations may still be reading).
//   SUBGROUPS  each subgroup reduces in registers and only the subgroups' totals go through shared memory: one
//              barrier per reduction.
//   otherwise  a shared-memory tree: log2(WG) + 1 barriers per reduction.

struct Invocation {
  @builtin(local_invocation_index) lid: u32,
//! if SUBGROUPS
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
//! endif
}

// One array per reduction, so a sum never overwrites slots another invocation is still reading for a max.
var<workgroup> part_max: array<Reduced, WG>;
var<workgroup> part_sum: array<Reduced, WG>;

//! if SUBGROUPS
// Each subgroup reduces with subgroupMax / subgroupAdd; its invocation 0 leaves the result at its own local
// index and the others leave the identity, so no subgroup numbering is needed (WGSL has none without the
// `subgroup_id` extension, and nothing promises that a subgroup is a run of consecutive local indices). After
// one barrier, invocation i of each subgroup folds slots i, i + size, i + 2 size, ..., so each subgroup covers
// all WG slots and gets the whole result, for any subgroup size (4 .. 128), provided each subgroup's invocation
// ids run 0 .. min(size, WG) - 1 (full subgroups, as every driver makes them for a power-of-two workgroup
// size).
fn workgroup_max(v: Reduced, inv: Invocation) -> Reduced {
  let m = subgroupMax(v);
  part_max[inv.lid] = select(Reduced(-3.4e38), m, inv.sid == 0u);
  workgroupBarrier();
  var acc = Reduced(-3.4e38);
  for (var i = inv.sid; i < WG; i += inv.sg_size) { acc = max(acc, part_max[i]); }
  return subgroupMax(acc);
}

fn workgroup_sum(v: Reduced, inv: Invocation) -> Reduced {
  let s = subgroupAdd(v);
  part_sum[inv.lid] = select(Reduced(0.0), s, inv.sid == 0u);
  workgroupBarrier();
  var acc = Reduced(0.0);
  for (var i = inv.sid; i < WG; i += inv.sg_size) { acc += part_sum[i]; }
  return subgroupAdd(acc);
}
//! else
// Shared-memory trees: slot lid folds in slot lid + stride for stride = WG / 2, WG / 4, ..., 1. (inv.sid and
// inv.sg_size do not exist in this variant.)
fn workgroup_max(v: Reduced, inv: Invocation) -> Reduced {
  part_max[inv.lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (inv.lid < stride) { part_max[inv.lid] = max(part_max[inv.lid], part_max[inv.lid + stride]); }
    workgroupBarrier();
  }
  return part_max[0];
}

fn workgroup_sum(v: Reduced, inv: Invocation) -> Reduced {
  part_sum[inv.lid] = v;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (inv.lid < stride) { part_sum[inv.lid] += part_sum[inv.lid + stride]; }
    workgroupBarrier();
  }
  return part_sum[0];
}
//! endif
