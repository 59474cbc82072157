/**
 * Row gather and its gradient (shaders/gather_rows.wgsl):
 *
 *   forward    out [J, D] = x[rows[j], :]                 (the logit rows, the prompts' last rows)
 *   backward   dx [R, D]: dx[r, :] = sum of dout[j, :] over the j with rows[j] = r, 0 elsewhere
 *
 * The backward reads the gather's transpose in CSR form (scoring-layout.ts gatherSources): sources[offsets[r]
 * .. offsets[r + 1]] are the j that gathered row r, so every output row sums its own sources (no float
 * atomics). Reference: reference/gather-rows.ts.
 */
import { elementwiseCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';

export function gatherRowsCall(
  ctx: KernelContext,
  x: GPUBuffer,
  rows: GPUBuffer,
  out: GPUBuffer,
  count: number,
  dim: number,
): Promise<KernelCall> {
  const bindings = { params: { count, dim }, buffers: { x, rows, out } };
  return elementwiseCall(ctx, 'gather_rows.wgsl', 'gather_rows', count * dim, bindings);
}

/** dx [rows, dim] from dout [J, dim] and the CSR sources of each row (overwrites dx). */
export function scatterAddRowsCall(
  ctx: KernelContext,
  dout: GPUBuffer,
  offsets: GPUBuffer,
  sources: GPUBuffer,
  dx: GPUBuffer,
  rows: number,
  dim: number,
): Promise<KernelCall> {
  const bindings = { params: { count: rows, dim }, buffers: { dout, offsets, sources, dx } };
  return elementwiseCall(ctx, 'gather_rows.wgsl', 'scatter_add_rows', rows * dim, bindings);
}
