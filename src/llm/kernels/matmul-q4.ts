/** shaders/matmul_q4.wgsl: y [T, N] = x [T, K] · W[N, K]^T with W in MLC's q4 group quantization. */
import { makeCall, type KernelCall } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';

export interface Q4Weight {
  /** u32 [N, K/8] */
  qWeight: GPUBuffer;
  /** [N, K/32]: f32, or f16 packed two per u32 when scaleF16 */
  scales: GPUBuffer;
  outDim: number;
  inDim: number;
  scaleF16: boolean;
}

const WG = 64;
const TOKENS = 4;

export async function matmulQ4Call(
  device: GPUDevice,
  pipelines: PipelineCache,
  x: GPUBuffer,
  weight: Q4Weight,
  y: GPUBuffer,
  tokens: number,
): Promise<KernelCall> {
  if (weight.inDim % 32 !== 0) throw new Error(`matmul_q4: K = ${weight.inDim} must be a multiple of 32 (the quantization group)`);
  const pipeline = await pipelines.get('matmul_q4.wgsl', 'matmul_q4');
  return makeCall(
    device,
    'matmul_q4',
    pipeline,
    [tokens, weight.outDim, weight.inDim, weight.scaleF16 ? 1 : 0],
    [x, weight.qWeight, weight.scales, y],
    [Math.ceil(weight.outDim / WG), Math.ceil(tokens / TOKENS)],
  );
}
