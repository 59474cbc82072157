// Matrix product with a 4-bit group-quantized weight (MLC q4f16_1 / q4f32_1), dequantized inside the kernel:
//
//   y[t, n] = sum_k x[t, k] * W[n, k],   W[n, k] = (q[n, k] - 7) * scale[n, k / 32]
//
// Shapes: x [T, K] f32; q_weight [N, K/8] u32 (element k of a row is nibble k % 8 of word k / 8, low nibble
// first); scales [N, K/32], either f32 or f16 (then two per u32, low half first; unpack2x16float needs no
// shader-f16); y [T, N] f32. K is a multiple of 32 (the quantization group).
//
// Row chunks: a weight too large for one storage binding (a vocabulary-sized lm_head) is uploaded as several
// buffers of consecutive rows (gpu-weights.ts), one dispatch each. Then q_weight and scales hold only rows
// n0 .. n0 + out_dim of W, and the chunk writes y[t, y_col0 + n] with rows y_stride wide (y_col0 = n0,
// y_stride = the whole N); an unsplit weight has y_col0 = 0, y_stride = out_dim.
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
  y_col0: u32,      // column of y (forward) or dy (backward) that row 0 of this W chunk feeds
  y_stride: u32,    // row stride of y / dy: the whole weight's N (= out_dim unless W is split by rows)
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

//! include "include/q4_weight.wgsl"

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
      if (t < params.tokens) { y[t * params.y_stride + params.y_col0 + n] = acc[r]; }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Backward: the input gradient through the frozen weight (no weight gradient: W is frozen).
// The forward computed y[t, n] = sum_k x[t, k] W[n, k]; so
//
//   dx[t, k] (+)= sum_n dy[t, n] * W[n, k]
//
// Shapes: dy [T, N] f32; dx [T, K] f32; for a row chunk of W (rows y_col0 .. y_col0 + out_dim) the sum runs over
// those n only (dy read at columns y_col0 + n of rows y_stride wide) and the chunks after the first
// accumulate, so the chunks together sum over all N. W is read as stored (no transposed copy): a thread owns one q4 word
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
      if (t < params.tokens && c < len) { v = dy[t * params.y_stride + params.y_col0 + n0 + c]; }
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

// ---------------------------------------------------------------------------------------------------------
// Thread variants for small K (small models): no shared memory and no barriers, each invocation owns a
// register tile and reads its inputs itself. On a CPU-emulated GPU (SwiftShader) barriers and shared-memory
// traffic dominate the tiled kernels above at these sizes; these are 4-8x faster there. kernels/linear.ts
// picks by K. Invocations fold into two dispatch dimensions: i = gid.x + gid.y * nwg.x * WG.
//
// Forward: invocation i owns rows t0 .. t0 + 3 and columns n0 .. n0 + 3 (i = row block * ceil(N / 4) + column
// block). x is read as vec4 along K (K is a multiple of 32); the four columns' weights of one k form a vec4,
// so each k is four vec4 multiply-adds, one per row.

@group(0) @binding(7) var<storage, read> x4: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn matmul_q4_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let col_blocks = (params.out_dim + 3u) / 4u;
  let n0 = (i % col_blocks) * 4u;
  let t0 = (i / col_blocks) * TOKENS;
  if (t0 >= params.tokens) { return; }
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
  for (var grp = 0u; grp < K / 32u; grp++) {
    let s = vec4<f32>(group_scale(n.x, grp), group_scale(n.y, grp), group_scale(n.z, grp), group_scale(n.w, grp));
    for (var wj = 0u; wj < 4u; wj++) {
      let wi = grp * 4u + wj;
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

// Input gradient: invocation i owns rows t0 .. t0 + 3 and one q4 word column w (k = 8w .. 8w + 7), and walks
// down the N rows of W: per n one word, eight weights (two vec4) and four dy values.

@compute @workgroup_size(WG)
fn matmul_q4_input_grad_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let words_per_row = params.in_dim / 8u;
  let w = i % words_per_row;
  let t0 = (i / words_per_row) * TOKENS;
  if (t0 >= params.tokens) { return; }
  let N = params.out_dim;
  let last_t = params.tokens - 1u;
  // dy row starts, shifted to this chunk's columns.
  let d0 = min(t0, last_t) * params.y_stride + params.y_col0;
  let d1 = min(t0 + 1u, last_t) * params.y_stride + params.y_col0;
  let d2 = min(t0 + 2u, last_t) * params.y_stride + params.y_col0;
  let d3 = min(t0 + 3u, last_t) * params.y_stride + params.y_col0;
  var lo0 = vec4<f32>(0.0);
  var hi0 = vec4<f32>(0.0);
  var lo1 = vec4<f32>(0.0);
  var hi1 = vec4<f32>(0.0);
  var lo2 = vec4<f32>(0.0);
  var hi2 = vec4<f32>(0.0);
  var lo3 = vec4<f32>(0.0);
  var hi3 = vec4<f32>(0.0);
  let shifts_lo = vec4<u32>(0u, 4u, 8u, 12u);
  let shifts_hi = vec4<u32>(16u, 20u, 24u, 28u);
  for (var n = 0u; n < N; n++) {
    let word = vec4<u32>(q_weight[n * words_per_row + w]);
    let s = group_scale(n, w / 4u);
    let w_lo = (vec4<f32>((word >> shifts_lo) & vec4<u32>(0xFu)) - vec4<f32>(7.0)) * s;
    let w_hi = (vec4<f32>((word >> shifts_hi) & vec4<u32>(0xFu)) - vec4<f32>(7.0)) * s;
    let g0 = dy[d0 + n];
    lo0 += g0 * w_lo;
    hi0 += g0 * w_hi;
    let g1 = dy[d1 + n];
    lo1 += g1 * w_lo;
    hi1 += g1 * w_hi;
    let g2 = dy[d2 + n];
    lo2 += g2 * w_lo;
    hi2 += g2 * w_hi;
    let g3 = dy[d3 + n];
    lo3 += g3 * w_lo;
    hi3 += g3 * w_hi;
  }
  let los = array<vec4<f32>, 4>(lo0, lo1, lo2, lo3);
  let his = array<vec4<f32>, 4>(hi0, hi1, hi2, hi3);
  for (var r = 0u; r < TOKENS; r++) {
    let t = t0 + r;
    if (t < params.tokens) {
      let base = t * params.in_dim + 8u * w;
      for (var j = 0u; j < 4u; j++) {
        var prior_lo = 0.0;
        var prior_hi = 0.0;
        if (params.accumulate == 1u) {
          prior_lo = dx[base + j];
          prior_hi = dx[base + 4u + j];
        }
        dx[base + j] = prior_lo + los[r][j];
        dx[base + 4u + j] = prior_hi + his[r][j];
      }
    }
  }
}
