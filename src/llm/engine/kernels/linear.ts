/**
 * Linear layers and embedding lookups over the weight formats MLC ships: q4 group-quantized (q4f16_1,
 * q4f32_1: matmul_q4.wgsl, embedding_q4.wgsl) and unquantized (q0f32, q0f16: matmul_dense.wgsl,
 * embedding_dense.wgsl). Weights stay in their stored format on the GPU and are decoded inside the kernels.
 * A weight is a list of row chunks (one, unless it was too large for one storage binding) and every call
 * below returns one dispatch per chunk.
 */
import { elementwiseWorkgroups, kernelVariant, makeCall, requireSubgroups, type KernelCall, type KernelVariant } from '../../../gpu/kernel';
import type { PipelineCache } from '../../../gpu/pipelines';

/**
 * Rows rowStart .. rowStart + rows of a weight, in GPU buffers of their own. A weight whose buffer would
 * exceed the storage binding limit (a vocabulary-sized embedding or lm_head) is split by output rows into
 * several chunks (gpu-weights.ts, planRowChunks); every other weight is one chunk of all its rows.
 */
export interface Q4Chunk {
  rowStart: number;
  rows: number;
  /** u32 [rows, K/8] */
  qWeight: GPUBuffer;
  /** [rows, K/32]: f32, or f16 packed two per u32 when scaleF16 */
  scales: GPUBuffer;
}

export interface DenseChunk {
  rowStart: number;
  rows: number;
  /** [rows, K]: f32, or f16 packed two per u32 when f16 */
  weight: GPUBuffer;
}

/** A weight W [N, K] (N = outDim, K = inDim) as row chunks covering 0 .. N in order. */
export type GpuLinear =
  | { format: 'q4'; chunks: Q4Chunk[]; scaleF16: boolean; outDim: number; inDim: number }
  | { format: 'dense'; chunks: DenseChunk[]; f16: boolean; outDim: number; inDim: number };

/** An unsplit weight, as one buffer set. */
export type WholeLinear =
  | { format: 'q4'; qWeight: GPUBuffer; scales: GPUBuffer; scaleF16: boolean; outDim: number; inDim: number }
  | { format: 'dense'; weight: GPUBuffer; f16: boolean; outDim: number; inDim: number };

/** The one-chunk GpuLinear of an unsplit weight. */
export function wholeLinear(w: WholeLinear): GpuLinear {
  const span = { rowStart: 0, rows: w.outDim };
  if (w.format === 'q4') return { format: 'q4', chunks: [{ ...span, qWeight: w.qWeight, scales: w.scales }], scaleF16: w.scaleF16, outDim: w.outDim, inDim: w.inDim };
  return { format: 'dense', chunks: [{ ...span, weight: w.weight }], f16: w.f16, outDim: w.outDim, inDim: w.inDim };
}

/** Every GPU buffer of a weight. */
export function linearBuffers(w: GpuLinear): GPUBuffer[] {
  return w.format === 'q4' ? w.chunks.flatMap((c) => [c.qWeight, c.scales]) : w.chunks.map((c) => c.weight);
}

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

/** Bytes of one chunk's rows (q4: words and scales). */
function chunkBytes(w: GpuLinear, rows: number): number {
  return linearWeightBytes({ ...w, outDim: rows } as GpuLinear);
}

/**
 * y [T, N] = x [T, K] · W^T, one call per row chunk of W: chunk c (rows n0 .. n0 + Nc) writes columns
 * n0 .. n0 + Nc of y, whose rows stay N wide (Params y_col0 = n0, y_stride = N).
 */
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
): Promise<KernelCall[]> {
  let chosen = kernelVariant(w.inDim, variant, undefined, pipelines.subgroups);
  // The subgroup kernel's grid has a workgroup per SUBGROUP_COLS outputs: past the per-dimension limit (a
  // 262k vocabulary) the tiled kernel's 64 per workgroup still fit, so an unforced choice falls back to it.
  // Decided on the largest chunk, so every chunk of a weight runs the same variant.
  const maxRows = Math.max(...w.chunks.map((c) => c.rows));
  if (chosen === 'subgroup' && !variant && Math.ceil(maxRows / SUBGROUP_COLS) > device.limits.maxComputeWorkgroupsPerDimension) chosen = 'workgroup';
  const thread = chosen === 'thread';
  const subgroup = chosen === 'subgroup';
  const label = w.format === 'q4' ? 'matmul_q4' : 'matmul_dense';
  if (subgroup) requireSubgroups(device, label);
  if (w.format === 'q4' && w.inDim % 32 !== 0) throw new Error(`matmul_q4: K = ${w.inDim} must be a multiple of 32 (the quantization group)`);
  if (w.format === 'dense' && w.f16 && w.inDim % 2 !== 0) throw new Error(`matmul_dense: f16 weights need an even K, got ${w.inDim}`);
  const file = `${label}${subgroup ? '_subgroups' : ''}.wgsl`;
  const pipeline = await pipelines.get(file, subgroup ? `${label}_subgroup` : thread ? `${label}_thread` : label);
  const calls: KernelCall[] = [];
  for (const chunk of w.chunks) {
    const rows = chunk.rows;
    const workgroups: [number, number] = thread
      ? elementwiseWorkgroups(Math.ceil(tokens / TOKENS) * Math.ceil(rows / 4))
      : subgroup
        ? [Math.ceil(rows / SUBGROUP_COLS), Math.ceil(tokens / TOKENS)]
        : [Math.ceil(rows / WG), Math.ceil(tokens / TOKENS)];
    // Every variant reads the chunk's weights once per block of TOKENS rows.
    const weightBytes = chunkBytes(w, rows) * Math.ceil(tokens / TOKENS);
    const cost = {
      flops: 2 * tokens * rows * w.inDim,
      bytes: chunkBytes(w, rows) + 4 * tokens * (w.inDim + rows),
      weightBytes,
    };
    // Params: T, this chunk's rows, K, f16 flag, accumulate (unused), y_col0, y_stride, pad.
    const params = (f16: boolean) => [tokens, rows, w.inDim, f16 ? 1 : 0, 0, chunk.rowStart, w.outDim, 0];
    if (w.format === 'q4') {
      const c = chunk as Q4Chunk;
      // The thread variant reads x as vec4 (binding 7).
      calls.push(makeCall(device, label, pipeline, params(w.scaleF16), [x, c.qWeight, c.scales, y], workgroups, cost, thread ? [7, 2, 3, 4] : undefined));
    } else {
      calls.push(makeCall(device, label, pipeline, params(w.f16), [x, (chunk as DenseChunk).weight, y], workgroups, cost));
    }
  }
  return calls;
}

/**
 * Backward of linearCall through a frozen weight: dx [T, K] (+)= dy [T, N] · W. The weight is read in its
 * stored format (q4 words dequantized in the kernel); no transposed copy and no weight gradient. One call
 * per row chunk: chunk c reads dy columns n0 .. n0 + Nc (Params y_col0, y_stride as in the forward) and
 * every chunk after the first adds into dx.
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
): Promise<KernelCall[]> {
  const thread = kernelVariant(w.inDim, variant) === 'thread';
  const rowBlocks = Math.ceil(tokens / TOKENS);
  const label = w.format === 'q4' ? 'matmul_q4' : 'matmul_dense';
  const pipeline = await pipelines.get(`${label}.wgsl`, thread ? `${label}_input_grad_thread` : `${label}_input_grad`);
  const calls: KernelCall[] = [];
  w.chunks.forEach((chunk, i) => {
    const rows = chunk.rows;
    const weightBytes = chunkBytes(w, rows) * rowBlocks;
    const cost = {
      flops: 2 * tokens * rows * w.inDim,
      bytes: chunkBytes(w, rows) + 4 * tokens * (w.inDim + rows),
      weightBytes,
    };
    const add = accumulate || i > 0;
    const params = (f16: boolean) => [tokens, rows, w.inDim, f16 ? 1 : 0, add ? 1 : 0, chunk.rowStart, w.outDim, 0];
    if (w.format === 'q4') {
      const c = chunk as Q4Chunk;
      const workgroups: [number, number] = thread ? elementwiseWorkgroups(rowBlocks * (w.inDim / 8)) : [Math.ceil(w.inDim / 8 / WG), rowBlocks];
      calls.push(makeCall(device, `${label}_input_grad`, pipeline, params(w.scaleF16), [c.qWeight, c.scales, dy, dx], workgroups, cost, [2, 3, 5, 6]));
    } else {
      const workgroups: [number, number] = thread ? elementwiseWorkgroups(rowBlocks * w.inDim) : [Math.ceil(w.inDim / WG), rowBlocks];
      calls.push(makeCall(device, `${label}_input_grad`, pipeline, params(w.f16), [(chunk as DenseChunk).weight, dy, dx], workgroups, cost, [2, 4, 5]));
    }
  });
  return calls;
}

/**
 * Which matrix-product kernel the engine's projections of a weight like `w` run on this pipeline cache, and in
 * which precision (engine.ts kernelInfo; `score --json` and the benchmarks report it): the variant linearCall
 * takes for K = w.inDim.
 */
export function matmulKernelInfo(pipelines: PipelineCache, w: GpuLinear): { matmul: string; precision: 'f16' | 'f32' } {
  const variant = kernelVariant(w.inDim, undefined, undefined, pipelines.subgroups);
  const label = w.format === 'q4' ? 'matmul_q4' : 'matmul_dense';
  return {
    matmul: variant === 'subgroup' ? `${label}_subgroup` : variant === 'thread' ? `${label}_thread` : label,
    precision: 'f32',
  };
}
