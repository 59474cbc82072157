/**
 * Compute pipelines, compiled once per (shader, entry point, constants) and reused: pipeline creation is
 * expensive and a forward pass dispatches the same kernels for every layer.
 *
 * The cache also carries the device-dependent kernel choices: whether the kernel builders take the subgroup
 * variants (SUBGROUPS defines, among them the matrix-vector products' subgroup reduction) where
 * the shape takes a workgroup variant (gpu/kernel.ts), whether the matrix products and attention's backward take
 * their f16 variants, and which generation of matrix-product kernels runs. Fixed per cache, so every forward and
 * backward built on one cache (one engine) uses the same kernels.
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
  /**
   * Use the f16 variants (`//! if F16` in the tiled and matrix-vector matrix products, and the flash attention
   * backward's f16 tiles) where the device has `shader-f16`. Default false: a cache is exact f32 unless its owner asks; the
   * engine asks by default on hardware GPUs (LoadEngineOptions.f16).
   */
  f16?: boolean;
  /**
   * The matrix-product kernels where a shape takes no thread variant (kernels/linear.ts): 'tiled' (default: a
   * 64 x 64 register-blocked GEMM for more than 4 rows, a matrix-vector kernel for 1 to 4) or 'legacy' (the
   * 64-column x 4-row workgroup kernel and its K-split subgroup variant), to compare the two on one device.
   */
  matmul?: MatmulKernels;
}

export type MatmulKernels = 'tiled' | 'legacy';

type CompiledModule = { module: GPUShaderModule; iface: ShaderInterface };
type CompiledKernels = { modules: Map<string, CompiledModule>; kernels: Map<string, Kernel> };

export class PipelineCache {
  /**
   * Compiled modules and pipelines, shared by every cache of one device: a pipeline depends only on its key
   * (shader, defines, entry point, constants), never on a cache's choices, and compiling is slow where the GPU
   * is emulated (SwiftShader: seconds for a tiled matrix product), so engines and comparisons built on one
   * device compile each kernel once.
   */
  private static readonly compiled = new WeakMap<GPUDevice, CompiledKernels>();
  private readonly modules: Map<string, CompiledModule>;
  private readonly kernels: Map<string, Kernel>;
  /** Whether kernel builders default to the subgroup variants: the device has `subgroups` and they are not turned off. */
  readonly subgroups: boolean;
  /**
   * Whether the matrix products take their f16 variants and attention's backward its f16 tiles (kernels/linear.ts,
   * kernels/attention.ts): the device has `shader-f16` and the owner asked. The one precision decision of an
   * engine: every kernel that has an f16 variant reads it here.
   */
  readonly f16: boolean;
  readonly matmul: MatmulKernels;

  constructor(
    private readonly device: GPUDevice,
    options: PipelineCacheOptions = {},
  ) {
    this.subgroups = (options.subgroups ?? true) && device.features.has('subgroups' as GPUFeatureName);
    this.f16 = (options.f16 ?? false) && device.features.has('shader-f16');
    this.matmul = options.matmul ?? 'tiled';
    let shared = PipelineCache.compiled.get(device);
    if (!shared) PipelineCache.compiled.set(device, (shared = { modules: new Map(), kernels: new Map() }));
    this.modules = shared.modules;
    this.kernels = shared.kernels;
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
        throw new Error(
          `WGSL compile error in ${where}: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`,
        );
      }
      compiled = { module, iface: reflectShader(code, shader) };
      this.modules.set(moduleKey, compiled);
    }
    // The pipeline's label names the variant too, so a test or a profile can tell an f16 kernel from its f32 twin.
    const name = `${shader}:${entryPoint}${variant ? ` [${variant}]` : ''}`;
    const pipeline = await this.device.createComputePipelineAsync({
      label: name,
      layout: 'auto',
      compute: { module: compiled.module, entryPoint, constants: options.constants ?? {} },
    });
    const kernel = { name, pipeline, iface: compiled.iface };
    this.kernels.set(key, kernel);
    return kernel;
  }
}
