// The sum of a split input gradient (matmul_tiled.wgsl's matmul_input_grad_gemm): the product's sum over the
// rows n of W ran in `splits` parts, each written to its own slice of `partials`; here
//
//   dx[i] (+)= sum_s partials[s * count + i],   i < count = T * K
//
// in the order s = 0, 1, ..., so the result does not depend on which split finished first.

struct Params {
  count: u32,      // T * K
  splits: u32,     // number of partial sums
  accumulate: u32, // 1 adds into dx instead of overwriting it
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

// i = gid.x + gid.y * nwg.x * 64 (gpu/kernel.ts, elementwiseWorkgroups).
@compute @workgroup_size(64)
fn matmul_partial_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= params.count) { return; }
  var total = 0.0;
  for (var s = 0u; s < params.splits; s++) { total += partials[s * params.count + i]; }
  if (params.accumulate == 1u) { total = dx[i] + total; }
  dx[i] = total;
}
