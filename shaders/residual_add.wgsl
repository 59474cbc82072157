// Residual connection, in place: x[i] += y[i] over R * D elements.

struct Params {
  count: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;

@compute @workgroup_size(64)
fn residual_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < params.count) { x[i] += y[i]; }
}

// Out of place: z[i] = x[i] + y[i]. The training forward writes each layer's residual stream to a new
// buffer, so every layer's input survives as its activation checkpoint without a copy.

@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(4) var<storage, read> x_in: array<f32>;

@compute @workgroup_size(64)
fn add_out(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < params.count) { z[i] = x_in[i] + y[i]; }
}

// A copy inside a compute pass (copyBufferToBuffer cannot interleave with dispatches): z[i] = x_in[i].
// The backward seeds a gradient buffer with the residual branch's gradient before adding the norm's.

@compute @workgroup_size(64)
fn copy_out(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i < params.count) { z[i] = x_in[i]; }
}
