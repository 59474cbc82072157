// The legacy matrix products (PipelineCache matmul 'legacy'; the thread kernels also serve K <= 256 by default)
// for a 4-bit group-quantized weight (Q4: MLC q4f16_1 / q4f32_1, dequantized inside the kernel) or an
// unquantized one (MLC q0f32 / q0f16), one source for both:
//
//   y[t, n] = sum_k x[t, k] * W[n, k],   Q4: W[n, k] = (q[n, k] - 7) * scale[n, k / 32]
//
// Shapes: x [T, K] f32; y [T, N] f32.
//   Q4: q_weight [N, K/8] u32 (element k of a row is nibble k % 8 of word k / 8, low nibble first); scales
//       [N, K/32], either f32 or f16 (then two per u32, low half first; unpack2x16float needs no shader-f16);
//       K is a multiple of 32 (the quantization group), and the thread and subgroup kernels read x as vec4 (x4).
//   otherwise: W [N, K] as f32 bits, or as f16 pairs packed in u32 (low half first, K even).
// The input gradients give each invocation a run of KW consecutive k: Q4 one word of 8, otherwise one element.
//
// Row chunks: a weight too large for one storage binding (a vocabulary-sized lm_head) is uploaded as several
// buffers of consecutive rows (gpu-weights.ts), one dispatch each. Then the weight buffers hold only rows
// n0 .. n0 + out_dim of W, and the chunk writes y[t, y_col0 + n] with rows y_stride wide (y_col0 = n0,
// y_stride = the whole N); an unsplit weight has y_col0 = 0, y_stride = out_dim.
//
// Kernels (kernels/linear.ts picks): matmul and matmul_input_grad, the workgroup kernels; matmul_thread and
// matmul_input_grad_thread for small K; matmul_subgroup (SUBGROUPS: the module then says `enable subgroups;`,
// which compiles only on a device with the feature), the forward split along K and reduced with subgroups.

//! if SUBGROUPS
enable subgroups;
//! endif

struct Params {
  tokens: u32,      // T
  out_dim: u32,     // N
  in_dim: u32,      // K
//! if Q4
  scale_f16: u32,   // 1: scales are packed f16 pairs; 0: f32
//! else
  weight_f16: u32,  // 1: W is packed f16; 0: f32
//! endif
  accumulate: u32,  // backward only: 1 adds into dx instead of overwriting it
  y_col0: u32,      // column of y (forward) or dy (backward) that row 0 of this W chunk feeds
  y_stride: u32,    // row stride of y / dy: the whole weight's N (= out_dim unless W is split by rows)
  _pad2: u32,
}

const WG: u32 = 64u;
const TOKENS: u32 = 4u;
const COLS: u32 = 4u;
const CHUNK: u32 = 256u;
const CHUNK_N: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

//! if Q4
@group(0) @binding(2) var<storage, read> q_weight: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<u32>;
@group(0) @binding(7) var<storage, read> x4: array<vec4<f32>>;

//! include "include/q4_weight.wgsl"

const KW: u32 = 8u;

// x4 offsets of the tile's rows (clamped).
fn x_rows(t0: u32) -> vec4<u32> {
  return tile_rows(t0) * (params.in_dim / 4u);
}

// The scales of the columns' rows n (clamped rows of W) for quantization group `grp`.
fn column_scales(n: vec4<u32>, grp: u32) -> vec4<f32> {
  return vec4<f32>(group_scale(n.x, grp), group_scale(n.y, grp), group_scale(n.z, grp), group_scale(n.w, grp));
}

// Word wi of the columns' rows n.
fn column_words(n: vec4<u32>, wi: u32) -> vec4<u32> {
  let words_per_row = params.in_dim / 8u;
  return vec4<u32>(
    q_weight[n.x * words_per_row + wi],
    q_weight[n.y * words_per_row + wi],
    q_weight[n.z * words_per_row + wi],
    q_weight[n.w * words_per_row + wi],
  );
}

// One row's products of four k (a, one vec4 of x) with the four columns' weights of each (w0 .. w3: a vec4 over
// the columns per k), summed before they meet the accumulator.
fn quad(a: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>) -> vec4<f32> {
  return a.x * w0 + a.y * w1 + a.z * w2 + a.w * w3;
}

// The register tile [row][column] of the thread kernel: columns n (clamped rows of W) by x4 rows xr, over all of
// K, group by group (one scale load per group and column).
fn tile_sums(n: vec4<u32>, xr: vec4<u32>) -> array<vec4<f32>, 4> {
  return strided_tile_sums(n, xr, 0u, 4u, 4u);
}

//! if SUBGROUPS
// The subgroup kernel's register tile: as tile_sums, over this invocation's words wi = lid, lid + WG, ... (a scale
// load per word and column).
fn split_tile_sums(n: vec4<u32>, xr: vec4<u32>, lid: u32) -> array<vec4<f32>, 4> {
  return strided_tile_sums(n, xr, lid, WG, 1u);
}
//! endif

// The tile over blocks of `span` words (span divides 4: a block stays in one group, whose scales it loads once)
// starting at words first, first + stride, ... The four columns' weights of one k form a vec4, so each k is four
// vec4 multiply-adds, one per row.
fn strided_tile_sums(n: vec4<u32>, xr: vec4<u32>, first: u32, stride: u32, span: u32) -> array<vec4<f32>, 4> {
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var block = first; block < params.in_dim / 8u; block += stride) {
    let s = column_scales(n, block / 4u);
    for (var wi = block; wi < block + span; wi++) {
      let words = column_words(n, wi);
      for (var half = 0u; half < 2u; half++) {
        let k4 = wi * 2u + half;
        let w0 = dequant4(words, 4u * half, s);
        let w1 = dequant4(words, 4u * half + 1u, s);
        let w2 = dequant4(words, 4u * half + 2u, s);
        let w3 = dequant4(words, 4u * half + 3u, s);
        acc0 += quad(x4[xr.x + k4], w0, w1, w2, w3);
        acc1 += quad(x4[xr.y + k4], w0, w1, w2, w3);
        acc2 += quad(x4[xr.z + k4], w0, w1, w2, w3);
        acc3 += quad(x4[xr.w + k4], w0, w1, w2, w3);
      }
    }
  }
  return array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
}
//! else
@group(0) @binding(2) var<storage, read> w: array<u32>;

//! include "include/dense_weight.wgsl"

const KW: u32 = 1u;

// x offsets of the tile's rows (clamped).
fn x_rows(t0: u32) -> vec4<u32> {
  return tile_rows(t0) * params.in_dim;
}

// The register tile [row][column] of the thread kernel: columns n (clamped rows of W) by x rows xr, over all of K.
fn tile_sums(n: vec4<u32>, xr: vec4<u32>) -> array<vec4<f32>, 4> {
  return strided_tile_sums(n, xr, 0u, 1u);
}

//! if SUBGROUPS
// The subgroup kernel's register tile: as tile_sums, over this invocation's elements k = lid, lid + WG, ...
fn split_tile_sums(n: vec4<u32>, xr: vec4<u32>, lid: u32) -> array<vec4<f32>, 4> {
  return strided_tile_sums(n, xr, lid, WG);
}
//! endif

// The tile over the elements k = first, first + stride, ... of the rows.
fn strided_tile_sums(n: vec4<u32>, xr: vec4<u32>, first: u32, stride: u32) -> array<vec4<f32>, 4> {
  let K = params.in_dim;
  let rows = n * K;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = first; k < K; k += stride) {
    let wv = vec4<f32>(weight(rows.x + k), weight(rows.y + k), weight(rows.z + k), weight(rows.w + k));
    acc0 += x[xr.x + k] * wv;
    acc1 += x[xr.y + k] * wv;
    acc2 += x[xr.z + k] * wv;
    acc3 += x[xr.w + k] * wv;
  }
  return array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
}
//! endif

// The register tiles of the thread and subgroup kernels: columns n0 .. n0 + 3 and rows t0 .. t0 + 3, clamped to
// the last column and row for reading (past the end they are not written).
fn tile_columns(n0: u32) -> vec4<u32> {
  let last_n = params.out_dim - 1u;
  return vec4<u32>(min(n0, last_n), min(n0 + 1u, last_n), min(n0 + 2u, last_n), min(n0 + 3u, last_n));
}
fn tile_rows(t0: u32) -> vec4<u32> {
  let last_t = params.tokens - 1u;
  return vec4<u32>(min(t0, last_t), min(t0 + 1u, last_t), min(t0 + 2u, last_t), min(t0 + 3u, last_t));
}

// dx[i] (+)= v: the input gradients overwrite dx, or add to it (params.accumulate: a later row chunk of W, or a
// caller's sum).
fn add_dx(i: u32, v: f32) {
  var prior = 0.0;
  if (params.accumulate == 1u) { prior = dx[i]; }
  dx[i] = prior + v;
}

// ---------------------------------------------------------------------------------------------------------
// Workgroup kernels. Forward: a workgroup owns 64 output columns and TOKENS rows; the x rows are staged in
// shared memory in chunks of CHUNK along K, and each thread reads (Q4: and dequantizes) each weight once and uses
// it for all TOKENS rows, which is what makes the kernel compute-bound instead of bandwidth-bound when T > 1.

var<workgroup> x_tile: array<f32, 1024>; // TOKENS * CHUNK

@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = wid.x * WG + lid;
  let t0 = wid.y * TOKENS;
  let K = params.in_dim;
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
//! if Q4
      let words_per_row = K / 8u;
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
//! else
      for (var c = 0u; c < len; c++) {
        let wv = weight(n * K + k0 + c);
        for (var r = 0u; r < TOKENS; r++) { acc[r] += x_tile[r * CHUNK + c] * wv; }
      }
//! endif
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

// Backward: the input gradient through the frozen weight (no weight gradient: W is frozen).
// The forward computed y[t, n] = sum_k x[t, k] W[n, k]; so
//
//   dx[t, k] (+)= sum_n dy[t, n] * W[n, k]
//
// Shapes: dy [T, N] f32; dx [T, K] f32; for a row chunk of W (rows y_col0 .. y_col0 + out_dim) the sum runs over
// those n only (dy read at columns y_col0 + n of rows y_stride wide) and the chunks after the first
// accumulate, so the chunks together sum over all N. W is read as stored (no transposed copy): a thread owns one
// column of runs (KW consecutive k) and walks down the rows n, so neighbouring threads read neighbouring runs of
// the same row. dy rows are staged in shared memory, TOKENS rows by CHUNK_N columns at a time.

var<workgroup> dy_tile: array<f32, 1024>; // TOKENS * CHUNK_N

@compute @workgroup_size(WG)
fn matmul_input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let runs = params.in_dim / KW;
  let u = wid.x * WG + lid;            // run column: k = KW u .. KW u + KW - 1
  let t0 = wid.y * TOKENS;
  let N = params.out_dim;
  var acc: array<array<f32, KW>, 4>;

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
    if (u < runs) {
      for (var c = 0u; c < len; c++) {
        let n = n0 + c;
//! if Q4
        let word = q_weight[n * runs + u];
        let scale = group_scale(n, u / 4u);
        for (var j = 0u; j < 8u; j++) {
          let weight = (f32((word >> (4u * j)) & 0xFu) - 7.0) * scale;
          for (var r = 0u; r < TOKENS; r++) { acc[r][j] += dy_tile[r * CHUNK_N + c] * weight; }
        }
//! else
        let wv = weight(n * params.in_dim + u);
        for (var r = 0u; r < TOKENS; r++) { acc[r][0] += dy_tile[r * CHUNK_N + c] * wv; }
//! endif
      }
    }
    workgroupBarrier();
  }

  if (u < runs) {
    for (var r = 0u; r < TOKENS; r++) {
      let t = t0 + r;
      if (t < params.tokens) {
        for (var j = 0u; j < KW; j++) { add_dx(t * params.in_dim + KW * u + j, acc[r][j]); }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Thread variants for small K (small models): no shared memory and no barriers, each invocation owns a
// register tile and reads its inputs itself. On a CPU-emulated GPU (SwiftShader) barriers and shared-memory
// traffic dominate the workgroup kernels above at these sizes; these are 4-8x faster there. kernels/linear.ts
// picks by K. Invocations fold into two dispatch dimensions: i = gid.x + gid.y * nwg.x * WG.
//
// Forward: invocation i owns rows t0 .. t0 + 3 and columns n0 .. n0 + 3 (i = row block * ceil(N / 4) + column
// block).

@compute @workgroup_size(WG)
fn matmul_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let col_blocks = (params.out_dim + 3u) / 4u;
  let n0 = (i % col_blocks) * 4u;
  let t0 = (i / col_blocks) * TOKENS;
  if (t0 >= params.tokens) { return; }
  let acc = tile_sums(tile_columns(n0), x_rows(t0));
  for (var r = 0u; r < TOKENS; r++) {
    let t = t0 + r;
    if (t < params.tokens) {
      for (var c = 0u; c < 4u; c++) {
        if (n0 + c < params.out_dim) { y[t * params.y_stride + params.y_col0 + n0 + c] = acc[r][c]; }
      }
    }
  }
}

// Input gradient: invocation i owns rows t0 .. t0 + 3 and one run column u (k = KW u .. KW u + KW - 1), and walks
// down the N rows of W.

@compute @workgroup_size(WG)
fn matmul_input_grad_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG;
  let runs = params.in_dim / KW;
  let u = i % runs;
  let t0 = (i / runs) * TOKENS;
  if (t0 >= params.tokens) { return; }
  // dy row starts, shifted to this chunk's columns.
  let d = tile_rows(t0) * params.y_stride + vec4<u32>(params.y_col0);
//! if Q4
  // Per row n of W one word, eight weights (two vec4) and four dy values.
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
  for (var n = 0u; n < params.out_dim; n++) {
    let word = vec4<u32>(q_weight[n * runs + u]);
    let s = group_scale(n, u / 4u);
    let w_lo = (vec4<f32>((word >> shifts_lo) & vec4<u32>(0xFu)) - vec4<f32>(7.0)) * s;
    let w_hi = (vec4<f32>((word >> shifts_hi) & vec4<u32>(0xFu)) - vec4<f32>(7.0)) * s;
    let g0 = dy[d.x + n];
    lo0 += g0 * w_lo;
    hi0 += g0 * w_hi;
    let g1 = dy[d.y + n];
    lo1 += g1 * w_lo;
    hi1 += g1 * w_hi;
    let g2 = dy[d.z + n];
    lo2 += g2 * w_lo;
    hi2 += g2 * w_hi;
    let g3 = dy[d.w + n];
    lo3 += g3 * w_lo;
    hi3 += g3 * w_hi;
  }
  let los = array<vec4<f32>, 4>(lo0, lo1, lo2, lo3);
  let his = array<vec4<f32>, 4>(hi0, hi1, hi2, hi3);
  for (var r = 0u; r < TOKENS; r++) {
    let t = t0 + r;
    if (t < params.tokens) {
      for (var j = 0u; j < 4u; j++) {
        add_dx(t * params.in_dim + 8u * u + j, los[r][j]);
        add_dx(t * params.in_dim + 8u * u + 4u + j, his[r][j]);
      }
    }
  }
//! else
  // Per row n of W one weight and the four rows' dy values (a vec4 over the rows).
  var acc = vec4<f32>(0.0);
  for (var n = 0u; n < params.out_dim; n++) {
    let wv = weight(n * params.in_dim + u);
    acc += vec4<f32>(dy[d.x + n], dy[d.y + n], dy[d.z + n], dy[d.w + n]) * wv;
  }
  for (var r = 0u; r < TOKENS; r++) {
    let t = t0 + r;
    if (t < params.tokens) { add_dx(t * params.in_dim + u, acc[r]); }
  }
//! endif
}

//! if SUBGROUPS
// ---------------------------------------------------------------------------------------------------------
// The forward split along K and reduced with subgroup operations, for devices with the `subgroups` feature;
// kernels/linear.ts picks it where the workgroup kernel would run (K > 256) and the pipeline cache allows
// subgroups. Why another tiling: matmul gives each invocation one output column and a whole row of W, so
// neighbouring invocations read runs a row apart and the GPU serves each weight load with its own memory
// transaction. Here a workgroup owns COLS columns by TOKENS rows and its invocations split K: invocation i reads
// runs i, i + WG, ... of each of the COLS weight rows, so neighbouring invocations read neighbouring runs
// (coalesced, what a bandwidth-bound matrix-vector product needs), and keeps a COLS x TOKENS register tile of
// partial sums. The partial sums are then reduced over the workgroup: subgroupAdd within each subgroup, and the
// subgroups' totals through shared memory with one barrier (a shared-memory tree would take log2(WG) + 1
// barriers per output). The input gradient already reads W coalesced and has no reduction across invocations,
// so it has no subgroup variant.

//! include "include/subgroup_tile_reduce.wgsl"

// Workgroup (x, y) owns columns n0 = COLS x .. n0 + 3 and rows t0 = TOKENS y .. t0 + 3. Columns and rows past
// the end are clamped for reading (every invocation takes part in the subgroup operations) and not written.
@compute @workgroup_size(WG)
fn matmul_subgroup(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) sg_size: u32,
) {
  let n0 = wid.x * COLS;
  let t0 = wid.y * TOKENS;
  let acc = split_tile_sums(tile_columns(n0), x_rows(t0), lid);
  reduce_and_write(acc[0], acc[1], acc[2], acc[3], lid, sid, sg_size, n0, t0);
}
//! endif
