// Matrix-vector product with an unquantized weight (f32, or f16 pairs packed in u32), for 1 to 4 rows of x:
// matmul_q4_gemv.wgsl's tiling (COLS columns per workgroup, K split over its invocations so that neighbouring
// invocations read neighbouring elements, a ROWS x COLS register tile reduced with subgroups or through
// workgroup memory) with W read element by element as stored:
//
//   y[t, n] = sum_k x[t, k] * W[n, k],   t < T <= 4
//
// Shapes: x [T, K] f32 (any K); W [N, K]; y [T, y_stride] f32, this chunk's columns from y_col0. No f16 variant:
// the weights are already in their final precision and the product is bound by reading them, so f16
// arithmetic would only round x.

//! if SUBGROUPS
enable subgroups;
//! endif

struct Params {
  tokens: u32,     // T <= 4
  out_dim: u32,    // N: rows of this chunk of W
  in_dim: u32,     // K
  weight_f16: u32, // 1: W is packed f16; 0: f32
  y_col0: u32,     // column of y that row 0 of this chunk of W feeds
  y_stride: u32,   // row stride of y: the whole weight's N
}

const WG: u32 = 64u;
const TOKENS: u32 = 4u;
const COLS: u32 = 4u;
override ROWS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

//! include "include/dense_weight.wgsl"

//! if SUBGROUPS
//! include "include/subgroup_tile_reduce.wgsl"
//! else
//! include "include/workgroup_tile_reduce.wgsl"
//! endif

@compute @workgroup_size(WG)
fn matmul_dense_gemv(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
//! if SUBGROUPS
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
//! endif
) {
  let n0 = (wid.x + wid.y * nwg.x) * COLS;
  if (n0 >= params.out_dim) { return; }
  let K = params.in_dim;
  let last_n = params.out_dim - 1u;
  let n = vec4<u32>(min(n0, last_n), min(n0 + 1u, last_n), min(n0 + 2u, last_n), min(n0 + 3u, last_n)) * K;
  var acc: array<vec4<f32>, 4>; // [row][column]
  for (var k = lid; k < K; k += WG) {
    let wv = vec4<f32>(weight(n.x + k), weight(n.y + k), weight(n.z + k), weight(n.w + k));
    for (var r = 0u; r < ROWS; r++) { acc[r] += x[min(r, params.tokens - 1u) * K + k] * wv; }
  }
//! if SUBGROUPS
  reduce_and_write(acc[0], acc[1], acc[2], acc[3], lid, sid, sg_size, n0, 0u);
//! else
  reduce_and_write(acc[0], acc[1], acc[2], acc[3], lid, n0, 0u);
//! endif
}
