/**
 * Compute pipelines, compiled once per (shader, entry point, constants) and reused: pipeline creation is
 * expensive and a forward pass dispatches the same kernels for every layer.
 *
 * The cache also carries the one device-dependent kernel choice: whether the kernel builders take the
 * subgroup variants (shaders/*_subgroups.wgsl) where the shape takes a workgroup variant (gpu/kernel.ts).
 * Fixed per cache, so every forward and backward built on one cache (one engine) uses the same kernels.
 */
import { shaderSource } from './shader-source';

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
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Whether kernel builders default to the subgroup variants: the device has `subgroups` and they are not turned off. */
  readonly subgroups: boolean;

  constructor(
    private readonly device: GPUDevice,
    options: PipelineCacheOptions = {},
  ) {
    this.subgroups = (options.subgroups ?? true) && device.features.has('subgroups' as GPUFeatureName);
  }

  async get(shader: string, entryPoint: string, constants: Record<string, number> = {}): Promise<GPUComputePipeline> {
    const key = `${shader}#${entryPoint}#${JSON.stringify(constants)}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    let module = this.modules.get(shader);
    if (!module) {
      module = this.device.createShaderModule({ label: shader, code: await shaderSource(shader) });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length) {
        throw new Error(`WGSL compile error in shaders/${shader}: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
      }
      this.modules.set(shader, module);
    }
    const pipeline = await this.device.createComputePipelineAsync({
      label: `${shader}:${entryPoint}`,
      layout: 'auto',
      compute: { module, entryPoint, constants },
    });
    this.pipelines.set(key, pipeline);
    return pipeline;
  }
}
