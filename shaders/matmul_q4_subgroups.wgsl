// Matrix product with a 4-bit group-quantized weight, split along K and reduced with subgroup operations: the
// product of matmul_q4.wgsl's matmul_q4 (see there for the q4 layout and the dequantization), for devices with
// the `subgroups` feature. Its own file because a module that says `enable subgroups;` does not compile on a
// device without the feature. kernels/linear.ts picks it where the workgroup variant would run (K > 256) and
// the pipeline cache allows subgroups.
//
//   y[t, n] = sum_k x[t, k] * W[n, k],   W[n, k] = (q[n, k] - 7) * scale[n, k / 32]
//
// Shapes: x [T, K] f32 (read as vec4: K is a multiple of 32); q_weight [N, K/8] u32; scales [N, K/32], f32
// or packed f16 pairs; y [T, N] f32. For a weight split by rows, q_weight and scales hold rows
// y_col0 .. y_col0 + out_dim and the chunk writes those columns of y (rows y_stride wide).
//
// Why another tiling: matmul_q4 gives each invocation one output column and a whole row of W, so neighbouring
// invocations read words K/8 apart and the GPU serves each weight load with its own memory transaction. Here
// a workgroup owns COLS columns by TOKENS rows and its invocations split K: invocation i reads q4 words i,
// i + WG, ... of each of the COLS weight rows, so neighbouring invocations read neighbouring words (coalesced,
// what a bandwidth-bound matrix-vector product needs), and keeps a COLS x TOKENS register tile of partial
// sums. The partial sums are then reduced over the workgroup: subgroupAdd within each subgroup, and the
// subgroups' totals through shared memory with one barrier (a shared-memory tree would take log2(WG) + 1
// barriers per output). The backward (dx = dy W, matmul_q4_input_grad) already reads W coalesced and has no
// reduction across invocations, so it has no subgroup variant.

enable subgroups;

struct Params {
  tokens: u32,      // T
  out_dim: u32,     // N
  in_dim: u32,      // K
  scale_f16: u32,   // 1: scales are packed f16 pairs; 0: f32
  accumulate: u32,  // unused here (the backward's flag in matmul_q4.wgsl)
  y_col0: u32,      // column of y that row 0 of this W chunk feeds (a weight split by rows: matmul_q4.wgsl)
  y_stride: u32,    // row stride of y: the whole weight's N
  _pad2: u32,
}

const WG: u32 = 64u;
const TOKENS: u32 = 4u;
const COLS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> q_weight: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

//! include "include/q4_weight.wgsl"

//! include "include/subgroup_tile_reduce.wgsl"

// Workgroup (x, y) owns columns n0 = COLS x .. n0 + 3 and rows t0 = TOKENS y .. t0 + 3. Columns and rows past
// the end are clamped for reading (every invocation takes part in the subgroup operations) and not written.
@compute @workgroup_size(WG)
fn matmul_q4_subgroup(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let n0 = wid.x * COLS;
  let t0 = wid.y * TOKENS;
  let K = params.in_dim;
  let K4 = K / 4u;
  let words_per_row = K / 8u;
  let last_n = params.out_dim - 1u;
  let n = vec4<u32>(min(n0, last_n), min(n0 + 1u, last_n), min(n0 + 2u, last_n), min(n0 + 3u, last_n));
  let last_t = params.tokens - 1u;
  let x0 = min(t0, last_t) * K4;
  let x1 = min(t0 + 1u, last_t) * K4;
  let x2 = min(t0 + 2u, last_t) * K4;
  let x3 = min(t0 + 3u, last_t) * K4;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var wi = lid; wi < words_per_row; wi += WG) {
    let grp = wi / 4u;
    let s = vec4<f32>(group_scale(n.x, grp), group_scale(n.y, grp), group_scale(n.z, grp), group_scale(n.w, grp));
    let words = vec4<u32>(q_weight[n.x * words_per_row + wi], q_weight[n.y * words_per_row + wi], q_weight[n.z * words_per_row + wi], q_weight[n.w * words_per_row + wi]);
    for (var half = 0u; half < 2u; half++) {
      let k4 = wi * 2u + half;
      let w0 = dequant4(words, 4u * half, s);
      let w1 = dequant4(words, 4u * half + 1u, s);
      let w2 = dequant4(words, 4u * half + 2u, s);
      let w3 = dequant4(words, 4u * half + 3u, s);
      let a = x4[x0 + k4];
      acc0 += a.x * w0 + a.y * w1 + a.z * w2 + a.w * w3;
      let b = x4[x1 + k4];
      acc1 += b.x * w0 + b.y * w1 + b.z * w2 + b.w * w3;
      let c = x4[x2 + k4];
      acc2 += c.x * w0 + c.y * w1 + c.z * w2 + c.w * w3;
      let d = x4[x3 + k4];
      acc3 += d.x * w0 + d.y * w1 + d.z * w2 + d.w * w3;
    }
  }
  reduce_and_write(acc0, acc1, acc2, acc3, lid, sid, sg_size, n0, t0);
}
