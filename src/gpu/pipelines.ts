/**
 * Compute pipelines, compiled once per (shader, entry point, constants) and reused: pipeline creation is
 * expensive and a forward pass dispatches the same kernels for every layer.
 *
 * The cache also carries the one device-dependent kernel choice: whether the kernel builders take the
 * subgroup variants (SUBGROUPS defines, shaders/*_subgroups.wgsl) where the shape takes a workgroup variant
 * (gpu/kernel.ts).
 * Fixed per cache, so every forward and backward built on one cache (one engine) uses the same kernels.
 */
import { shaderSource } from './shader-source';
import { definesKey, selectVariant, type ShaderDefines } from './shader-variants';
import { reflectShader, type ShaderInterface } from './wgsl-reflect';

/** A compiled entry point with what its source declares: named bindings and Params fields (kernel.ts). */
export interface Kernel {
  /** `shader:entry` plus the variant's defines, for labels and errors. */
  name: string;
  pipeline: GPUComputePipeline;
  iface: ShaderInterface;
}

export interface KernelOptions {
  /** `//! if NAME` branches to keep (shader-variants.ts). */
  defines?: ShaderDefines;
  /** WGSL override constants. */
  constants?: Record<string, number>;
}

export interface PipelineCacheOptions {
  /**
   * Use the subgroup variants where the device has the `subgroups` feature (default true). false keeps the
   * f32 workgroup variants, e.g. to compare the two on one device. The engine passes its useSubgroups option,
   * by default GpuContext.useSubgroups (hardware GPUs only: the subgroup matrix products are slower on
   * SwiftShader).
   */
  subgroups?: boolean;
}

export class PipelineCache {
  private readonly modules = new Map<string, { module: GPUShaderModule; iface: ShaderInterface }>();
  private readonly kernels = new Map<string, Kernel>();
  /** Whether kernel builders default to the subgroup variants: the device has `subgroups` and they are not turned off. */
  readonly subgroups: boolean;

  constructor(
    private readonly device: GPUDevice,
    options: PipelineCacheOptions = {},
  ) {
    this.subgroups = (options.subgroups ?? true) && device.features.has('subgroups' as GPUFeatureName);
  }

  async get(shader: string, entryPoint: string, constants: Record<string, number> = {}): Promise<GPUComputePipeline> {
    return (await this.kernel(shader, entryPoint, { constants })).pipeline;
  }

  /** The pipeline of `entryPoint` in `shaders/<shader>` for one variant, compiled once and cached. */
  async kernel(shader: string, entryPoint: string, options: KernelOptions = {}): Promise<Kernel> {
    const variant = definesKey(options.defines);
    const key = `${shader}#${variant}#${entryPoint}#${JSON.stringify(options.constants ?? {})}`;
    const cached = this.kernels.get(key);
    if (cached) return cached;
    const moduleKey = `${shader}#${variant}`;
    let compiled = this.modules.get(moduleKey);
    if (!compiled) {
      const code = selectVariant(await shaderSource(shader), options.defines, shader);
      const module = this.device.createShaderModule({ label: variant ? `${shader} [${variant}]` : shader, code });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length) {
        const where = variant ? `shaders/${shader} [${variant}]` : `shaders/${shader}`;
        throw new Error(`WGSL compile error in ${where}: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
      }
      compiled = { module, iface: reflectShader(code, shader) };
      this.modules.set(moduleKey, compiled);
    }
    const pipeline = await this.device.createComputePipelineAsync({
      label: `${shader}:${entryPoint}${variant ? ` [${variant}]` : ''}`,
      layout: 'auto',
      compute: { module: compiled.module, entryPoint, constants: options.constants ?? {} },
    });
    const kernel = { name: `${shader}:${entryPoint}${variant ? ` [${variant}]` : ''}`, pipeline, iface: compiled.iface };
    this.kernels.set(key, kernel);
    return kernel;
  }
}
