// The SiLU-gated MLP's middle: h[r, i] = silu(gate[r, i]) * up[r, i], silu(z) = z / (1 + exp(-z)).
// Shapes: gate_up [R, 2*I] f32 (MLC's fused gate_up_proj: gate rows then up rows), h [R, I] f32.

struct Params {
  rows: u32,
  inter: u32,  // I
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> gate_up: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;

//! include "include/common_flat_index.wgsl"

@compute @workgroup_size(64)
fn silu_mul_forward(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i >= params.rows * params.inter) { return; }
  let r = i / params.inter;
  let c = i % params.inter;
  let gate = gate_up[r * 2u * params.inter + c];
  let up = gate_up[r * 2u * params.inter + params.inter + c];
  h[i] = gate / (1.0 + exp(-gate)) * up;
}

// ---------------------------------------------------------------------------------------------------------
// Backward. The forward computed h = silu(g) * u with silu(g) = g * sigmoid(g); so
//   du = dh * silu(g)
//   dg = dh * u * sigmoid(g) * (1 + g * (1 - sigmoid(g)))
// Shapes: gate_up [R, 2I] (the forward's input), dh [R, I] -> d_gate_up [R, 2I] (gate half, then up half).

@group(0) @binding(3) var<storage, read> dh: array<f32>;
@group(0) @binding(4) var<storage, read_write> d_gate_up: array<f32>;

@compute @workgroup_size(64)
fn silu_mul_backward(ids: FlatIds) {
  let i = flat_index(ids, 64u);
  if (i >= params.rows * params.inter) { return; }
  let r = i / params.inter;
  let c = i % params.inter;
  let gi = r * 2u * params.inter + c;
  let g = gate_up[gi];
  let u = gate_up[gi + params.inter];
  let s = 1.0 / (1.0 + exp(-g));
  d_gate_up[gi] = dh[i] * u * s * (1.0 + g * (1.0 - s));
  d_gate_up[gi + params.inter] = dh[i] * g * s;
}
