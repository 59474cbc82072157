// The workgroup reduction of the matrix-vector products (matmul_gemv.wgsl) on a device
// without subgroups: include/subgroup_tile_reduce.wgsl's reduce_and_write with one barrier and no subgroup
// operation. Expects from the including file the constants WG, TOKENS = 4 and COLS = 4, `params.tokens`,
// `params.out_dim`, `params.y_col0`, `params.y_stride` and the output `y` [T, N] f32.

// Partial sums, [token r][local index] (a vec4 holds the COLS columns).
var<workgroup> part: array<vec4<f32>, 256>; // TOKENS * WG

// The workgroup's sums of a0 .. a3 (one vec4 of COLS columns per token row). Every invocation leaves its partial
// sums in `part`; after one barrier, invocation v < TOKENS * COLS adds the WG partials of output v (row t0 + v /
// COLS, column n0 + v % COLS) in local-index order and writes it. One barrier and WG serial adds per output
// cost less than a log2(WG)-barrier tree where barriers are dear (SwiftShader, lavapipe), and about as much on
// a GPU: there are only 16 outputs.
fn reduce_and_write(a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>, lid: u32, n0: u32, t0: u32) {
  part[lid] = a0;
  part[WG + lid] = a1;
  part[2u * WG + lid] = a2;
  part[3u * WG + lid] = a3;
  workgroupBarrier();
  if (lid < TOKENS * COLS) {
    let r = lid / COLS;
    let c = lid % COLS;
    var total = 0.0;
    for (var i = 0u; i < WG; i++) { total += part[r * WG + i][c]; }
    let t = t0 + r;
    let col = n0 + c;
    if (t < params.tokens && col < params.out_dim) { y[t * params.y_stride + params.y_col0 + col] = total; }
  }
}
