/**
 * The SiLU-gated MLP's middle (shaders/silu_mul.wgsl): gate_up [R, 2I] (gate columns, then up) -> h [R, I]
 *
 *   forward    h = silu(gate) * up,  silu(g) = g sigmoid(g)
 *   backward   dgate = dh * up * sig(g) (1 + g (1 - sig(g))),  dup = dh * silu(g)   -> d_gate_up [R, 2I]
 *
 * Reference: reference/silu-mul.ts.
 */
import { elementwiseWorkgroups, kernelCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';

export async function siluMulForwardCall(
  ctx: KernelContext,
  gateUp: GPUBuffer,
  h: GPUBuffer,
  rows: number,
  inter: number,
): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('silu_mul.wgsl', 'silu_mul_forward');
  return kernelCall(ctx.device, kernel, {
    params: { rows, inter },
    buffers: { gate_up: gateUp, h },
    workgroups: elementwiseWorkgroups(rows * inter),
    label: 'silu_mul_forward',
  });
}

export async function siluMulBackwardCall(
  ctx: KernelContext,
  gateUp: GPUBuffer,
  dh: GPUBuffer,
  dGateUp: GPUBuffer,
  rows: number,
  inter: number,
): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('silu_mul.wgsl', 'silu_mul_backward');
  return kernelCall(ctx.device, kernel, {
    params: { rows, inter },
    buffers: { gate_up: gateUp, dh, d_gate_up: dGateUp },
    workgroups: elementwiseWorkgroups(rows * inter),
    label: 'silu_mul_backward',
  });
}
