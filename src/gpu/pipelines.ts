/**
 * Compute pipelines, compiled once per (shader, entry point, constants) and reused: pipeline creation is
 * expensive and a forward pass dispatches the same kernels for every layer.
 */
import { shaderSource } from './shader-source';

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

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
