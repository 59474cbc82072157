// The element (or row) index of a kernel with one invocation per element, pasted in where a shader says
// `//! include "include/common_flat_index.wgsl"` (gpu/shader-source.ts). elementwiseWorkgroups (gpu/kernel.ts)
// folds a grid of more than 65,535 workgroups into two dimensions, so the invocation with global id gid owns
// element gid.x + gid.y * nwg.x * wg, for workgroups of wg invocations. Such an entry point takes one `FlatIds`
// parameter (its builtins) and hands it to flat_index.

struct FlatIds {
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
}

fn flat_index(ids: FlatIds, wg: u32) -> u32 {
  return ids.gid.x + ids.gid.y * ids.nwg.x * wg;
}
