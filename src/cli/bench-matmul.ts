/**
 * The matrix-product kernels side by side on one device, for `bench score` and `bench train`: the legacy
 * kernels (64 columns x 4 rows per workgroup), the tiled ones in f32, and the tiled ones in f16 where the device
 * has shader-f16 (kernels/linear.ts), each on a pipeline cache of its own (compiled kernels are shared per device).
 * A cache's precision is the engine's whole f16 decision (PipelineCache.f16), so the f16 set also runs the flash
 * attention backward's f16 tiles (kernels/attention.ts), as an engine with f16 does.
 */
import type { GpuContext } from '../gpu/device';
import { createStorageBuffer } from '../gpu/buffers';
import { disposeCalls, type KernelCall } from '../gpu/kernel';
import { PipelineCache } from '../gpu/pipelines';
import { profileCalls, type KernelProfile } from '../gpu/profile';
import type { GpuModelWeights } from '../llm/engine/forward';
import { linearCall, type GpuLinear } from '../llm/engine/kernels/linear';

export type MatmulSetName = 'legacy' | 'tiled' | 'tiledF16';

export interface MatmulSet {
  name: MatmulSetName;
  pipelines: PipelineCache;
}

/** legacy f32, tiled f32, and tiled f16 where the device has shader-f16; subgroups as the engine has them. */
export function matmulSets(gpu: GpuContext, subgroups: boolean): MatmulSet[] {
  const sets: MatmulSet[] = [
    { name: 'legacy', pipelines: new PipelineCache(gpu.device, { subgroups, matmul: 'legacy' }) },
    { name: 'tiled', pipelines: new PipelineCache(gpu.device, { subgroups, matmul: 'tiled' }) },
  ];
  if (gpu.features.shaderF16)
    sets.push({
      name: 'tiledF16',
      pipelines: new PipelineCache(gpu.device, { subgroups, matmul: 'tiled', f16: true }),
    });
  return sets;
}

/** The largest weight among `weights` (rows x columns). */
export function largestMatrix(weights: GpuLinear[]): GpuLinear {
  return weights.reduce((a, b) => (a.outDim * a.inDim >= b.outDim * b.inDim ? a : b));
}

/** The model's layer matrices and lm_head. */
export function modelMatrices(model: GpuModelWeights): { layers: GpuLinear[]; lmHead: GpuLinear } {
  return { layers: model.layers.flatMap((l) => [l.qkv, l.o, l.gateUp, l.down]), lmHead: model.lmHead };
}

/**
 * GPU time of `rows` x `w` with this cache's kernel choice, 8 dispatches in a row (null without timestamp
 * queries). A weight split by rows is several dispatches; this times the first (all rows when unsplit).
 */
export async function profileProduct(
  device: GPUDevice,
  pipelines: PipelineCache,
  w: GpuLinear,
  rows: number,
): Promise<KernelProfile | null> {
  const x = createStorageBuffer(device, rows * w.inDim * 4);
  const y = createStorageBuffer(device, rows * w.outDim * 4);
  const calls: KernelCall[] = await linearCall({ device, pipelines }, x, w, y, rows);
  const [profile] = (await profileCalls(device, Array(8).fill(calls[0]), 3)) ?? [];
  disposeCalls(calls);
  x.destroy();
  y.destroy();
  return profile ?? null;
}

/** Summed GPU ms of the kernels whose labels start with `prefix` in a profile. */
function prefixMs(profile: KernelProfile[] | null, prefix: string): number | null {
  if (!profile) return null;
  return profile.filter((k) => k.label.startsWith(prefix)).reduce((sum, k) => sum + k.ms, 0);
}

/** Summed GPU ms of the matrix products (labels matmul_*) in a profile. */
export function matmulMs(profile: KernelProfile[] | null): number | null {
  return prefixMs(profile, 'matmul_');
}

/** Summed GPU ms of attention, forward and backward (labels attention_*), in a profile. */
export function attentionMs(profile: KernelProfile[] | null): number | null {
  return prefixMs(profile, 'attention_');
}

export const round = (v: number) => Math.round(v * 1000) / 1000;
