// The SiLU-gated MLP's middle: h[r, i] = silu(gate[r, i]) * up[r, i], silu(z) = z / (1 + exp(-z)).
// Shapes: gate_up [R, 2*I] f32 (MLC's fused gate_up_proj: gate rows then up rows), h [R, I] f32.

struct Params {
  rows: u32,
  inter: u32,  // I
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gate_up: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

@compute @workgroup_size(64)
fn silu_mul_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= params.rows * params.inter) { return; }
  let r = i / params.inter;
  let c = i % params.inter;
  let gate = gate_up[r * 2u * params.inter + c];
  let up = gate_up[r * 2u * params.inter + params.inter + c];
  h[i] = gate / (1.0 + exp(-gate)) * up;
}
