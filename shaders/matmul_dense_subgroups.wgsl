// Matrix product with an unquantized weight, split along K and reduced with subgroup operations: the product
// of matmul_dense.wgsl's matmul_dense (see there for the weight formats), for devices with the `subgroups`
// feature. Its own file because a module that says `enable subgroups;` does not compile on a device without
// the feature. kernels/linear.ts picks it where the workgroup variant would run (K > 256) and the pipeline
// cache allows subgroups.
//
//   y[t, n] = sum_k x[t, k] * W[n, k]
//
// Shapes: x [T, K] f32; W [N, K] as f32 bits, or as f16 pairs packed in u32 (low half first, K even); y [T, N].
// For a weight split by rows, w holds rows y_col0 .. y_col0 + out_dim and the chunk writes those columns of y
// (rows y_stride wide).
//
// Why another tiling (as matmul_q4_subgroups.wgsl): matmul_dense gives each invocation one output column and
// a whole row of W, so neighbouring invocations read elements K apart. Here a workgroup owns COLS columns by
// TOKENS rows and its invocations split K (invocation i reads k = i, i + WG, ...: neighbouring invocations,
// neighbouring elements), each keeping a COLS x TOKENS register tile of partial sums, reduced over the
// workgroup with subgroupAdd and one shared-memory barrier. The backward (matmul_dense_input_grad) already
// reads W coalesced and has no reduction across invocations, so it has no subgroup variant.

enable subgroups;

struct Params {
  tokens: u32,     // T
  out_dim: u32,    // N
  in_dim: u32,     // K
  weight_f16: u32, // 1: W is packed f16; 0: f32
  accumulate: u32, // unused here (the backward's flag in matmul_dense.wgsl)
  y_col0: u32,     // column of y that row 0 of this W chunk feeds (a weight split by rows: matmul_dense.wgsl)
  y_stride: u32,   // row stride of y: the whole weight's N
  _pad2: u32,
}

const WG: u32 = 64u;
const TOKENS: u32 = 4u;
const COLS: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

//! include "include/dense_weight.wgsl"

//! include "include/subgroup_tile_reduce.wgsl"

// Workgroup (x, y) owns columns n0 = COLS x .. n0 + 3 and rows t0 = TOKENS y .. t0 + 3. Columns and rows past
// the end are clamped for reading (every invocation takes part in the subgroup operations) and not written.
@compute @workgroup_size(WG)
fn matmul_dense_subgroup(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let n0 = wid.x * COLS;
  let t0 = wid.y * TOKENS;
  let K = params.in_dim;
  let last_n = params.out_dim - 1u;
  let n = vec4<u32>(min(n0, last_n), min(n0 + 1u, last_n), min(n0 + 2u, last_n), min(n0 + 3u, last_n)) * K;
  let last_t = params.tokens - 1u;
  let x0 = min(t0, last_t) * K;
  let x1 = min(t0 + 1u, last_t) * K;
  let x2 = min(t0 + 2u, last_t) * K;
  let x3 = min(t0 + 3u, last_t) * K;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = lid; k < K; k += WG) {
    let wv = vec4<f32>(weight(n.x + k), weight(n.y + k), weight(n.z + k), weight(n.w + k));
    acc0 += x[x0 + k] * wv;
    acc1 += x[x1 + k] * wv;
    acc2 += x[x2 + k] * wv;
    acc3 += x[x3 + k] * wv;
  }
  reduce_and_write(acc0, acc1, acc2, acc3, lid, sid, sg_size, n0, t0);
}
