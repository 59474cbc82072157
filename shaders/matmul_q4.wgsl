// Matrix product with a 4-bit group-quantized weight (MLC q4f16_1 / q4f32_1), dequantized inside the kernel:
//
//   y[t, n] = sum_k x[t, k] * W[n, k],   W[n, k] = (q[n, k] - 7) * scale[n, k / 32]
//
// Shapes: x [T, K] f32; q_weight [N, K/8] u32 (element k of a row is nibble k % 8 of word k / 8, low nibble
// first); scales [N, K/32], either f32 or f16 (then two per u32, low half first; unpack2x16float needs no
// shader-f16); y [T, N] f32. K is a multiple of 32 (the quantization group).
//
// Tiling: a workgroup owns 64 output columns and TOKENS rows; the x rows are staged in shared memory in
// chunks of CHUNK along K, and each thread dequantizes one weight word once and uses it for all TOKENS rows,
// which is what makes the kernel compute-bound instead of bandwidth-bound when T > 1.

struct Params {
  tokens: u32,      // T
  out_dim: u32,     // N
  in_dim: u32,      // K
  scale_f16: u32,   // 1: scales are packed f16 pairs; 0: f32
  accumulate: u32,  // backward only: 1 adds into dx instead of overwriting it
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

const WG: u32 = 64u;
const TOKENS: u32 = 4u;
const CHUNK: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> q_weight: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> x_tile: array<f32, 1024>; // TOKENS * CHUNK

fn group_scale(n: u32, group: u32) -> f32 {
  let index = n * (params.in_dim / 32u) + group;
  if (params.scale_f16 == 1u) {
    let pair = unpack2x16float(scales[index / 2u]);
    return select(pair.x, pair.y, (index & 1u) == 1u);
  }
  return bitcast<f32>(scales[index]);
}

@compute @workgroup_size(WG)
fn matmul_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x * WG + lid;
  let t0 = wid.y * TOKENS;
  let K = params.in_dim;
  let words_per_row = K / 8u;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);

  for (var k0 = 0u; k0 < K; k0 += CHUNK) {
    let len = min(CHUNK, K - k0);
    // Stage x[t0 .. t0 + TOKENS, k0 .. k0 + len] (zeros past the last token).
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
      for (var w = 0u; w < len / 8u; w++) {
        let word = q_weight[n * words_per_row + k0 / 8u + w];
        let scale = group_scale(n, (k0 + w * 8u) / 32u);
        for (var j = 0u; j < 8u; j++) {
          let weight = (f32((word >> (4u * j)) & 0xFu) - 7.0) * scale;
          let c = w * 8u + j;
          for (var r = 0u; r < TOKENS; r++) {
            acc[r] += x_tile[r * CHUNK + c] * weight;
          }
        }
      }
    }
    workgroupBarrier();
  }

  if (n < params.out_dim) {
    for (var r = 0u; r < TOKENS; r++) {
      let t = t0 + r;
      if (t < params.tokens) { y[t * params.out_dim + n] = acc[r]; }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Backward: the input gradient through the frozen weight (no weight gradient: W is frozen).
// The forward computed y[t, n] = sum_k x[t, k] W[n, k]; so
//
//   dx[t, k] (+)= sum_n dy[t, n] * W[n, k]
//
// Shapes: dy [T, N] f32; dx [T, K] f32. W is read as stored (no transposed copy): a thread owns one q4 word
// column (8 consecutive k) and walks down the rows n, so neighbouring threads read neighbouring words of
// the same row. dy rows are staged in shared memory, TOKENS rows by CHUNK_N columns at a time.

const CHUNK_N: u32 = 256u;

@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

var<workgroup> dy_tile: array<f32, 1024>; // TOKENS * CHUNK_N

@compute @workgroup_size(WG)
fn matmul_q4_input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let words_per_row = params.in_dim / 8u;
  let w = wid.x * WG + lid;            // word column: k = 8w .. 8w + 7
  let t0 = wid.y * TOKENS;
  let N = params.out_dim;
  var acc: array<array<f32, 8>, 4>;

  for (var n0 = 0u; n0 < N; n0 += CHUNK_N) {
    let len = min(CHUNK_N, N - n0);
    for (var i = lid; i < TOKENS * CHUNK_N; i += WG) {
      let r = i / CHUNK_N;
      let c = i % CHUNK_N;
      let t = t0 + r;
      var v = 0.0;
      if (t < params.tokens && c < len) { v = dy[t * N + n0 + c]; }
      dy_tile[i] = v;
    }
    workgroupBarrier();
    if (w < words_per_row) {
      for (var c = 0u; c < len; c++) {
        let n = n0 + c;
        let word = q_weight[n * words_per_row + w];
        let scale = group_scale(n, w / 4u);
        for (var j = 0u; j < 8u; j++) {
          let weight = (f32((word >> (4u * j)) & 0xFu) - 7.0) * scale;
          for (var r = 0u; r < TOKENS; r++) { acc[r][j] += dy_tile[r * CHUNK_N + c] * weight; }
        }
      }
    }
    workgroupBarrier();
  }

  if (w < words_per_row) {
    for (var r = 0u; r < TOKENS; r++) {
      let t = t0 + r;
      if (t < params.tokens) {
        for (var j = 0u; j < 8u; j++) {
          let i = t * params.in_dim + 8u * w + j;
          var prior = 0.0;
          if (params.accumulate == 1u) { prior = dx[i]; }
          dx[i] = prior + acc[r][j];
        }
      }
    }
  }
}
