// Matrix-vector product for 1 to 4 rows of x (one token; a few parallel environments), where every weight byte
// is used by at most 4 rows and the product is bound by memory bandwidth, for a 4-bit group-quantized weight
// (Q4) or an unquantized one (f32, or f16 pairs packed in u32), one source for both:
//
//   y[t, n] = sum_k x[t, k] * W[n, k],   t < T <= 4;   Q4: W[n, k] = (q[n, k] - 7) * scale[n, k / 32]
//
// Shapes as matmul_tiled.wgsl: y [T, y_stride] f32, this chunk's columns from y_col0 (a weight split by rows).
//   Q4: x [T, K] f32 read as vec4 (K a multiple of 32); q_weight [N, K/8] u32, read here as vec4<u32> (one vec4
//       = the 32 nibbles of one quantization group, so one scale per load); scales [N, K/32], f32 or f16 pairs.
//   otherwise: x [T, K] f32 (any K); W [N, K] read element by element as stored.
//
// A workgroup owns COLS = 4 columns; its WG invocations split K: invocation i reads groups (Q4) or elements i,
// i + WG, ... of each column's row, so a subgroup's loads are one contiguous run (each byte of W read once,
// coalesced). Each invocation keeps a ROWS x COLS register tile of partial sums (Q4: per group, the 32 products
// summed, then scaled once), and the workgroup reduces it: with subgroupAdd and one barrier where the device has
// subgroups (SUBGROUPS: include/subgroup_tile_reduce.wgsl), else through workgroup memory with one barrier
// (include/workgroup_tile_reduce.wgsl). ROWS (an override constant: one pipeline per row count) keeps a
// one-token product from doing four rows' arithmetic. F16 (Q4 only: kernels/linear.ts never asks for it with an
// unquantized weight, which is already in its final precision, so f16 arithmetic would only round x): weights
// dequantized to f16 and x rounded to f16, the 32 products of a group summed in f16, everything after in f32 (as
// include/matmul_tile.wgsl). Workgroups fold into two dimensions past 65535 (a 262k vocabulary):
// block = wid.x + wid.y * nwg.x.

//! if SUBGROUPS
enable subgroups;
//! endif
//! if F16
enable f16;
alias Tile = f16;
//! else
alias Tile = f32;
//! endif

struct Params {
  tokens: u32,     // T <= 4
  out_dim: u32,    // N: rows of this chunk of W
  in_dim: u32,     // K
//! if Q4
  scale_f16: u32,  // 1: scales are packed f16 pairs; 0: f32
//! else
  weight_f16: u32, // 1: W is packed f16; 0: f32
//! endif
  y_col0: u32,     // column of y that row 0 of this chunk of W feeds
  y_stride: u32,   // row stride of y: the whole weight's N
}

const WG: u32 = 64u;
const TOKENS: u32 = 4u;
const COLS: u32 = 4u;
override ROWS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

//! if SUBGROUPS
//! include "include/subgroup_tile_reduce.wgsl"
//! else
//! include "include/workgroup_tile_reduce.wgsl"
//! endif

//! if Q4
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> q_weight: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;

//! include "include/q4_weight.wgsl"

const SHIFTS_LO = vec4<u32>(0u, 4u, 8u, 12u);
const SHIFTS_HI = vec4<u32>(16u, 20u, 24u, 28u);

// This invocation's partial sums [row][column] over its groups g = lid, lid + WG, ... of the rows n of W.
fn partial_sums(n: vec4<u32>, lid: u32) -> array<vec4<f32>, 4> {
  let K4 = params.in_dim / 4u;
  let groups = params.in_dim / 32u;
  var acc: array<vec4<f32>, 4>; // [row][column]
  for (var g = lid; g < groups; g += WG) {
    let words = array<vec4<u32>, 4>(
      q_weight[n.x * groups + g],
      q_weight[n.y * groups + g],
      q_weight[n.z * groups + g],
      q_weight[n.w * groups + g],
    );
    let s = vec4<f32>(group_scale(n.x, g), group_scale(n.y, g), group_scale(n.z, g), group_scale(n.w, g));
    // [row][column]: this group's 32 products, unscaled. Initialized explicitly: lavapipe kept the previous
    // iteration's values in a loop-scoped var declared without an initializer (K > 32 WG came out wrong).
    var group_sum = array<vec4<Tile>, 4>();
    for (var j = 0u; j < 4u; j++) {
      var lo: array<vec4<Tile>, 4>;
      var hi: array<vec4<Tile>, 4>;
      for (var r = 0u; r < ROWS; r++) {
        let base = min(r, params.tokens - 1u) * K4 + 8u * g + 2u * j;
        lo[r] = vec4<Tile>(x4[base]);
        hi[r] = vec4<Tile>(x4[base + 1u]);
      }
      for (var c = 0u; c < COLS; c++) {
        let word = vec4<u32>(words[c][j]);
        let w_lo = vec4<Tile>((word >> SHIFTS_LO) & vec4<u32>(0xFu)) - vec4<Tile>(7.0);
        let w_hi = vec4<Tile>((word >> SHIFTS_HI) & vec4<u32>(0xFu)) - vec4<Tile>(7.0);
        for (var r = 0u; r < ROWS; r++) { group_sum[r][c] += dot(lo[r], w_lo) + dot(hi[r], w_hi); }
      }
    }
    for (var r = 0u; r < ROWS; r++) { acc[r] += vec4<f32>(group_sum[r]) * s; }
  }
  return acc;
}
//! else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;

//! include "include/dense_weight.wgsl"

// This invocation's partial sums [row][column] over its elements k = lid, lid + WG, ... of the rows n of W.
fn partial_sums(n: vec4<u32>, lid: u32) -> array<vec4<f32>, 4> {
  let K = params.in_dim;
  let rows = n * K;
  var acc: array<vec4<f32>, 4>; // [row][column]
  for (var k = lid; k < K; k += WG) {
    let wv = vec4<f32>(weight(rows.x + k), weight(rows.y + k), weight(rows.z + k), weight(rows.w + k));
    for (var r = 0u; r < ROWS; r++) { acc[r] += x[min(r, params.tokens - 1u) * K + k] * wv; }
  }
  return acc;
}
//! endif

@compute @workgroup_size(WG)
fn matmul_gemv(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
//! if SUBGROUPS
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
//! endif
) {
  let n0 = (wid.x + wid.y * nwg.x) * COLS;
  if (n0 >= params.out_dim) { return; } // the last row of a folded grid: the whole workgroup leaves
  // Columns past the end are clamped for reading (every invocation takes part in the reduction), not written.
  let last_n = params.out_dim - 1u;
  let n = vec4<u32>(min(n0, last_n), min(n0 + 1u, last_n), min(n0 + 2u, last_n), min(n0 + 3u, last_n));
  let acc = partial_sums(n, lid);
//! if SUBGROUPS
  reduce_and_write(acc[0], acc[1], acc[2], acc[3], lid, sid, sg_size, n0, 0u);
//! else
  reduce_and_write(acc[0], acc[1], acc[2], acc[3], lid, n0, 0u);
//! endif
}
