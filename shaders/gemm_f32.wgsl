// General f32 matrix product with strides, transposes and accumulation, for the small trainable parts:
// LoRA (x A^T, u B^T, and their gradients), the critic MLP, and their backward passes.
//
//   C[m, n] = beta * C[m, n] + alpha * sum_k op(A)[m, k] * op(B)[k, n]
//   op(A)[m, k] = trans_a ? A[k * lda + m] : A[m * lda + k]      (offsets a_off, b_off, c_off in elements)
//   op(B)[k, n] = trans_b ? B[n * ldb + k] : B[k * ldb + n]
//   C[m, n] at c_off + m * ldc + n
//
// beta is 0 (overwrite) or 1 (accumulate), so a LoRA update can add into a slice of a fused projection's
// output in place. 16x16 output tiles, K staged through shared memory in steps of 16.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  trans_a: u32,
  trans_b: u32,
  lda: u32,
  ldb: u32,
  ldc: u32,
  a_off: u32,
  b_off: u32,
  c_off: u32,
  beta: f32,
  alpha: f32,
}

const T: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

//! include "include/common_flat_index.wgsl"

var<workgroup> a_tile: array<f32, 256>; // [T m][T k]
var<workgroup> b_tile: array<f32, 256>; // [T k][T n]

fn load_a(m: u32, k: u32) -> f32 {
  if (m >= params.m || k >= params.k) { return 0.0; }
  if (params.trans_a == 1u) { return a[params.a_off + k * params.lda + m]; }
  return a[params.a_off + m * params.lda + k];
}

fn load_b(k: u32, n: u32) -> f32 {
  if (k >= params.k || n >= params.n) { return 0.0; }
  if (params.trans_b == 1u) { return b[params.b_off + n * params.ldb + k]; }
  return b[params.b_off + k * params.ldb + n];
}

@compute @workgroup_size(16, 16)
fn gemm_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = wid.y * T + lid.y;
  let n = wid.x * T + lid.x;
  var acc = 0.0;
  for (var k0 = 0u; k0 < params.k; k0 += T) {
    a_tile[lid.y * T + lid.x] = load_a(m, k0 + lid.x);
    b_tile[lid.y * T + lid.x] = load_b(k0 + lid.y, n);
    workgroupBarrier();
    for (var kk = 0u; kk < T; kk++) { acc += a_tile[lid.y * T + kk] * b_tile[kk * T + lid.x]; }
    workgroupBarrier();
  }
  if (m < params.m && n < params.n) {
    let i = params.c_off + m * params.ldc + n;
    var prior = 0.0;
    if (params.beta != 0.0) { prior = params.beta * c[i]; }
    c[i] = prior + params.alpha * acc;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Thread variant: one invocation per C element, its k loop read straight from A and B; no shared memory and
// no barriers. For the small products of LoRA and the critic on a CPU-emulated GPU (SwiftShader), where the
// tiled kernel's barriers cost far more than the arithmetic; kernels/gemm.ts picks by size. Same result up
// to float rounding (the same k order). i = flat_index(ids, 64u), element (i / n, i % n).

@compute @workgroup_size(64)
fn gemm_f32_thread(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i >= params.m * params.n) { return; }
  let m = i / params.n;
  let n = i % params.n;
  // op(A)[m, k] at a_base + k * a_step; op(B)[k, n] at b_base + k * b_step.
  var a_base = params.a_off + m * params.lda;
  var a_step = 1u;
  if (params.trans_a == 1u) {
    a_base = params.a_off + m;
    a_step = params.lda;
  }
  var b_base = params.b_off + n;
  var b_step = params.ldb;
  if (params.trans_b == 1u) {
    b_base = params.b_off + n * params.ldb;
    b_step = 1u;
  }
  var acc = 0.0;
  for (var k = 0u; k < params.k; k++) { acc += a[a_base + k * a_step] * b[b_base + k * b_step]; }
  let ci = params.c_off + m * params.ldc + n;
  var prior = 0.0;
  if (params.beta != 0.0) { prior = params.beta * c[ci]; }
  c[ci] = prior + params.alpha * acc;
}
