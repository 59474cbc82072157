/** shaders/gemm_f32.wgsl: C = beta C + alpha op(A) op(B) with strides and offsets (see the shader). */
import { elementwiseWorkgroups, makeCall, type KernelCall, type KernelVariant } from '../../../gpu/kernel';

/**
 * Products up to this many multiply-adds take gemm_f32_thread (one invocation per C element), larger ones the
 * 16x16 tiled kernel: LoRA's and the critic's products on small models, where the tiled kernel's barriers cost
 * more than the arithmetic on a CPU-emulated GPU.
 */
export const GEMM_THREAD_MAX_MACS = 1 << 24;
import type { PipelineCache } from '../../../gpu/pipelines';

export interface GemmOperand {
  buffer: GPUBuffer;
  /** Leading dimension: elements between consecutive rows of the stored matrix. */
  ld: number;
  /** First element. */
  offset?: number;
  /** Use the stored matrix transposed. */
  transpose?: boolean;
}

export interface GemmShape {
  m: number;
  n: number;
  k: number;
  alpha?: number;
  /** 0: overwrite C; 1: add into C. */
  beta?: 0 | 1;
}

export async function gemmCall(
  { device, pipelines }: { device: GPUDevice; pipelines: PipelineCache },
  label: string,
  a: GemmOperand,
  b: GemmOperand,
  c: { buffer: GPUBuffer; ld: number; offset?: number },
  { m, n, k, alpha = 1, beta = 0 }: GemmShape,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const thread = (variant ?? (m * n * k <= GEMM_THREAD_MAX_MACS ? 'thread' : 'workgroup')) === 'thread';
  const pipeline = await pipelines.get('gemm_f32.wgsl', thread ? 'gemm_f32_thread' : 'gemm_f32');
  return makeCall(
    device,
    `gemm ${label}`,
    pipeline,
    [m, n, k, a.transpose ? 1 : 0, b.transpose ? 1 : 0, a.ld, b.ld, c.ld, a.offset ?? 0, b.offset ?? 0, c.offset ?? 0, { f32: beta }, { f32: alpha }, 0, 0, 0],
    [a.buffer, b.buffer, c.buffer],
    thread ? elementwiseWorkgroups(m * n) : [Math.ceil(n / 16), Math.ceil(m / 16)],
    { flops: 2 * m * n * k, bytes: 4 * (m * k + k * n + m * n) },
  );
}
