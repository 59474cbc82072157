// Tiled matrix products for many rows (prefill, batched actions, training): the forward and the input gradient
// through the frozen weight, for a 4-bit group-quantized weight (Q4: MLC q4f16_1 / q4f32_1) or an unquantized one
// (MLC q0f32 / q0f16), one source for both (the weight's reading is the only difference):
//
//   matmul_gemm:             y[t, n] = sum_k x[t, k] * W[n, k]
//   matmul_input_grad_gemm:  dx[t, k] (+)= sum_n dy[t, n] * W[n, k]
//   Q4: W[n, k] = (q[n, k] - 7) * scale[n, k / 32]
//
// Shapes: x [T, K] f32; y and dy [T, y_stride] f32, this chunk's columns from y_col0; dx [T, K] f32.
//   Q4: x read as vec4 (K is a multiple of 32); q_weight [N, K/8] u32 (element k of a row is nibble k % 8 of
//       word k / 8, low nibble first); scales [N, K/32], f32 or f16 pairs (low half first).
//   otherwise: x read element by element (any K); W [N, K] as f32, or f16 pairs packed in u32 (low half first;
//       K even then).
//
// Row chunks (as matmul.wgsl): a weight larger than one binding comes as buffers of consecutive rows, one
// dispatch each; the weight buffers then hold rows y_col0 .. y_col0 + out_dim of W.
//
// Tiling (include/matmul_tile.wgsl): a workgroup owns 64 rows x 64 columns of the output and dequantizes each
// 32-wide slice of its weight tile once into workgroup memory for all 64 rows, so a pass over T rows reads the
// weight ceil(T / 64) times (the legacy kernel: ceil(T / 4)). Workgroups that share a weight tile are neighbours
// in dispatch order (x: row tiles, y: weight tiles), so the re-reads of a tile mostly hit the cache.
//
// Input gradient: the same product with W^T as the right operand: the output tile is 64 rows x 64 columns k,
// the sum runs over n. Long sums (the lm_head's: a whole vocabulary) are split into `splits` ranges of
// split_rows rows of W, one per workgroup z, written to their own slices of dx (split_stride apart) and summed
// by matmul_partial_sum.wgsl, so a vocabulary-long sum does not serialize in a few dozen workgroups.
//
// F16 (adapters with shader-f16): the tiles hold f16 (weights dequantized to f16, x and dy rounded to f16), the
// products are summed in f16 per 32-wide step and in f32 across steps (multiply_tiles says why).

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
//! if Q4
  scale_f16: u32,    // 1: scales are packed f16 pairs; 0: f32
//! else
  weight_f16: u32,   // 1: W is packed f16; 0: f32
//! endif
  y_col0: u32,       // column of y / dy that row 0 of this chunk of W feeds
  y_stride: u32,     // row stride of y / dy: the whole weight's N
  split_rows: u32,   // input gradient: rows of W per split of the sum over n (a multiple of TK)
  split_stride: u32, // input gradient: elements between the splits' outputs (0: a single split writes dx)
  accumulate: u32,   // input gradient: 1 adds into dx instead of overwriting it
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

// W[n, k .. k + 7] as tile values (weight_octet): elements k .. k + 3 and k + 4 .. k + 7.
struct Octet {
  lo: vec4<Tile>,
  hi: vec4<Tile>,
}

//! include "include/matmul_tile.wgsl"

//! if Q4
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> q_weight: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;

//! include "include/q4_weight.wgsl"

// x[t, k .. k + 3] (k a multiple of 4, below K).
fn x_quad(t: u32, k: u32) -> vec4<f32> {
  return x4[(t * params.in_dim + k) / 4u];
}

const SHIFTS_LO = vec4<u32>(0u, 4u, 8u, 12u);
const SHIFTS_HI = vec4<u32>(16u, 20u, 24u, 28u);

// W[n, k .. k + 7] as tile values (k a multiple of 8): one q4 word, dequantized with its group's scale; zeros
// where !live (a row past the chunk or the split) or past K. Dead rows and words are clamped for reading.
fn weight_octet(n: u32, k: u32, live: bool) -> Octet {
  let words_per_row = params.in_dim / 8u;
  let wn = min(n, params.out_dim - 1u);
  let wk = min(k / 8u, words_per_row - 1u);
  let word = vec4<u32>(q_weight[wn * words_per_row + wk]);
  let scale = select(Tile(0.0), Tile(group_scale(wn, wk / 4u)), live && k / 8u < words_per_row);
  return Octet(
    (vec4<Tile>((word >> SHIFTS_LO) & vec4<u32>(0xFu)) - vec4<Tile>(7.0)) * scale,
    (vec4<Tile>((word >> SHIFTS_HI) & vec4<u32>(0xFu)) - vec4<Tile>(7.0)) * scale,
  );
}
//! else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;

//! include "include/dense_weight.wgsl"

// x[t, k .. k + 3] (k a multiple of 4), zeros past K.
fn x_quad(t: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  for (var e = 0u; e < 4u; e++) {
    if (k + e < params.in_dim) { v[e] = x[t * params.in_dim + k + e]; }
  }
  return v;
}

// W[n, k], or 0 where !live (a row past the chunk or the split) or past K.
fn weight_or_zero(n: u32, k: u32, live: bool) -> f32 {
  if (live && k < params.in_dim) { return weight(n * params.in_dim + k); }
  return 0.0;
}

// W[n, k .. k + 7] as tile values (k a multiple of 8), zeros where !live or past K.
fn weight_octet(n: u32, k: u32, live: bool) -> Octet {
  let lo = vec4<f32>(
    weight_or_zero(n, k, live),
    weight_or_zero(n, k + 1u, live),
    weight_or_zero(n, k + 2u, live),
    weight_or_zero(n, k + 3u, live),
  );
  let hi = vec4<f32>(
    weight_or_zero(n, k + 4u, live),
    weight_or_zero(n, k + 5u, live),
    weight_or_zero(n, k + 6u, live),
    weight_or_zero(n, k + 7u, live),
  );
  return Octet(vec4<Tile>(lo), vec4<Tile>(hi));
}
//! endif

// Workgroup (x, y) owns rows t0 = 64 x .. t0 + 63 and columns n0 = 64 y .. n0 + 63 of this chunk.
@compute @workgroup_size(WG)
fn matmul_gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.x * TM;
  let n0 = wid.y * TN;
  let K = params.in_dim;
  let tr = lid / 16u;
  let tc = lid % 16u;
  // Staging of W: column wc, elements 8 wj .. 8 wj + 7 of the step (one q4 word): four neighbouring invocations
  // read one column's contiguous run. Columns past the chunk stage zeros.
  let wc = lid / 4u;
  let wj = lid % 4u;
  for (var k0 = 0u; k0 < K; k0 += TK) {
    // x[t0 .. t0 + 63, k0 .. k0 + 31]: 512 vec4, eight neighbouring invocations per row (zeros past T).
    for (var i = lid; i < TM * (TK / 4u); i += WG) {
      let m = i / (TK / 4u);
      let kq = i % (TK / 4u);
      var v = vec4<f32>(0.0);
      if (t0 + m < params.tokens) { v = x_quad(t0 + m, k0 + 4u * kq); }
      a_tile[slot(m, kq)] = vec4<Tile>(v);
    }
    let octet = weight_octet(n0 + wc, k0 + 8u * wj, n0 + wc < params.out_dim);
    b_tile[slot(wc, 2u * wj)] = octet.lo;
    b_tile[slot(wc, 2u * wj + 1u)] = octet.hi;
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
fn matmul_input_grad_gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t0 = wid.x * TM;
  let k0 = wid.y * TN;
  let K = params.in_dim;
  let N = params.out_dim;
  let tr = lid / 16u;
  let tc = lid % 16u;
  let n_begin = wid.z * params.split_rows;
  let n_end = min(N, n_begin + params.split_rows);
  // Staging of W^T: row wr of the step's 32 rows of W, elements k0 + 8 wj .. + 7 of it (one q4 word): eight
  // neighbouring invocations read one row's contiguous run; each octet feeds 8 rows of b_tile.
  let wr = lid / 8u;
  let wj = lid % 8u;
  for (var nb = n_begin; nb < n_end; nb += TK) {
    // dy[t0 .. t0 + 63, nb .. nb + 31] as [m][n]: zeros past T and past this split.
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
    let octet = weight_octet(n, k0 + 8u * wj, n < n_end);
    for (var e = 0u; e < 4u; e++) {
      b_tile[slot(8u * wj + e, wr / 4u)][wr % 4u] = octet.lo[e];
      b_tile[slot(8u * wj + 4u + e, wr / 4u)][wr % 4u] = octet.hi[e];
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
