/**
 * General f32 matrix product with strides, transposes and accumulation (shaders/gemm_f32.wgsl), for the small
 * trainable parts: LoRA (train/gpu-lora.ts) and the critic MLP (train/gpu-critic.ts), forward and backward:
 *
 *   C = beta C + alpha op(A) op(B),   op(X) = X or X^T;  A, B, C sub-matrices (leading dimension, offset)
 *
 * A product's backward is two more products of the same kind (dA = dC op(B)^T, dB = op(A)^T dC), which the
 * callers build with this same call. Reference: reference/gemm.ts.
 */
import {
  elementwiseWorkgroups,
  kernelCall,
  type KernelCall,
  type KernelContext,
  type KernelVariant,
} from '../../../gpu/kernel';

/**
 * Products up to this many multiply-adds take gemm_f32_thread (one invocation per C element), larger ones the
 * 16x16 tiled kernel: LoRA's and the critic's products on small models, where the tiled kernel's barriers cost
 * more than the arithmetic on a CPU-emulated GPU.
 */
export const GEMM_THREAD_MAX_MACS = 1 << 24;

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
  ctx: KernelContext,
  label: string,
  a: GemmOperand,
  b: GemmOperand,
  c: { buffer: GPUBuffer; ld: number; offset?: number },
  { m, n, k, alpha = 1, beta = 0 }: GemmShape,
  variant?: KernelVariant,
): Promise<KernelCall> {
  const thread = (variant ?? (m * n * k <= GEMM_THREAD_MAX_MACS ? 'thread' : 'workgroup')) === 'thread';
  const kernel = await ctx.pipelines.kernel('gemm_f32.wgsl', thread ? 'gemm_f32_thread' : 'gemm_f32');
  return kernelCall(ctx.device, kernel, {
    label: `gemm ${label}`,
    params: {
      m,
      n,
      k,
      trans_a: a.transpose ? 1 : 0,
      trans_b: b.transpose ? 1 : 0,
      lda: a.ld,
      ldb: b.ld,
      ldc: c.ld,
      a_off: a.offset ?? 0,
      b_off: b.offset ?? 0,
      c_off: c.offset ?? 0,
      beta,
      alpha,
    },
    buffers: { a: a.buffer, b: b.buffer, c: c.buffer },
    workgroups: thread ? elementwiseWorkgroups(m * n) : [Math.ceil(n / 16), Math.ceil(m / 16)],
    cost: { flops: 2 * m * n * k, bytes: 4 * (m * k + k * n + m * n) },
  });
}
