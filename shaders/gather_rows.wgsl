// Copies selected rows: out[j, :] = x[rows[j], :]. Logits are needed only where a next token is scored
// (the last prompt row and each action row but its last), so the vocabulary projection runs on these only.
// Shapes: x [R, D] f32; rows [J] u32; out [J, D] f32.

struct Params {
  count: u32,  // J
  dim: u32,    // D
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn gather_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= params.count * params.dim) { return; }
  out[i] = x[rows[i / params.dim] * params.dim + i % params.dim];
}
