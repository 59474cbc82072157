// Shared by the subgroup matrix products (matmul.wgsl's matmul_subgroup, matmul_gemv.wgsl), pasted in
// where they say `//! include "include/subgroup_tile_reduce.wgsl"` (gpu/shader-source.ts). Expects from the
// including file: `enable subgroups;`, the constants WG, TOKENS = 4 and COLS = 4, `params.tokens`,
// `params.out_dim` (the rows of this W chunk), `params.y_col0` and `params.y_stride` (where the chunk's columns
// start in y and y's row width: a weight split by rows), and the output `y` [T, N] f32.

// Subgroup totals, [token r][local index] (a vec4 holds the COLS columns).
var<workgroup> part: array<vec4<f32>, 256>; // TOKENS * WG

// The workgroup's sums of a0 .. a3 (one vec4 of COLS columns per token row), finished by the subgroup that
// holds invocation 0, whose invocation v then writes outputs v, v + size, ... Each subgroup adds with
// subgroupAdd; its invocation 0 leaves the totals at its own local index in `part` and the others leave zeros,
// so no subgroup numbering is needed (nothing promises that a subgroup is a run of consecutive local
// indices). After one barrier, invocation i of the finishing subgroup adds slots i, i + size, i + 2 size, ...,
// which covers all WG slots for any subgroup size (4 .. 128), provided each subgroup's invocation ids run
// 0 .. min(size, WG) - 1 (full subgroups, as drivers make them for a power-of-two workgroup size). Only one
// subgroup finishes: on a GPU the others would repeat its work in parallel for nothing, but where subgroups
// run one after another (SwiftShader, on the CPU) they would multiply it by WG / size.
@diagnostic(off, subgroup_uniformity)
fn reduce_and_write(a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, lid: u32, sid: u32, sg_size: u32, n0: u32, t0: u32) {
  let s0 = subgroupAdd(a0);
  let s1 = subgroupAdd(a1);
  let s2 = subgroupAdd(a2);
  let s3 = subgroupAdd(a3);
  let leader = sid == 0u;
  let zero = vec4<f32>(0.0);
  part[lid] = select(zero, s0, leader);
  part[WG + lid] = select(zero, s1, leader);
  part[2u * WG + lid] = select(zero, s2, leader);
  part[3u * WG + lid] = select(zero, s3, leader);
  workgroupBarrier();
  // Subgroup-uniform (subgroupAny is the same in a whole subgroup) but not workgroup-uniform, which is all
  // WGSL's uniformity analysis can see: this function turns its subgroup_uniformity diagnostic off.
  if (subgroupAny(lid == 0u)) {
    var p0 = zero;
    var p1 = zero;
    var p2 = zero;
    var p3 = zero;
    for (var i = sid; i < WG; i += sg_size) {
      p0 += part[i];
      p1 += part[WG + i];
      p2 += part[2u * WG + i];
      p3 += part[3u * WG + i];
    }
    let totals = array<vec4<f32>, 4>(subgroupAdd(p0), subgroupAdd(p1), subgroupAdd(p2), subgroupAdd(p3));
    // Output v: row t0 + v / COLS, column n0 + v % COLS of this chunk (y_col0 + that of y).
    for (var v = sid; v < TOKENS * COLS; v += sg_size) {
      let t = t0 + v / COLS;
      let col = n0 + v % COLS;
      if (t < params.tokens && col < params.out_dim) { y[t * params.y_stride + params.y_col0 + col] = totals[v / COLS][v % COLS]; }
    }
  }
}
