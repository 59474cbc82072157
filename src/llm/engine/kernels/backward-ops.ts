/**
 * Prepared calls of the backward kernels (each lives in its forward's shader file). The builders mirror
 * forward-ops.ts; every one says which forward it differentiates. Attention's backward is in attention.ts.
 */
import { elementwiseWorkgroups, kernelVariant, makeCall, requireSubgroups, type KernelCall, type KernelVariant } from '../../../gpu/kernel';
import { LOGSOFTMAX_THREAD_MAX_VOCAB } from './forward-ops';
import type { PipelineCache } from '../../../gpu/pipelines';

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

/** rmsnorm_forward's input gradient: dx [T, D] (+)= f(x, weight, rstd, dy). */
export async function rmsnormBackwardCall(
  { device, pipelines }: Ctx,
  b: { x: GPUBuffer; weight: GPUBuffer; dy: GPUBuffer; rstd: GPUBuffer; dx: GPUBuffer },
  rows: number,
  dim: number,
  accumulate: boolean,
  /** Default: one thread per row for D <= 256, one workgroup per row above (through subgroups where allowed). */
  variant?: KernelVariant,
): Promise<KernelCall> {
  const chosen = kernelVariant(dim, variant, undefined, pipelines.subgroups);
  const thread = chosen === 'thread';
  if (chosen === 'subgroup') requireSubgroups(device, 'rmsnorm_backward');
  const pipeline =
    chosen === 'subgroup'
      ? await pipelines.get('rmsnorm_subgroups.wgsl', 'rmsnorm_backward_subgroup')
      : await pipelines.get('rmsnorm.wgsl', thread ? 'rmsnorm_backward_rows' : 'rmsnorm_backward');
  return makeCall(device, 'rmsnorm_backward', pipeline, [rows, dim, { f32: 0 }, accumulate ? 1 : 0], [b.x, b.weight, b.dy, b.rstd, b.dx], thread ? elementwiseWorkgroups(rows) : [rows], undefined, [1, 2, 5, 6, 7]);
}

/** silu_mul_forward's input gradient: d_gate_up [R, 2I] from gate_up and dh [R, I]. */
export async function siluMulBackwardCall({ device, pipelines }: Ctx, gateUp: GPUBuffer, dh: GPUBuffer, dGateUp: GPUBuffer, rows: number, inter: number): Promise<KernelCall> {
  const pipeline = await pipelines.get('silu_mul.wgsl', 'silu_mul_backward');
  return makeCall(device, 'silu_mul_backward', pipeline, [rows, inter, 0, 0], [gateUp, dh, dGateUp], elementwiseWorkgroups(rows * inter), undefined, [1, 3, 4]);
}

/** rope_forward's gradient: the inverse rotation of the Q and K heads of dqkv, in place. */
export async function ropeBackwardCall(
  { device, pipelines }: Ctx,
  dqkv: GPUBuffer,
  positions: GPUBuffer,
  cosSin: GPUBuffer,
  rows: number,
  heads: number,
  kvHeads: number,
  headDim: number,
): Promise<KernelCall> {
  const pipeline = await pipelines.get('rope.wgsl', 'rope_forward');
  const rotated = heads + kvHeads;
  return makeCall(
    device,
    'rope_backward',
    pipeline,
    [rows, rotated, headDim, (heads + 2 * kvHeads) * headDim, { f32: -1 }, 0, 0, 0],
    [positions, cosSin, dqkv],
    elementwiseWorkgroups((rows * rotated * headDim) / 2),
  );
}

/** logsoftmax_gather's gradient: dlogits [J, V] from the kept logits and g [J] = dL/dlogprob. */
export async function logSoftmaxGatherBackwardCall(
  { device, pipelines }: Ctx,
  logits: GPUBuffer,
  targets: GPUBuffer,
  g: GPUBuffer,
  dlogits: GPUBuffer,
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
  if (chosen === 'subgroup') requireSubgroups(device, 'logsoftmax_gather_backward');
  const pipeline =
    chosen === 'subgroup'
      ? await pipelines.get('logsoftmax_gather_subgroups.wgsl', 'logsoftmax_gather_backward_subgroup')
      : await pipelines.get('logsoftmax_gather.wgsl', thread ? 'logsoftmax_gather_backward_rows' : 'logsoftmax_gather_backward');
  return makeCall(
    device,
    'logsoftmax_gather_backward',
    pipeline,
    [rows, vocab, 0, 0],
    [logits, targets, g, dlogits],
    thread ? elementwiseWorkgroups(rows) : [rows],
    { flops: 4 * rows * vocab, bytes: 8 * rows * vocab },
    [1, 2, 4, 5],
  );
}

/** gather_rows' gradient: dx [R, D] (+)= the sum of dout rows gathered from each row (CSR sources). */
export async function scatterAddRowsCall(
  { device, pipelines }: Ctx,
  dout: GPUBuffer,
  offsets: GPUBuffer,
  sources: GPUBuffer,
  dx: GPUBuffer,
  rows: number,
  dim: number,
  accumulate: boolean,
): Promise<KernelCall> {
  const pipeline = await pipelines.get('gather_rows.wgsl', 'scatter_add_rows');
  return makeCall(device, 'scatter_add_rows', pipeline, [rows, dim, accumulate ? 1 : 0, 0], [dout, offsets, sources, dx], elementwiseWorkgroups(rows * dim), undefined, [5, 6, 7, 8]);
}
