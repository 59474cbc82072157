// How often one scoring call reads the model's weights from global memory, from the costs the matrix products'
// calls carry (KernelCost.weightBytes, kernels/linear.ts), built on a stub device (nothing is allocated): issue
// 14's goal for a Llama-2-7B scoring call (a 150-token prompt and 8 actions of 5 tokens: 190 rows, 40 scored) is
// weightReadFactor = weight bytes read / the model's weight bytes <= 8; the legacy kernels read ~60 times.
import { describe, expect, it } from 'vitest';
import type { KernelCall } from '../../../gpu/kernel';
import { PipelineCache, type MatmulKernels } from '../../../gpu/pipelines';
import { ensureWebGpuConstants } from '../../../gpu/recording-device';
import { architectureConfig, estimateSizes } from '../../model/catalog';
import type { LlamaConfig } from '../../model/config';
import { embeddingCall } from './embedding';
import { linearCall, linearInputGradCall, type GpuLinear } from './linear';

/** Just enough of GPUDevice for the call builders: objects for buffers, modules, pipelines and bind groups. */
function stubDevice(features: string[] = []): GPUDevice {
  ensureWebGpuConstants();
  const buffer = (size: number) => ({ size, destroy() {}, getMappedRange: () => new ArrayBuffer(size), unmap() {} });
  return {
    features: new Set(features),
    limits: { maxComputeWorkgroupsPerDimension: 65535 },
    queue: { writeBuffer() {} },
    createBuffer: ({ size }: { size: number }) => buffer(size),
    createShaderModule: () => ({ getCompilationInfo: async () => ({ messages: [] }) }),
    createComputePipelineAsync: async ({ label }: { label: string }) => ({ label, getBindGroupLayout: () => ({}) }),
    createBindGroup: () => ({}),
  } as unknown as GPUDevice;
}

/** A q4f16_1 weight [N, K] as one chunk of stub buffers. */
function q4(device: GPUDevice, outDim: number, inDim: number): GpuLinear {
  const qWeight = device.createBuffer({ size: (outDim * inDim) / 2, usage: 0 });
  const scales = device.createBuffer({ size: (outDim * inDim) / 16, usage: 0 });
  return { format: 'q4', chunks: [{ rowStart: 0, rows: outDim, qWeight, scales }], scaleF16: true, outDim, inDim };
}

/** Weight bytes a scoring pass reads: every projection over R rows, the lm_head over J, the embedding. */
async function scoringWeightReads(
  config: LlamaConfig,
  R: number,
  J: number,
  matmul: MatmulKernels,
): Promise<{ read: number; calls: KernelCall[] }> {
  const device = stubDevice();
  const ctx = { device, pipelines: new PipelineCache(device, { matmul }) };
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, vocabSize: V } = config;
  const x = device.createBuffer({ size: 4, usage: 0 });
  const calls: KernelCall[] = [];
  for (let l = 0; l < config.layers; l++) {
    for (const [outDim, inDim] of [
      [(H + 2 * KVH) * hd, D],
      [D, H * hd],
      [2 * I, D],
      [D, I],
    ])
      calls.push(...(await linearCall(ctx, x, q4(device, outDim, inDim), x, R)));
  }
  calls.push(...(await linearCall(ctx, x, q4(device, V, D), x, J)));
  calls.push(...(await embeddingCall(ctx, x, q4(device, V, D), x, R)));
  return { read: calls.reduce((sum, c) => sum + (c.cost?.weightBytes ?? 0), 0), calls };
}

describe('weight reads of a scoring call', () => {
  const llama2 = architectureConfig('Llama-2-7b-chat-hf-q4f16_1-MLC');
  const [R, J] = [150 + 8 * 5, 8 * 5];

  it('Llama-2-7B, 190 rows: weightReadFactor <= 8 with the tiled kernels (about 60 with the legacy ones)', async () => {
    const model = estimateSizes(llama2).gpuWeightBytes;
    const tiled = await scoringWeightReads(llama2, R, J, 'tiled');
    const legacy = await scoringWeightReads(llama2, R, J, 'legacy');
    const factor = { tiled: tiled.read / model, legacy: legacy.read / model };
    console.info(
      `Llama-2-7B scoring call (R ${R}, J ${J}): weightReadFactor ${factor.tiled.toFixed(2)} tiled, ` +
        `${factor.legacy.toFixed(2)} legacy`,
    );
    expect(factor.tiled).toBeLessThanOrEqual(8);
    // Every projection is read ceil(190 / 64) = 3 times, the lm_head once (40 rows): just under 3.
    expect(factor.tiled).toBeGreaterThan(2.5);
    expect(factor.tiled).toBeLessThan(3);
    // The legacy kernels: ceil(190 / 4) = 48 reads of each projection, ceil(40 / 4) = 10 of the lm_head.
    expect(factor.legacy).toBeGreaterThan(40);
    expect(tiled.calls.filter((c) => c.label === 'matmul_q4_gemm')).toHaveLength(4 * llama2.layers + 1);
  });

  it('reads a weight once for 1-4 rows (the matrix-vector kernel) and once per 64 rows (the GEMM)', async () => {
    const device = stubDevice();
    const ctx = { device, pipelines: new PipelineCache(device) };
    const w = q4(device, 4096, 4096);
    const bytes = 4096 * 2048 + 4096 * 128 * 2;
    const x = device.createBuffer({ size: 4, usage: 0 });
    for (const [rows, reads] of [
      [1, 1],
      [4, 1],
      [5, 1],
      [64, 1],
      [65, 2],
      [190, 3],
    ]) {
      const [call] = await linearCall(ctx, x, w, x, rows);
      expect(call.cost?.weightBytes).toBe(bytes * reads);
    }
    // The input gradient reads W once per 64 rows too, however its sum over N is split.
    const grad = await linearInputGradCall(ctx, x, q4(device, 32000, 4096), x, 40, false, { split: true });
    expect(grad.map((c) => c.label)).toEqual(['matmul_q4_input_grad', 'matmul_partial_sum.wgsl:matmul_partial_sum']);
    expect(grad[0].workgroups).toEqual([1, 64, 7]);
    expect(grad[0].cost?.weightBytes).toBe(32000 * 2048 + 32000 * 128 * 2);
  });
});
