// Tiled matrix products with an unquantized weight (MLC q0f32 / q0f16), for many rows: matmul_q4_tiled.wgsl's
// two kernels with W read as stored (f32, or f16 pairs packed in u32, low half first; K even then):
//
//   matmul_dense_gemm:             y[t, n] = sum_k x[t, k] * W[n, k]
//   matmul_dense_input_grad_gemm:  dx[t, k] (+)= sum_n dy[t, n] * W[n, k]
//
// Shapes: x [T, K] f32 (any K: read element by element); W [N, K]; y and dy [T, y_stride] f32, this chunk's
// columns from y_col0 (a weight split by rows: matmul_q4.wgsl); dx [T, K] f32. Same tiles, dispatch order,
// splits of the input gradient's sum and f16 variant as the q4 kernels (see there and include/matmul_tile.wgsl).

//! if F16
enable f16;
alias Tile = f16;
//! else
alias Tile = f32;
//! endif

struct Params {
  tokens: u32,       // T: rows of x (forward) or dy (input gradient)
  out_dim: u32,      // N: rows of this chunk of W
  in_dim: u32,       // K
  weight_f16: u32,   // 1: W is packed f16; 0: f32
  y_col0: u32,       // column of y / dy that row 0 of this chunk of W feeds
  y_stride: u32,     // row stride of y / dy: the whole weight's N
  split_rows: u32,   // input gradient: rows of W per split of the sum over n (a multiple of TK)
  split_stride: u32, // input gradient: elements between the splits' outputs (0: a single split writes dx)
  accumulate: u32,   // input gradient: 1 adds into dx instead of overwriting it
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

//! include "include/dense_weight.wgsl"

//! include "include/matmul_tile.wgsl"

// Workgroup (x, y) owns rows t0 = 64 x .. t0 + 63 and columns n0 = 64 y .. n0 + 63 of this chunk.
@compute @workgroup_size(WG)
fn matmul_dense_gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.x * TM;
  let n0 = wid.y * TN;
  let K = params.in_dim;
  let tr = lid / 16u;
  let tc = lid % 16u;
  // Staging of W: column wc, elements k0 + 8 wj .. + 7 (zeros past N and past K).
  let wc = lid / 4u;
  let wj = lid % 4u;
  let wn = n0 + wc;
  for (var k0 = 0u; k0 < K; k0 += TK) {
    for (var i = lid; i < TM * (TK / 4u); i += WG) {
      let m = i / (TK / 4u);
      let kq = i % (TK / 4u);
      var v = vec4<f32>(0.0);
      if (t0 + m < params.tokens) {
        for (var e = 0u; e < 4u; e++) {
          let k = k0 + 4u * kq + e;
          if (k < K) { v[e] = x[(t0 + m) * K + k]; }
        }
      }
      a_tile[slot(m, kq)] = vec4<Tile>(v);
    }
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    if (wn < params.out_dim) {
      for (var e = 0u; e < 4u; e++) {
        let k = k0 + 8u * wj + e;
        if (k < K) { lo[e] = weight(wn * K + k); }
        if (k + 4u < K) { hi[e] = weight(wn * K + k + 4u); }
      }
    }
    b_tile[slot(wc, 2u * wj)] = vec4<Tile>(lo);
    b_tile[slot(wc, 2u * wj + 1u)] = vec4<Tile>(hi);
    workgroupBarrier();
    multiply_tiles(tr, tc);
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let t = t0 + tr + 16u * r;
    if (t < params.tokens) {
      for (var c = 0u; c < 4u; c++) {
        let n = n0 + tc + 16u * c;
        if (n < params.out_dim) { y[t * params.y_stride + params.y_col0 + n] = acc[r][c]; }
      }
    }
  }
}

// Workgroup (x, y, z) owns rows t0 = 64 x .. t0 + 63 and columns k0 = 64 y .. k0 + 63 of dx, summing over rows
// n of W in split z: [z split_rows, min(N, (z + 1) split_rows)).
@compute @workgroup_size(WG)
fn matmul_dense_input_grad_gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.x * TM;
  let k0 = wid.y * TN;
  let K = params.in_dim;
  let N = params.out_dim;
  let tr = lid / 16u;
  let tc = lid % 16u;
  let n_begin = wid.z * params.split_rows;
  let n_end = min(N, n_begin + params.split_rows);
  // Staging of W^T: row wr of the step's 32 rows of W, elements k0 + 8 wj .. + 7 of it.
  let wr = lid / 8u;
  let wj = lid % 8u;
  for (var nb = n_begin; nb < n_end; nb += TK) {
    for (var i = lid; i < TM * (TK / 4u); i += WG) {
      let m = i / (TK / 4u);
      let nq = i % (TK / 4u);
      var v = vec4<f32>(0.0);
      if (t0 + m < params.tokens) {
        let row = (t0 + m) * params.y_stride + params.y_col0;
        for (var e = 0u; e < 4u; e++) {
          let n = nb + 4u * nq + e;
          if (n < n_end) { v[e] = dy[row + n]; }
        }
      }
      a_tile[slot(m, nq)] = vec4<Tile>(v);
    }
    let n = nb + wr;
    for (var e = 0u; e < 8u; e++) {
      let k = k0 + 8u * wj + e;
      var v = 0.0;
      if (n < n_end && k < K) { v = weight(n * K + k); }
      b_tile[slot(8u * wj + e, wr / 4u)][wr % 4u] = Tile(v);
    }
    workgroupBarrier();
    multiply_tiles(tr, tc);
    workgroupBarrier();
  }
  let out0 = wid.z * params.split_stride;
  for (var r = 0u; r < 4u; r++) {
    let t = t0 + tr + 16u * r;
    if (t < params.tokens) {
      for (var c = 0u; c < 4u; c++) {
        let k = k0 + tc + 16u * c;
        if (k < K) {
          let i = out0 + t * K + k;
          var prior = 0.0;
          if (params.accumulate == 1u) { prior = dx[i]; }
          dx[i] = prior + acc[r][c];
        }
      }
    }
  }
}
