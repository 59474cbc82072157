/**
 * Linear layers and embedding lookups over the weight formats MLC ships: q4 group-quantized (q4f16_1,
 * q4f32_1: matmul_q4.wgsl, embedding_q4.wgsl) and unquantized (q0f32, q0f16: matmul_dense.wgsl,
 * embedding_dense.wgsl). Weights stay in their stored format on the GPU and are decoded inside the kernels.
 */
import { elementwiseWorkgroups, kernelVariant, makeCall, requireSubgroups, type KernelCall, type KernelVariant } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';

export type GpuLinear =
  | {
      format: 'q4';
      /** u32 [N, K/8] */
      qWeight: GPUBuffer;
      /** [N, K/32]: f32, or f16 packed two per u32 when scaleF16 */
      scales: GPUBuffer;
      scaleF16: boolean;
      outDim: number;
      inDim: number;
    }
  | {
      format: 'dense';
      /** [N, K]: f32, or f16 packed two per u32 when f16 */
      weight: GPUBuffer;
      f16: boolean;
      outDim: number;
      inDim: number;
    };

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

const WG = 64;
const TOKENS = 4;
/** Output columns per workgroup of the subgroup variants (matmul_*_subgroups.wgsl). */
const SUBGROUP_COLS = 4;

/** Bytes of a linear weight as stored on the GPU. */
export function linearWeightBytes(w: GpuLinear): number {
  const elements = w.outDim * w.inDim;
  if (w.format === 'q4') return elements / 2 + (elements / 32) * (w.scaleF16 ? 2 : 4);
  return elements * (w.f16 ? 2 : 4);
}

/** y [T, N] = x [T, K] · W^T. */
export async function linearCall(
  { device, pipelines }: Ctx,
  x: GPUBuffer,
  w: GpuLinear,
  y: GPUBuffer,
  tokens: number,
  /**
   * Default: the thread variant (a 4x4 register tile per invocation) for K <= 256; above, the K-split
   * subgroup kernel where the pipeline cache allows subgroups, else the tiled workgroup kernel.
   */
  variant?: KernelVariant,
): Promise<KernelCall> {
  let chosen = kernelVariant(w.inDim, variant, undefined, pipelines.subgroups);
  // The subgroup kernel's grid has a workgroup per SUBGROUP_COLS outputs: past the per-dimension limit (a
  // 262k vocabulary) the tiled kernel's 64 per workgroup still fit, so an unforced choice falls back to it.
  if (chosen === 'subgroup' && !variant && Math.ceil(w.outDim / SUBGROUP_COLS) > device.limits.maxComputeWorkgroupsPerDimension) chosen = 'workgroup';
  const thread = chosen === 'thread';
  const subgroup = chosen === 'subgroup';
  const label = w.format === 'q4' ? 'matmul_q4' : 'matmul_dense';
  if (subgroup) requireSubgroups(device, label);
  const workgroups: [number, number] = thread
    ? elementwiseWorkgroups(Math.ceil(tokens / TOKENS) * Math.ceil(w.outDim / 4))
    : subgroup
      ? [Math.ceil(w.outDim / SUBGROUP_COLS), Math.ceil(tokens / TOKENS)]
      : [Math.ceil(w.outDim / WG), Math.ceil(tokens / TOKENS)];
  const cost = { flops: 2 * tokens * w.outDim * w.inDim, bytes: linearWeightBytes(w) + 4 * tokens * (w.inDim + w.outDim) };
  if (w.format === 'q4') {
    if (w.inDim % 32 !== 0) throw new Error(`matmul_q4: K = ${w.inDim} must be a multiple of 32 (the quantization group)`);
    const params = [tokens, w.outDim, w.inDim, w.scaleF16 ? 1 : 0, 0, 0, 0, 0];
    if (subgroup) {
      const pipeline = await pipelines.get('matmul_q4_subgroups.wgsl', 'matmul_q4_subgroup');
      return makeCall(device, label, pipeline, params, [x, w.qWeight, w.scales, y], workgroups, cost);
    }
    const pipeline = await pipelines.get('matmul_q4.wgsl', thread ? 'matmul_q4_thread' : 'matmul_q4');
    // The thread variant reads x as vec4 (binding 7).
    return makeCall(device, label, pipeline, params, [x, w.qWeight, w.scales, y], workgroups, cost, thread ? [7, 2, 3, 4] : undefined);
  }
  if (w.f16 && w.inDim % 2 !== 0) throw new Error(`matmul_dense: f16 weights need an even K, got ${w.inDim}`);
  const pipeline = subgroup
    ? await pipelines.get('matmul_dense_subgroups.wgsl', 'matmul_dense_subgroup')
    : await pipelines.get('matmul_dense.wgsl', thread ? 'matmul_dense_thread' : 'matmul_dense');
  return makeCall(device, label, pipeline, [tokens, w.outDim, w.inDim, w.f16 ? 1 : 0, 0, 0, 0, 0], [x, w.weight, y], workgroups, cost);
}

/**
 * Backward of linearCall through a frozen weight: dx [T, K] (+)= dy [T, N] · W. The weight is read in its
 * stored format (q4 words dequantized in the kernel); no transposed copy and no weight gradient.
 */
export async function linearInputGradCall(
  { device, pipelines }: Ctx,
  dy: GPUBuffer,
  w: GpuLinear,
  dx: GPUBuffer,
  tokens: number,
  accumulate: boolean,
  /**
   * Default: the thread variant for K <= 256, the tiled kernel above. The tiled kernel already reads W
   * coalesced and reduces nothing across invocations, so there is no subgroup variant: 'subgroup' takes it.
   */
  variant?: KernelVariant,
): Promise<KernelCall> {
  const thread = kernelVariant(w.inDim, variant) === 'thread';
  const cost = { flops: 2 * tokens * w.outDim * w.inDim, bytes: linearWeightBytes(w) + 4 * tokens * (w.inDim + w.outDim) };
  const params = (f16: boolean) => [tokens, w.outDim, w.inDim, f16 ? 1 : 0, accumulate ? 1 : 0, 0, 0, 0];
  const rowBlocks = Math.ceil(tokens / TOKENS);
  if (w.format === 'q4') {
    const pipeline = await pipelines.get('matmul_q4.wgsl', thread ? 'matmul_q4_input_grad_thread' : 'matmul_q4_input_grad');
    const workgroups: [number, number] = thread ? elementwiseWorkgroups(rowBlocks * (w.inDim / 8)) : [Math.ceil(w.inDim / 8 / WG), rowBlocks];
    return makeCall(device, 'matmul_q4_input_grad', pipeline, params(w.scaleF16), [w.qWeight, w.scales, dy, dx], workgroups, cost, [2, 3, 5, 6]);
  }
  const pipeline = await pipelines.get('matmul_dense.wgsl', thread ? 'matmul_dense_input_grad_thread' : 'matmul_dense_input_grad');
  const workgroups: [number, number] = thread ? elementwiseWorkgroups(rowBlocks * w.inDim) : [Math.ceil(w.inDim / WG), rowBlocks];
  return makeCall(device, 'matmul_dense_input_grad', pipeline, params(w.f16), [w.weight, dy, dx], workgroups, cost, [2, 4, 5]);
}

/** x [R, D] = table[tokens[r], :], the table being a linear weight [V, D] in any format. */
export async function embeddingCall({ device, pipelines }: Ctx, tokens: GPUBuffer, table: GpuLinear, x: GPUBuffer, rows: number): Promise<KernelCall> {
  const dim = table.inDim;
  const workgroups = elementwiseWorkgroups(rows * dim);
  if (table.format === 'q4') {
    const pipeline = await pipelines.get('embedding_q4.wgsl', 'embedding_q4');
    return makeCall(device, 'embedding_q4', pipeline, [rows, dim, table.scaleF16 ? 1 : 0, 0], [tokens, table.qWeight, table.scales, x], workgroups);
  }
  const pipeline = await pipelines.get('embedding_dense.wgsl', 'embedding_dense');
  return makeCall(device, 'embedding_dense', pipeline, [rows, dim, table.f16 ? 1 : 0, 0], [tokens, table.weight, x], workgroups);
}
