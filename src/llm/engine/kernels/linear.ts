/**
 * Linear layers over the weight formats MLC ships: q4 group-quantized (q4f16_1,
 * q4f32_1) and unquantized (q0f32, q0f16). Weights stay in their stored format on the GPU and are decoded inside
 * the kernels. A weight is a list of row chunks (one, unless it was too large for one storage binding) and every
 * call below returns one dispatch per chunk (and, for a split input gradient, a partial sum after it).
 *
 * The matrix products (MatmulVariant): the tiled GEMM for more than 4 rows (matmul_tiled.wgsl; also every input
 * gradient), the matrix-vector kernel for 1 to 4 rows (matmul_gemv.wgsl), the thread kernels for K <= 256
 * (matmul.wgsl), and the legacy workgroup and subgroup kernels (matmul.wgsl, its SUBGROUPS variant) where the
 * pipeline cache asks for them (PipelineCache.matmul 'legacy'). Each file is one source for both weight formats:
 * the Q4 define selects the q4 weight's reading, and F16 the f16 variants where PipelineCache.f16.
 * Embedding lookups are kernels/embedding.ts. Buffers and Params bind by their WGSL names.
 */
import { createStorageBuffer } from '../../../gpu/buffers';
import {
  elementwiseWorkgroups,
  kernelCall,
  kernelVariant,
  requireSubgroups,
  THREAD_VARIANT_MAX_DIM,
  type KernelCall,
  type KernelCost,
  type KernelVariant,
} from '../../../gpu/kernel';
import type { Kernel, PipelineCache } from '../../../gpu/pipelines';

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
  if (w.format === 'q4')
    return {
      format: 'q4',
      chunks: [{ ...span, qWeight: w.qWeight, scales: w.scales }],
      scaleF16: w.scaleF16,
      outDim: w.outDim,
      inDim: w.inDim,
    };
  return { format: 'dense', chunks: [{ ...span, weight: w.weight }], f16: w.f16, outDim: w.outDim, inDim: w.inDim };
}

/** Every GPU buffer of a weight. */
export function linearBuffers(w: GpuLinear): GPUBuffer[] {
  return w.format === 'q4' ? w.chunks.flatMap((c) => [c.qWeight, c.scales]) : w.chunks.map((c) => c.weight);
}

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

/**
 * Which kernel computes a matrix product (the legacy ones are KernelVariant's three, gpu/kernel.ts):
 * - 'thread': an invocation per 4 x 4 outputs, no shared memory (K <= 256: small models, SwiftShader);
 * - 'gemm': the tiled product (matmul_tiled.wgsl): 64 rows x 64 columns per workgroup, each weight tile
 *   dequantized once into workgroup memory for all 64 rows, 4 x 4 outputs per invocation; the input gradient
 *   the same way, with its sum over N split across workgroups where asked;
 * - 'gemv': the matrix-vector product (matmul_gemv.wgsl) for 1 to 4 rows: K split across a workgroup,
 *   coalesced vec4 weight loads, a subgroup or workgroup reduction;
 * - 'workgroup', 'subgroup': the legacy products (64 columns x 4 rows per workgroup; its K-split subgroup
 *   variant), kept to compare against (PipelineCache matmul: 'legacy').
 */
export type MatmulVariant = KernelVariant | 'gemm' | 'gemv';

/** Rows up to this take the matrix-vector kernel; more take the tiled GEMM. */
export const GEMV_MAX_ROWS = 4;
/** The tiled kernels' output tile (include/matmul_tile.wgsl): rows, columns, and the step of the sum. */
const TILE_ROWS = 64;
const TILE_COLS = 64;
const TILE_K = 32;
/** Invocations per workgroup of the legacy kernels, and their rows per workgroup. */
const WG = 64;
const TOKENS = 4;
/** Output columns per workgroup of the legacy subgroup variants and of the matrix-vector kernels. */
const SUBGROUP_COLS = 4;
const GEMV_COLS = 4;

/**
 * The forward's kernel for K = inDim and `rows` rows: `forced` if given; else the thread variant for
 * K <= 256; else, with the tiled kernels (the default), the matrix-vector kernel for up to 4 rows and the GEMM
 * above; with the legacy ones, the K-split subgroup kernel where the cache allows subgroups, else the workgroup
 * kernel. By shape and by the cache's fixed choices, never by anything else, so one engine always runs the same
 * kernel on the same shape (a row computed by the matrix-vector kernel and by the GEMM differs in the last bits:
 * the sums run in another order).
 */
export function matmulVariant(
  inDim: number,
  rows: number,
  pipelines: Pick<PipelineCache, 'subgroups' | 'matmul'>,
  forced?: MatmulVariant,
): MatmulVariant {
  if (forced) return forced;
  if (pipelines.matmul === 'legacy') return kernelVariant(inDim, undefined, undefined, pipelines.subgroups);
  if (inDim <= THREAD_VARIANT_MAX_DIM) return 'thread';
  return rows <= GEMV_MAX_ROWS ? 'gemv' : 'gemm';
}

/**
 * The input gradient's kernel: `forced` ('subgroup' takes the workgroup kernel: it has no subgroup variant);
 * else the thread variant for K <= 256, the GEMM above (any number of rows: the GEMM reads W once for up to 64),
 * the legacy workgroup kernel with the legacy kernels.
 */
export function inputGradVariant(
  inDim: number,
  pipelines: Pick<PipelineCache, 'matmul'>,
  forced?: MatmulVariant,
): 'thread' | 'workgroup' | 'gemm' {
  const chosen =
    forced ?? (inDim <= THREAD_VARIANT_MAX_DIM ? 'thread' : pipelines.matmul === 'legacy' ? 'workgroup' : 'gemm');
  if (chosen === 'gemv')
    throw new Error(
      'matmul input gradient: there is no matrix-vector variant (the GEMM reads W once for up to 64 rows)',
    );
  return chosen === 'subgroup' ? 'workgroup' : chosen;
}

/**
 * How many times one pass over `rows` rows reads each weight element from global memory (KernelCost.weightBytes):
 * the GEMM once per 64-row tile, the matrix-vector kernel once, the thread and legacy kernels once per 4 rows.
 */
export function weightReadsPerPass(variant: MatmulVariant, rows: number): number {
  if (variant === 'gemm') return Math.ceil(rows / TILE_ROWS);
  if (variant === 'gemv') return 1;
  return Math.ceil(rows / TOKENS);
}

/** Workgroups the input-gradient GEMM aims for before it splits its sum: enough to fill a large GPU. */
const SPLIT_TARGET_WORKGROUPS = 512;
/** Rows of W one split sums at least (16 steps of the tile). */
const SPLIT_MIN_ROWS = 512;

/**
 * Splits of the input gradient's sum over N (`rows` rows of dy, W [N, K]) when the caller allows them: 1 when
 * the output tiles alone give SPLIT_TARGET_WORKGROUPS workgroups; else as many as reach that, each summing at
 * least SPLIT_MIN_ROWS rows of W, and no more than N / K, so that the partial sums [S, rows, K] take no more
 * memory than dy [rows, N] itself. For the lm_head (N a vocabulary, rows the scored tokens) this turns the
 * few dozen workgroups of a serial walk over 32k-128k rows into several hundred.
 */
export function inputGradSplits(rows: number, outDim: number, inDim: number): number {
  const tiles = Math.ceil(rows / TILE_ROWS) * Math.ceil(inDim / TILE_COLS);
  if (tiles >= SPLIT_TARGET_WORKGROUPS) return 1;
  const wanted = Math.ceil(SPLIT_TARGET_WORKGROUPS / tiles);
  return Math.max(1, Math.min(wanted, Math.floor(outDim / SPLIT_MIN_ROWS), Math.floor(outDim / inDim)));
}

/**
 * Words of the partial sums an input gradient asked to split (InputGradOptions.split) allocates with the default
 * (tiled) kernels: [S, rows, K], or nothing when the shape takes the thread variant or one split. For a weight
 * split by rows this bounds every chunk's (a chunk's splits are at most the whole weight's).
 */
export function inputGradPartialWords(rows: number, outDim: number, inDim: number): number {
  if (inDim <= THREAD_VARIANT_MAX_DIM) return 0;
  const splits = inputGradSplits(rows, outDim, inDim);
  return splits > 1 ? splits * rows * inDim : 0;
}

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

function checkShape(label: string, w: GpuLinear): void {
  if (w.format === 'q4' && w.inDim % 32 !== 0)
    throw new Error(`${label}: K = ${w.inDim} must be a multiple of 32 (the quantization group)`);
  if (w.format === 'dense' && w.f16 && w.inDim % 2 !== 0)
    throw new Error(`${label}: f16 weights need an even K, got ${w.inDim}`);
}

/** The weight's buffers by their WGSL names, and its f16 flag, for one chunk. */
function weightBindings(
  w: GpuLinear,
  chunk: Q4Chunk | DenseChunk,
): { buffers: Record<string, GPUBuffer>; flag: Record<string, number> } {
  if (w.format === 'q4') {
    const c = chunk as Q4Chunk;
    return { buffers: { q_weight: c.qWeight, scales: c.scales }, flag: { scale_f16: w.scaleF16 ? 1 : 0 } };
  }
  return { buffers: { w: (chunk as DenseChunk).weight }, flag: { weight_f16: w.f16 ? 1 : 0 } };
}

/** Params fields of every matrix product of one chunk: its shape, the weight's f16 flag, its columns of y / dy. */
function chunkParams(w: GpuLinear, chunk: Q4Chunk | DenseChunk, tokens: number): Record<string, number> {
  const { flag } = weightBindings(w, chunk);
  return { tokens, out_dim: chunk.rows, in_dim: w.inDim, ...flag, y_col0: chunk.rowStart, y_stride: w.outDim };
}

/**
 * The cost of one chunk's product over `tokens` rows: 2 T N K flops; the chunk's weight bytes read `reads` times
 * (weightReadsPerPass), plus `activationWords` f32 of x, y, dy or dx moved.
 */
function chunkCost(w: GpuLinear, rows: number, tokens: number, reads: number, activationWords: number): KernelCost {
  const weightBytes = chunkBytes(w, rows) * reads;
  return { flops: 2 * tokens * rows * w.inDim, bytes: weightBytes + 4 * activationWords, weightBytes };
}

/** What the cache's choices and the variant make of a matrix product: shader file, defines, label suffix. */
function variantShader(
  format: 'q4' | 'dense',
  variant: 'gemm' | 'gemv',
  pipelines: PipelineCache,
): { file: string; defines: Record<string, boolean> } {
  const file = `matmul_${variant === 'gemm' ? 'tiled' : 'gemv'}.wgsl`;
  // The dense matrix-vector kernel has no f16 variant (its weights are already in their final precision).
  const f16 = pipelines.f16 && !(format === 'dense' && variant === 'gemv');
  const defines: Record<string, boolean> = { F16: f16, Q4: format === 'q4' };
  if (variant === 'gemv') defines.SUBGROUPS = pipelines.subgroups;
  return { file, defines };
}

/**
 * y [T, N] = x [T, K] · W^T, one call per row chunk of W: chunk c (rows n0 .. n0 + Nc) writes columns
 * n0 .. n0 + Nc of y, whose rows stay N wide (Params y_col0 = n0, y_stride = N). The kernel: matmulVariant
 * (forced by `variant`); the GEMM and the matrix-vector kernel in f16 where the cache says so (PipelineCache.f16).
 */
export async function linearCall(
  { device, pipelines }: Ctx,
  x: GPUBuffer,
  w: GpuLinear,
  y: GPUBuffer,
  tokens: number,
  /** A forced kernel (tests, benchmarks); by default matmulVariant picks by shape and the cache's choices. */
  variant?: MatmulVariant,
): Promise<KernelCall[]> {
  let chosen = matmulVariant(w.inDim, tokens, pipelines, variant);
  // The legacy subgroup kernel's grid has a workgroup per SUBGROUP_COLS outputs: past the per-dimension limit (a
  // 262k vocabulary) the workgroup kernel's 64 per workgroup still fit, so an unforced choice falls back to it.
  // Decided on the largest chunk, so every chunk of a weight runs the same variant.
  const maxRows = Math.max(...w.chunks.map((c) => c.rows));
  if (
    chosen === 'subgroup' &&
    !variant &&
    Math.ceil(maxRows / SUBGROUP_COLS) > device.limits.maxComputeWorkgroupsPerDimension
  )
    chosen = 'workgroup';
  const label = w.format === 'q4' ? 'matmul_q4' : 'matmul_dense';
  checkShape(label, w);
  if (chosen === 'gemv' && tokens > GEMV_MAX_ROWS)
    throw new Error(`${label}: the matrix-vector kernel takes up to ${GEMV_MAX_ROWS} rows, got ${tokens}`);
  const kernel = await forwardKernel({ device, pipelines }, w.format, chosen, tokens, label);
  const reads = weightReadsPerPass(chosen, tokens);
  // The q4 kernels read x as vec4 (x4), all but the legacy workgroup one.
  const xName = w.format === 'q4' && chosen !== 'workgroup' ? 'x4' : 'x';
  return w.chunks.map((chunk) => {
    const rows = chunk.rows;
    const { buffers } = weightBindings(w, chunk);
    const { workgroups, params } = forwardGrid(chosen, rows, tokens, device.limits.maxComputeWorkgroupsPerDimension);
    // x is read once per column tile by the GEMM, and once (the rest from the cache) by the other kernels.
    const xReads = chosen === 'gemm' ? Math.ceil(rows / TILE_COLS) : 1;
    return kernelCall(device, kernel, {
      params: { ...chunkParams(w, chunk, tokens), ...params },
      buffers: { [xName]: x, ...buffers, y },
      workgroups,
      cost: chunkCost(w, rows, tokens, reads, tokens * (w.inDim * xReads + rows)),
      label: chosen === 'gemm' || chosen === 'gemv' ? `${label}_${chosen}` : label,
    });
  });
}

/**
 * The forward's pipeline: the GEMM or the matrix-vector kernel (variantShader; one matrix-vector pipeline per row
 * count, ROWS being its register tile's live rows), or a legacy kernel of matmul.wgsl (its SUBGROUPS variant for
 * 'subgroup').
 */
async function forwardKernel(
  { device, pipelines }: Ctx,
  format: GpuLinear['format'],
  variant: MatmulVariant,
  tokens: number,
  label: string,
): Promise<Kernel> {
  if (variant === 'gemm' || variant === 'gemv') {
    const { file, defines } = variantShader(format, variant, pipelines);
    const constants = variant === 'gemv' ? { ROWS: tokens } : undefined;
    return pipelines.kernel(file, `matmul_${variant}`, { defines, constants });
  }
  const subgroup = variant === 'subgroup';
  if (subgroup) requireSubgroups(device, label);
  const entry = subgroup ? 'matmul_subgroup' : variant === 'thread' ? 'matmul_thread' : 'matmul';
  return pipelines.kernel('matmul.wgsl', entry, { defines: { Q4: format === 'q4', SUBGROUPS: subgroup } });
}

/** The forward's workgroups for a chunk of `rows` rows of W, and the Params fields of its kernel alone. */
function forwardGrid(
  variant: MatmulVariant,
  rows: number,
  tokens: number,
  limit: number,
): { workgroups: [number, number, number?]; params: Record<string, number> } {
  const legacy = { accumulate: 0, _pad2: 0 };
  switch (variant) {
    case 'gemm':
      return {
        workgroups: [Math.ceil(tokens / TILE_ROWS), Math.ceil(rows / TILE_COLS)],
        params: { split_rows: 0, split_stride: 0, accumulate: 0 },
      };
    case 'gemv':
      return { workgroups: elementwiseWorkgroups(Math.ceil(rows / GEMV_COLS), 1, limit), params: {} };
    case 'thread':
      return { workgroups: elementwiseWorkgroups(Math.ceil(tokens / TOKENS) * Math.ceil(rows / 4)), params: legacy };
    case 'subgroup':
      return { workgroups: [Math.ceil(rows / SUBGROUP_COLS), Math.ceil(tokens / TOKENS)], params: legacy };
    case 'workgroup':
      return { workgroups: [Math.ceil(rows / WG), Math.ceil(tokens / TOKENS)], params: legacy };
  }
}

export interface InputGradOptions {
  /** Force a kernel (tests, benchmarks). */
  variant?: MatmulVariant;
  /**
   * Let the GEMM split its sum over N across workgroups (inputGradSplits) into a scratch buffer of partial sums
   * [S, T, K] that the calls own, summed by matmul_partial_sum.wgsl. For the products whose sum is long and
   * output small (the lm_head's: a vocabulary); a number forces that many splits (tests). Default: no split.
   */
  split?: boolean | number;
  /**
   * Where a split writes its partial sums: at least S * T * K f32 (inputGradPartialWords for the unforced
   * split), e.g. the workspace's (activations.ts). Without it the calls allocate their own and own it.
   */
  partials?: GPUBuffer;
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
  /** A forced kernel, or the options (inputGradVariant picks by shape and the cache's choices). */
  options: MatmulVariant | InputGradOptions = {},
): Promise<KernelCall[]> {
  const {
    variant: forced,
    split,
    partials: given,
  } = typeof options === 'string' ? { variant: options, split: false, partials: undefined } : options;
  const variant = inputGradVariant(w.inDim, pipelines, forced);
  const label = w.format === 'q4' ? 'matmul_q4' : 'matmul_dense';
  checkShape(`${label}_input_grad`, w);
  if (variant !== 'gemm')
    return legacyInputGradCalls({ device, pipelines }, dy, w, dx, tokens, accumulate, variant, label);

  const { file, defines } = variantShader(w.format, 'gemm', pipelines);
  const kernel = await pipelines.kernel(file, 'matmul_input_grad_gemm', { defines });
  const reads = weightReadsPerPass('gemm', tokens);
  const calls: KernelCall[] = [];
  // Splits per chunk (a chunk is a whole weight unless the weight was split by rows); one scratch serves every
  // chunk, whose calls run one after the other.
  const splitsOf = (rows: number) =>
    typeof split === 'number' ? split : split ? inputGradSplits(tokens, rows, w.inDim) : 1;
  const maxSplits = Math.max(...w.chunks.map((c) => splitsOf(c.rows)));
  const count = tokens * w.inDim;
  const partialBytes = maxSplits > 1 ? maxSplits * count * 4 : 0;
  if (given && given.size < partialBytes)
    throw new Error(`${label}_input_grad: the partial sums need ${partialBytes} bytes, the buffer has ${given.size}`);
  const owned =
    partialBytes > 0 && !given ? createStorageBuffer(device, partialBytes, `${label} input grad partials`) : null;
  const partials = partialBytes > 0 ? (given ?? owned) : null;
  for (const [i, chunk] of w.chunks.entries()) {
    const rows = chunk.rows;
    const splits = Math.min(splitsOf(rows), maxSplits);
    const splitRows = Math.ceil(rows / splits / TILE_K) * TILE_K;
    const used = Math.ceil(rows / splitRows);
    const add = accumulate || i > 0;
    const { buffers } = weightBindings(w, chunk);
    const cost = chunkCost(w, rows, tokens, reads, tokens * (rows * Math.ceil(w.inDim / TILE_COLS) + w.inDim * used));
    const params = {
      ...chunkParams(w, chunk, tokens),
      split_rows: splitRows,
      split_stride: used > 1 ? count : 0,
      accumulate: used > 1 ? 0 : add ? 1 : 0,
    };
    const workgroups: [number, number, number] = [Math.ceil(tokens / TILE_ROWS), Math.ceil(w.inDim / TILE_COLS), used];
    const out = used > 1 ? partials! : dx;
    calls.push(
      kernelCall(device, kernel, {
        params,
        buffers: { dy, ...buffers, dx: out },
        workgroups,
        cost,
        label: `${label}_input_grad`,
      }),
    );
    if (used > 1) calls.push(await partialSumCall({ device, pipelines }, partials!, dx, count, used, add));
  }
  // The scratch belongs to the last call, so disposeCalls releases it with the rest.
  if (owned) calls[calls.length - 1].owned.push(owned);
  return calls;
}
/** dx (+)= the sum of `splits` partial input gradients of `count` elements each (matmul_partial_sum.wgsl). */
async function partialSumCall(
  { device, pipelines }: Ctx,
  partials: GPUBuffer,
  dx: GPUBuffer,
  count: number,
  splits: number,
  accumulate: boolean,
): Promise<KernelCall> {
  const kernel = await pipelines.kernel('matmul_partial_sum.wgsl', 'matmul_partial_sum');
  return kernelCall(device, kernel, {
    params: { count, splits, accumulate: accumulate ? 1 : 0 },
    buffers: { partials, dx },
    workgroups: elementwiseWorkgroups(count),
    cost: { flops: count * splits, bytes: 4 * count * (splits + (accumulate ? 2 : 1)) },
  });
}

/** The legacy input gradients (matmul.wgsl: a serial walk over N per invocation). */
async function legacyInputGradCalls(
  ctx: Ctx,
  dy: GPUBuffer,
  w: GpuLinear,
  dx: GPUBuffer,
  tokens: number,
  accumulate: boolean,
  variant: 'thread' | 'workgroup',
  label: string,
): Promise<KernelCall[]> {
  const { device, pipelines } = ctx;
  const thread = variant === 'thread';
  const rowBlocks = Math.ceil(tokens / TOKENS);
  const kernel = await pipelines.kernel('matmul.wgsl', thread ? 'matmul_input_grad_thread' : 'matmul_input_grad', {
    defines: { Q4: w.format === 'q4' },
  });
  const reads = weightReadsPerPass(variant, tokens);
  return w.chunks.map((chunk, i) => {
    const cost = chunkCost(w, chunk.rows, tokens, reads, tokens * (w.inDim + chunk.rows));
    const add = accumulate || i > 0;
    const { buffers } = weightBindings(w, chunk);
    const params = { ...chunkParams(w, chunk, tokens), accumulate: add ? 1 : 0, _pad2: 0 };
    // An invocation per q4 word column (8 values of k) or per dense column k, times the row blocks.
    const columns = w.format === 'q4' ? w.inDim / 8 : w.inDim;
    const workgroups: [number, number] = thread
      ? elementwiseWorkgroups(rowBlocks * columns)
      : [Math.ceil(columns / WG), rowBlocks];
    return kernelCall(device, kernel, {
      params,
      buffers: { ...buffers, dy, dx },
      workgroups,
      cost,
      label: `${label}_input_grad`,
    });
  });
}

/**
 * Which matrix-product kernel the engine's projections of a weight like `w` run for `rows` rows on this pipeline
 * cache, and in which precision (engine.ts kernelInfo; `score --json` and the benchmarks report it): the variant
 * linearCall takes for K = w.inDim, f16 where the tiled kernels run in f16 (variantShader).
 */
export function matmulKernelInfo(
  pipelines: PipelineCache,
  w: GpuLinear,
  rows = GEMV_MAX_ROWS + 1,
): { matmul: string; precision: 'f16' | 'f32' } {
  const variant = matmulVariant(w.inDim, rows, pipelines);
  const label = w.format === 'q4' ? 'matmul_q4' : 'matmul_dense';
  const tiled = variant === 'gemm' || variant === 'gemv';
  const f16 = tiled && variantShader(w.format, variant, pipelines).defines.F16;
  return {
    matmul: variant === 'workgroup' ? label : `${label}_${variant}`,
    precision: f16 ? 'f16' : 'f32',
  };
}
