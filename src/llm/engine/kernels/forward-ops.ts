/**
 * Prepared calls of the forward kernels other than the projections (matmul-q4.ts), RMSNorm (rmsnorm.ts) and
 * attention (attention.ts). Each builder takes the buffers and shapes, checks what the kernel assumes, and returns
 * a KernelCall.
 */
import { elementwiseWorkgroups, kernelVariant, makeCall, requireSubgroups, type KernelCall, type KernelVariant } from '../../../gpu/kernel';
import type { PipelineCache } from '../../../gpu/pipelines';

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

/** Vocabularies up to this take logsoftmax_gather's thread-per-row variants. */
export const LOGSOFTMAX_THREAD_MAX_VOCAB = 4096;

/** rope.wgsl: rotates the Q and K heads of qkv [R, (H + 2*KVH) * hd] in place; cosSin from ropeTable(). */
export async function ropeCall(
  { device, pipelines }: Ctx,
  qkv: GPUBuffer,
  positions: GPUBuffer,
  cosSin: GPUBuffer,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
): Promise<KernelCall> {
  if (headDim % 2 !== 0) throw new Error(`rope: head_dim ${headDim} must be even`);
  const pipeline = await pipelines.get('rope.wgsl', 'rope_forward');
  const rotated = heads + kvHeads;
  return makeCall(
    device,
    'rope_forward',
    pipeline,
    [rows, rotated, headDim, (heads + 2 * kvHeads) * headDim, { f32: 1 }, 0, 0, 0],
    [positions, cosSin, qkv],
    elementwiseWorkgroups((rows * rotated * headDim) / 2),
  );
}

/** silu_mul.wgsl: gate_up [R, 2I] -> h [R, I]. */
export async function siluMulCall({ device, pipelines }: Ctx, gateUp: GPUBuffer, h: GPUBuffer, rows: number, inter: number): Promise<KernelCall> {
  const pipeline = await pipelines.get('silu_mul.wgsl', 'silu_mul_forward');
  return makeCall(device, 'silu_mul_forward', pipeline, [rows, inter, 0, 0], [gateUp, h], elementwiseWorkgroups(rows * inter));
}

/** residual_add.wgsl: x += y over `count` elements. */
export async function residualAddCall({ device, pipelines }: Ctx, x: GPUBuffer, y: GPUBuffer, count: number): Promise<KernelCall> {
  const pipeline = await pipelines.get('residual_add.wgsl', 'residual_add');
  return makeCall(device, 'residual_add', pipeline, [count, 0, 0, 0], [x, y], elementwiseWorkgroups(count));
}

/** residual_add.wgsl, out of place: z = x + y over `count` elements. */
export async function addOutCall({ device, pipelines }: Ctx, x: GPUBuffer, y: GPUBuffer, z: GPUBuffer, count: number): Promise<KernelCall> {
  const pipeline = await pipelines.get('residual_add.wgsl', 'add_out');
  return makeCall(device, 'add_out', pipeline, [count, 0, 0, 0], [y, z, x], elementwiseWorkgroups(count), undefined, [2, 3, 4]);
}

/** residual_add.wgsl's copy: z = x over `count` elements, inside a compute pass. */
export async function copyCall({ device, pipelines }: Ctx, x: GPUBuffer, z: GPUBuffer, count: number): Promise<KernelCall> {
  const pipeline = await pipelines.get('residual_add.wgsl', 'copy_out');
  return makeCall(device, 'copy', pipeline, [count, 0, 0, 0], [z, x], elementwiseWorkgroups(count), undefined, [3, 4]);
}

/** gather_rows.wgsl: out [J, D] = x[rows[j], :]. */
export async function gatherRowsCall({ device, pipelines }: Ctx, x: GPUBuffer, rows: GPUBuffer, out: GPUBuffer, count: number, dim: number): Promise<KernelCall> {
  const pipeline = await pipelines.get('gather_rows.wgsl', 'gather_rows');
  return makeCall(device, 'gather_rows', pipeline, [count, dim, 0, 0], [x, rows, out], elementwiseWorkgroups(count * dim));
}

/** logsoftmax_gather.wgsl: out [J] = log softmax(logits[j, :])[targets[j]]. */
export async function logSoftmaxGatherCall(
  { device, pipelines }: Ctx,
  logits: GPUBuffer,
  targets: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  vocab: number,
  /**
   * Default: one thread per row for V <= LOGSOFTMAX_THREAD_MAX_VOCAB, one workgroup per row above (through
   * subgroups where the pipeline cache allows them: logsoftmax_gather_subgroups.wgsl).
   */
  variant?: KernelVariant,
): Promise<KernelCall> {
  const chosen = kernelVariant(vocab, variant, LOGSOFTMAX_THREAD_MAX_VOCAB, pipelines.subgroups);
  const thread = chosen === 'thread';
  if (chosen === 'subgroup') requireSubgroups(device, 'logsoftmax_gather');
  const pipeline =
    chosen === 'subgroup'
      ? await pipelines.get('logsoftmax_gather_subgroups.wgsl', 'logsoftmax_gather_subgroup')
      : await pipelines.get('logsoftmax_gather.wgsl', thread ? 'logsoftmax_gather_rows' : 'logsoftmax_gather');
  return makeCall(device, 'logsoftmax_gather', pipeline, [rows, vocab, 0, 0], [logits, targets, out], thread ? elementwiseWorkgroups(rows) : [rows]);
}
