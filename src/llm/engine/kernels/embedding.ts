/**
 * Token embedding lookup (shaders/embedding_q4.wgsl, embedding_dense.wgsl): x [R, D] = table[tokens[r], :],
 * the table being a linear weight [V, D] in any of MLC's formats (q4 words and scales, or f32 / f16), decoded
 * in the kernel. The table is frozen: there is no backward. Reference: reference/embedding.ts.
 *
 * One call per row chunk of the table (gpu-weights.ts splits a vocabulary too large for one binding): chunk c
 * writes only the rows whose token id falls in its range, and every id falls in exactly one, so together they
 * write all of x.
 */
import {
  elementwiseWorkgroups,
  kernelCall,
  type KernelCall,
  type KernelContext,
  type KernelCost,
} from '../../../gpu/kernel';
import { linearWeightBytes, type DenseChunk, type GpuLinear, type Q4Chunk } from './linear';

export async function embeddingCall(
  ctx: KernelContext,
  tokens: GPUBuffer,
  table: GpuLinear,
  x: GPUBuffer,
  rows: number,
): Promise<KernelCall[]> {
  const dim = table.inDim;
  const workgroups = elementwiseWorkgroups(rows * dim);
  const rowBytes = linearWeightBytes({ ...table, outDim: 1 } as GpuLinear);
  // The rows of the tokens in a chunk's range: at most R of them.
  const cost = (chunk: { rows: number }): KernelCost => ({
    flops: 0,
    bytes: Math.min(rows, chunk.rows) * rowBytes + 4 * rows * (dim + 1),
    weightBytes: Math.min(rows, chunk.rows) * rowBytes,
  });
  if (table.format === 'q4') {
    const kernel = await ctx.pipelines.kernel('embedding_q4.wgsl', 'embedding_q4');
    return table.chunks.map((chunk: Q4Chunk) =>
      kernelCall(ctx.device, kernel, {
        label: 'embedding_q4',
        params: { rows, dim, scale_f16: table.scaleF16 ? 1 : 0, row_start: chunk.rowStart, row_count: chunk.rows },
        buffers: { tokens, q_weight: chunk.qWeight, scales: chunk.scales, x },
        workgroups,
        cost: cost(chunk),
      }),
    );
  }
  const kernel = await ctx.pipelines.kernel('embedding_dense.wgsl', 'embedding_dense');
  return table.chunks.map((chunk: DenseChunk) =>
    kernelCall(ctx.device, kernel, {
      label: 'embedding_dense',
      params: { rows, dim, table_f16: table.f16 ? 1 : 0, row_start: chunk.rowStart, row_count: chunk.rows },
      buffers: { tokens, table: chunk.weight, x },
      workgroups,
      cost: cost(chunk),
    }),
  );
}
