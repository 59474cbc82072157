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
import { elementwiseWorkgroups, kernelCall, type KernelCall, type KernelContext } from '../../../gpu/kernel';

export async function gatherRowsCall(
  ctx: KernelContext,
  x: GPUBuffer,
  rows: GPUBuffer,
  out: GPUBuffer,
  count: number,
  dim: number,
): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('gather_rows.wgsl', 'gather_rows');
  return kernelCall(ctx.device, kernel, {
    params: { count, dim },
    buffers: { x, rows, out },
    workgroups: elementwiseWorkgroups(count * dim),
    label: 'gather_rows',
  });
}

/** dx [rows, dim] from dout [J, dim] and the CSR sources of each row (overwrites dx). */
export async function scatterAddRowsCall(
  ctx: KernelContext,
  dout: GPUBuffer,
  offsets: GPUBuffer,
  sources: GPUBuffer,
  dx: GPUBuffer,
  rows: number,
  dim: number,
): Promise<KernelCall> {
  const kernel = await ctx.pipelines.kernel('gather_rows.wgsl', 'scatter_add_rows');
  return kernelCall(ctx.device, kernel, {
    params: { count: rows, dim },
    buffers: { dout, offsets, sources, dx },
    workgroups: elementwiseWorkgroups(rows * dim),
    label: 'scatter_add_rows',
  });
}
