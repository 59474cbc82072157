/**
 * A kernel call prepared once and replayed many times: pipeline, bind group and workgroup counts.
 *
 * A forward pass has a fixed shape per batch, so its calls (and their uniform buffers) are built once and
 * every later pass only records them into one compute pass: no per-dispatch allocation, no bind group
 * creation on the hot path, one command encoder per forward.
 */
import { createUniformBuffer } from './buffers';
import type { Kernel, KernelOptions, PipelineCache } from './pipelines';
import type { CallObservingPass } from './recording-device';
import { packParams } from './wgsl-reflect';

/** What a kernel module's builders need: the device and the engine's pipeline cache (its variant choice). */
export interface KernelContext {
  device: GPUDevice;
  pipelines: PipelineCache;
}

export interface KernelCall {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
  /** Buffers the call owns (its uniforms), released by disposeCalls. */
  owned: GPUBuffer[];
  /** Arithmetic and memory traffic of one dispatch, for the benchmarks' GFLOP/s and GB/s. */
  cost?: KernelCost;
}

export interface KernelCost {
  flops: number;
  /** Bytes the dispatch moves to and from global memory, all buffers counted (its tiling's real traffic). */
  bytes: number;
  /**
   * Of `bytes`, those read from frozen model weights (bench plan's weightReadFactor: weight bytes read per pass /
   * the model's weight bytes). A kernel that re-reads a weight tile for every block of rows counts every read.
   */
  weightBytes?: number;
}

/** Uniform words for a kernel's Params struct: u32 entries as numbers, f32 entries as { f32: value }. */
export type UniformWords = (number | { f32: number })[];

export function makeCall(
  device: GPUDevice,
  label: string,
  pipeline: GPUComputePipeline,
  params: UniformWords,
  buffers: GPUBuffer[],
  workgroups: [number, number?, number?],
  cost?: KernelCost,
  /** Binding numbers of `buffers` (default 1, 2, 3, ...; the uniform is binding 0). */
  bindings?: number[],
): KernelCall {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const wg: [number, number, number] = [workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1];
  if (wg.some((n) => n > limit))
    throw new Error(`${label}: dispatch ${wg.join('x')} exceeds ${limit} workgroups per dimension`);
  const uniform = createUniformBuffer(
    device,
    (u32, f32) =>
      params.forEach((word, i) => {
        if (typeof word === 'number') u32[i] = word;
        else f32[i] = word.f32;
      }),
    params.length,
    `${label} params`,
  );
  const bindGroup = device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: [uniform, ...buffers].map((buffer, i) => ({
      binding: i === 0 ? 0 : (bindings?.[i - 1] ?? i),
      resource: { buffer },
    })),
  });
  return { label, pipeline, bindGroup, workgroups: wg, owned: [uniform], cost };
}

export interface KernelCallSpec {
  /** Params fields by name, exactly the shader's (wgsl-reflect.ts). */
  params: Readonly<Record<string, number>>;
  /** Storage buffers by their WGSL variable names: exactly the bindings this entry point uses. */
  buffers: Readonly<Record<string, GPUBuffer>>;
  workgroups: [number, number?, number?];
  cost?: KernelCost;
  /** Defaults to the kernel's name. */
  label?: string;
}

/**
 * A call of `kernel` with named buffers and Params fields, checked against the shader's declarations before
 * anything is created: an unknown name, a missing Params field, or a buffer bound where the shader declares the
 * uniform is an error that names the kernel, not a WebGPU validation message about binding numbers.
 */
export function kernelCall(device: GPUDevice, kernel: Kernel, spec: KernelCallSpec): KernelCall {
  const label = spec.label ?? kernel.name;
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const wg: [number, number, number] = [spec.workgroups[0], spec.workgroups[1] ?? 1, spec.workgroups[2] ?? 1];
  if (wg.some((n) => n > limit))
    throw new Error(`${label}: dispatch ${wg.join('x')} exceeds ${limit} workgroups per dimension`);
  const entries: GPUBindGroupEntry[] = [];
  const owned: GPUBuffer[] = [];
  const { bindings } = kernel.iface;
  const uniform = [...bindings.values()].find((b) => b.kind === 'uniform');
  if (kernel.iface.params.length > 0) {
    if (!uniform) throw new Error(`${label}: the shader declares struct Params but binds no uniform`);
    const bytes = packParams(kernel.iface, spec.params, label);
    const buffer = device.createBuffer({
      label: `${label} params`,
      size: bytes.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(buffer, 0, bytes);
    owned.push(buffer);
    entries.push({ binding: uniform.binding, resource: { buffer } });
  } else if (Object.keys(spec.params).length > 0) {
    throw new Error(`${label}: Params given, but the shader has no struct Params`);
  }
  for (const [name, buffer] of Object.entries(spec.buffers)) {
    const binding = bindings.get(name);
    if (!binding)
      throw new Error(`${label}: the shader has no binding "${name}" (has ${[...bindings.keys()].join(', ')})`);
    if (binding.kind === 'uniform')
      throw new Error(`${label}: "${name}" is the Params uniform; give its fields in params`);
    entries.push({ binding: binding.binding, resource: { buffer } });
  }
  const bindGroup = device.createBindGroup({ label, layout: kernel.pipeline.getBindGroupLayout(0), entries });
  return { label, pipeline: kernel.pipeline, bindGroup, workgroups: wg, owned, cost: spec.cost };
}

/** kernelCall of the entry point `entry` of shaders/`shader`, compiled once per pipeline cache. */
export async function entryCall(
  ctx: KernelContext,
  shader: string,
  entry: string,
  spec: KernelCallSpec,
  options?: KernelOptions,
): Promise<KernelCall> {
  return kernelCall(ctx.device, await ctx.pipelines.kernel(shader, entry, options), spec);
}

/**
 * entryCall of an elementwise entry point, labelled by the entry: one invocation per element of `count`, 64 a
 * workgroup (elementwiseWorkgroups). Serves gather-rows, relu and silu-mul (llm/engine/kernels/).
 */
export function elementwiseCall(
  ctx: KernelContext,
  shader: string,
  entry: string,
  count: number,
  bindings: Pick<KernelCallSpec, 'params' | 'buffers'>,
): Promise<KernelCall> {
  return entryCall(ctx, shader, entry, { ...bindings, label: entry, workgroups: elementwiseWorkgroups(count) });
}

export function encodeCalls(pass: GPUComputePassEncoder, calls: readonly KernelCall[]): void {
  // A recording device's pass (recording-device.ts) also sees each call, to sum its cost.
  const observing = (pass as Partial<CallObservingPass>).observeCall ? (pass as unknown as CallObservingPass) : null;
  for (const call of calls) {
    observing?.observeCall(call);
    pass.setPipeline(call.pipeline);
    pass.setBindGroup(0, call.bindGroup);
    pass.dispatchWorkgroups(...call.workgroups);
  }
}

/** Records the calls in one compute pass of one command encoder and submits it. */
export function submitCalls(device: GPUDevice, calls: readonly KernelCall[]): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  encodeCalls(pass, calls);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

export function disposeCalls(calls: readonly KernelCall[]): void {
  for (const call of calls) for (const buffer of call.owned) buffer.destroy();
}

/**
 * Workgroup counts for a 1-thread-per-element kernel of `workgroupSize`-wide workgroups, folded into two
 * dimensions when one would exceed the 65,535 limit (kernels read the flat index as
 * gid.x + gid.y * nwg.x * workgroupSize: flat_index in shaders/include/common_flat_index.wgsl).
 */
export function elementwiseWorkgroups(count: number, workgroupSize = 64, maxPerDim = 65535): [number, number] {
  const groups = Math.max(1, Math.ceil(count / workgroupSize));
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}

/**
 * Two implementations of several kernels, and a third of some where the device allows it:
 * - 'workgroup': a workgroup cooperates on a row or an output tile through shared memory and barriers, what
 *   a GPU wants at real model sizes (hidden 2048+, vocabularies of 32k+);
 * - 'thread': each invocation owns its outputs and loops over the reduced dimension alone, with no shared
 *   memory and no barriers. Right for small dimensions (test models, the shipped micro model), and far
 *   cheaper where the GPU is emulated on the CPU (SwiftShader: a workgroup barrier switches every SIMD group
 *   of the workgroup, which costs more than a short row's arithmetic; measured 5-30x per kernel);
 * - 'subgroup': the workgroup variant's reduction done with subgroup operations (subgroupAdd, subgroupMax) and
 *   one barrier instead of a shared-memory tree (RMSNorm, log-softmax), or, for the matrix products, K split
 *   over the workgroup's invocations so that weight reads coalesce, reduced the same way. Its shaders are a
 *   kernel's SUBGROUPS variant (`//! if SUBGROUPS`: rmsnorm, log-softmax, KL rows and the matrix products),
 *   which compile only on a device with the `subgroups` feature.
 * The choice between thread and workgroup is by shape, never by device, so every device computes the same
 * thing; where the shape takes the workgroup variant, a pipeline cache that allows subgroups
 * (PipelineCache.subgroups: the device has the feature and the cache's owner asked for them; the engine does
 * by GpuContext.useSubgroups, on hardware GPUs) takes the subgroup variant instead, the same choice for every
 * call, so one engine always computes the same bits. All variants equal
 * the CPU reference (the sums run in another order: float rounding). A kernel without a subgroup variant
 * (the matrix products' input gradients, gemm) runs its workgroup variant when asked for 'subgroup'. Attention
 * has its own pair, 'flash' and 'thread' (llm/engine/kernels/attention.ts), chosen by head_dim the same way.
 */
export type KernelVariant = 'workgroup' | 'thread' | 'subgroup';

/** Reduced dimensions up to this use the thread variants by default (hidden sizes of small models). */
export const THREAD_VARIANT_MAX_DIM = 256;

/**
 * The variant for a kernel whose per-invocation loop would run over `dim` elements: `forced` if given, else
 * 'thread' up to `maxDim`, else 'subgroup' where `subgroups` (the pipeline cache's PipelineCache.subgroups)
 * and 'workgroup' otherwise.
 */
export function kernelVariant(
  dim: number,
  forced?: KernelVariant,
  maxDim = THREAD_VARIANT_MAX_DIM,
  subgroups = false,
): KernelVariant {
  if (forced) return forced;
  if (dim <= maxDim) return 'thread';
  return subgroups ? 'subgroup' : 'workgroup';
}

/**
 * A row kernel's pipeline and grid in the variant kernelVariant picks for its rows of `dim` (`choice.maxDim`: the
 * thread variant's limit): `entries.thread` with one thread per row, or `entries.workgroup` with one workgroup
 * per row and SUBGROUPS set for the subgroup variant; `choice.defines` in either. Serves the kernels with all
 * three variants: rmsnorm, log-softmax and kl_rows (llm/engine/kernels/).
 */
export async function rowKernel(
  { device, pipelines }: KernelContext,
  shader: string,
  entries: { workgroup: string; thread: string },
  rows: number,
  dim: number,
  choice: { maxDim?: number; variant?: KernelVariant; defines?: KernelOptions['defines'] } = {},
): Promise<{ kernel: Kernel; workgroups: [number, number?] }> {
  const chosen = kernelVariant(dim, choice.variant, choice.maxDim, pipelines.subgroups);
  if (chosen === 'subgroup') requireSubgroups(device, entries.workgroup);
  const defines = choice.defines ?? {};
  if (chosen === 'thread') {
    const kernel = await pipelines.kernel(shader, entries.thread, { defines });
    return { kernel, workgroups: elementwiseWorkgroups(rows) };
  }
  const kernel = await pipelines.kernel(shader, entries.workgroup, {
    defines: { ...defines, SUBGROUPS: chosen === 'subgroup' },
  });
  return { kernel, workgroups: [rows] };
}

/** Throws unless the device can compile the subgroup shaders (a clearer error than WGSL's). */
export function requireSubgroups(device: GPUDevice, kernel: string): void {
  if (!device.features.has('subgroups' as GPUFeatureName)) {
    throw new Error(
      `${kernel}: the subgroup variant needs a device with the 'subgroups' feature, which this one does not have`,
    );
  }
}
