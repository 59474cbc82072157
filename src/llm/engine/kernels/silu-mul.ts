/**
 * The SiLU-gated MLP's middle (shaders/silu_mul.wgsl): gate_up [R, 2I] (gate columns, then up) -> h [R, I]
 *
 *   forward    h = silu(gate) * up,  silu(g) = g sigmoid(g)
 *   backward   dgate = dh * up * sig(g) (1 + g (1 - sig(g))),  dup = dh * silu(g)   -> d_gate_up [R, 2I]
 *
 * Reference: reference/silu-mul.ts.
 */
import { elementwiseCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';

export function siluMulForwardCall(
  ctx: KernelContext,
  gateUp: GPUBuffer,
  h: GPUBuffer,
  rows: number,
  inter: number,
): Promise<KernelCall> {
  const bindings = { params: { rows, inter }, buffers: { gate_up: gateUp, h } };
  return elementwiseCall(ctx, 'silu_mul.wgsl', 'silu_mul_forward', rows * inter, bindings);
}

export function siluMulBackwardCall(
  ctx: KernelContext,
  gateUp: GPUBuffer,
  dh: GPUBuffer,
  dGateUp: GPUBuffer,
  rows: number,
  inter: number,
): Promise<KernelCall> {
  const bindings = { params: { rows, inter }, buffers: { gate_up: gateUp, dh, d_gate_up: dGateUp } };
  return elementwiseCall(ctx, 'silu_mul.wgsl', 'silu_mul_backward', rows * inter, bindings);
}
