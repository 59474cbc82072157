// Matrix product with an unquantized weight (MLC q0f32 / q0f16): y[t, n] = sum_k x[t, k] * W[n, k].
//
// Shapes: x [T, K] f32; W [N, K] as f32 bits, or as f16 pairs packed in u32 (low half first, K even;
// unpack2x16float needs no shader-f16); y [T, N] f32. Same tiling as matmul_q4.wgsl: 64 output columns by
// TOKENS rows per workgroup, x staged in shared memory along K.
//
// Row chunks (as matmul_q4.wgsl): for a weight split by rows into several buffers, w holds rows
// y_col0 .. y_col0 + out_dim of W and the chunk writes columns y_col0 + n of y, whose rows are y_stride wide.

struct Params {
  tokens: u32,     // T
  out_dim: u32,    // N
  in_dim: u32,     // K
  weight_f16: u32, // 1: W is packed f16; 0: f32
  accumulate: u32, // backward only: 1 adds into dx instead of overwriting it
  y_col0: u32,     // column of y (forward) or dy (backward) that row 0 of this W chunk feeds
  y_stride: u32,   // row stride of y / dy: the whole weight's N (= out_dim unless W is split by rows)
  _pad2: u32,
}

const WG: u32 = 64u;
const TOKENS: u32 = 4u;
const CHUNK: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> x_tile: array<f32, 1024>; // TOKENS * CHUNK

//! include "include/dense_weight.wgsl"

@compute @workgroup_size(WG)
fn matmul_dense(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x * WG + lid;
  let t0 = wid.y * TOKENS;
  let K = params.in_dim;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);

  for (var k0 = 0u; k0 < K; k0 += CHUNK) {
    let len = min(CHUNK, K - k0);
    for (var i = lid; i < TOKENS * CHUNK; i += WG) {
      let r = i / CHUNK;
      let c = i % CHUNK;
      let t = t0 + r;
      var v = 0.0;
      if (t < params.tokens && c < len) { v = x[t * K + k0 + c]; }
      x_tile[i] = v;
    }
    workgroupBarrier();
    if (n < params.out_dim) {
      for (var c = 0u; c < len; c++) {
        let wv = weight(n * K + k0 + c);
        for (var r = 0u; r < TOKENS; r++) { acc[r] += x_tile[r * CHUNK + c] * wv; }
      }
    }
    workgroupBarrier();
  }

  if (n < params.out_dim) {
    for (var r = 0u; r < TOKENS; r++) {
      let t = t0 + r;
      if (t < params.tokens) { y[t * params.y_stride + params.y_col0 + n] = acc[r]; }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Backward: the input gradient through the frozen weight. The forward computed y[t, n] = sum_k x[t, k] W[n, k];
//
//   dx[t, k] (+)= sum_n dy[t, n] * W[n, k]
//
// Shapes: dy [T, N] f32; dx [T, K] f32. For a row chunk of W the sum runs over its rows only (dy read at
// columns y_col0 + n of rows y_stride wide) and the chunks after the first accumulate. A thread owns one column k and walks down the rows of W as stored.

const CHUNK_N: u32 = 256u;

@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

var<workgroup> dy_tile: array<f32, 1024>; // TOKENS * CHUNK_N

@compute @workgroup_size(WG)
fn matmul_dense_input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let k = wid.x * WG + lid;
  let t0 = wid.y * TOKENS;
  let N = params.out_dim;
  let K = params.in_dim;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var n0 = 0u; n0 < N; n0 += CHUNK_N) {
    let len = min(CHUNK_N, N - n0);
    for (var i = lid; i < TOKENS * CHUNK_N; i += WG) {
      let r = i / CHUNK_N;
      let c = i % CHUNK_N;
      let t = t0 + r;
      var v = 0.0;
      if (t < params.tokens && c < len) { v = dy[t * params.y_stride + params.y_col0 + n0 + c]; }
      dy_tile[i] = v;
    }
    workgroupBarrier();
    if (k < K) {
      for (var c = 0u; c < len; c++) {
        let wv = weight((n0 + c) * K + k);
        for (var r = 0u; r < TOKENS; r++) { acc[r] += dy_tile[r * CHUNK_N + c] * wv; }
      }
    }
    workgroupBarrier();
  }
  if (k < K) {
    for (var r = 0u; r < TOKENS; r++) {
      let t = t0 + r;
      if (t < params.tokens) {
        let i = t * K + k;
        var prior = 0.0;
        if (params.accumulate == 1u) { prior = dx[i]; }
        dx[i] = prior + acc[r];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Thread variants for small K (small models): no shared memory and no barriers, each invocation owns a
// register tile (TOKENS rows by 4 columns forward; TOKENS rows by one column k for the input gradient) and
// reads its inputs itself. On a CPU-emulated GPU (SwiftShader) these are several times faster than the tiled
// kernels at these sizes; kernels/linear.ts picks by K. i = gid.x + gid.y * nwg.x * WG.

@compute @workgroup_size(WG)
fn matmul_dense_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let col_blocks = (params.out_dim + 3u) / 4u;
  let n0 = (i % col_blocks) * 4u;
  let t0 = (i / col_blocks) * TOKENS;
  if (t0 >= params.tokens) { return; }
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
  for (var k = 0u; k < K; k++) {
    let wv = vec4<f32>(weight(n.x + k), weight(n.y + k), weight(n.z + k), weight(n.w + k));
    acc0 += x[x0 + k] * wv;
    acc1 += x[x1 + k] * wv;
    acc2 += x[x2 + k] * wv;
    acc3 += x[x3 + k] * wv;
  }
  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0u; r < TOKENS; r++) {
    let t = t0 + r;
    if (t < params.tokens) {
      for (var c = 0u; c < 4u; c++) {
        if (n0 + c < params.out_dim) { y[t * params.y_stride + params.y_col0 + n0 + c] = accs[r][c]; }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn matmul_dense_input_grad_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let K = params.in_dim;
  let k = i % K;
  let t0 = (i / K) * TOKENS;
  if (t0 >= params.tokens) { return; }
  let N = params.out_dim;
  let last_t = params.tokens - 1u;
  // dy row starts, shifted to this chunk's columns.
  let d = vec4<u32>(min(t0, last_t), min(t0 + 1u, last_t), min(t0 + 2u, last_t), min(t0 + 3u, last_t)) * params.y_stride + vec4<u32>(params.y_col0);
  var acc = vec4<f32>(0.0);
  for (var n = 0u; n < N; n++) {
    let wv = weight(n * K + k);
    acc += vec4<f32>(dy[d.x + n], dy[d.y + n], dy[d.z + n], dy[d.w + n]) * wv;
  }
  for (var r = 0u; r < TOKENS; r++) {
    let t = t0 + r;
    if (t < params.tokens) {
      let j = t * K + k;
      var prior = 0.0;
      if (params.accumulate == 1u) { prior = dx[j]; }
      dx[j] = prior + acc[r];
    }
  }
}
