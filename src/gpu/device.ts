/**
 * Adapter and device: the one place that talks to `navigator.gpu` (browser) or Dawn's `GPU` (Node).
 *
 * We ask for the adapter's real limits rather than WebGPU's defaults (128 MiB per storage binding, 256 MiB
 * per buffer), because model weights need the 1-4 GiB most adapters allow, and for the optional features
 * that give fast paths (`shader-f16`, `subgroups`) where the adapter has them. Every kernel also has an f32
 * path, so a device without those features still runs everything.
 */

export interface GpuFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  features: GpuFeatures;
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBuffersPerShaderStage: number;
  };
  /**
   * Which implementation the adapter is: one of the two CPU Vulkan drivers the tests run on (SwiftShader,
   * Mesa's lavapipe, whose adapter calls itself llvmpipe), or anything else ('other': a GPU, or a software
   * adapter we do not know by name). Lets a test say which path it covers.
   */
  adapterKind: AdapterKind;
  /**
   * Whether the adapter is a software one (SwiftShader, lavapipe, or any adapter that reports itself as a
   * fallback adapter or architecture "software"): timings then say nothing about GPUs.
   */
  isSoftware: boolean;
  /**
   * The subgroup sizes the adapter reports (GPUAdapterInfo.subgroupMinSize/MaxSize) when the device has the
   * `subgroups` feature and the browser reports them; null otherwise. For display only: the subgroup kernels
   * are correct for any size (4 .. 128) and never assume one.
   */
  subgroupSizes: { min: number; max: number } | null;
  /**
   * Whether the engine takes the subgroup kernels (the shaders' SUBGROUPS variants) by default on this device: it has
   * `subgroups` and is a hardware GPU, unless RequestDeviceOptions.useSubgroups says otherwise. Not on a
   * software adapter by default: SwiftShader runs a workgroup's invocations as coroutines on the CPU, where
   * every barrier switches all of them, and the K-split matrix products (one barrier per 16 outputs) measured
   * ~3.5x slower there than the tiled workgroup kernel (T=166, N=960, K=320), while on a GPU coalesced weight
   * reads are the point. On lavapipe (subgroups of 8, one SIMD vector) they gain nothing measurable: a scoring
   * pass of a hidden-320 model took 0.94x and 1.02x the workgroup kernels' time in two runs of alternating
   * passes, against 2.9x on SwiftShader, so lavapipe keeps SwiftShader's default path. Deterministic per device,
   * as every kernel choice.
   */
  useSubgroups: boolean;
}

export type AdapterKind = 'swiftshader' | 'lavapipe' | 'other';

/** Adapter identity as GPUAdapterInfo reports it (strings empty where the implementation hides them). */
export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

export function adapterKindOf(info: AdapterIdentity): AdapterKind {
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ').toLowerCase();
  if (text.includes('swiftshader')) return 'swiftshader';
  if (text.includes('llvmpipe') || text.includes('lavapipe')) return 'lavapipe';
  return 'other';
}

/**
 * Software adapters: the two we know by name, any adapter flagged as a fallback adapter or of architecture
 * "software" (what Mesa's CPU drivers report), and one that hides every identifying string (browsers may).
 */
export function isSoftwareAdapter(info: AdapterIdentity): boolean {
  if (adapterKindOf(info) !== 'other' || info.isFallbackAdapter === true) return true;
  if (info.architecture.toLowerCase() === 'software') return true;
  return [info.vendor, info.architecture, info.device, info.description].every((field) => field.trim() === '');
}

export class WebGpuUnavailableError extends Error {
  /**
   * 'no-webgpu': no `GPU` object at all (a browser without WebGPU); 'no-adapter': WebGPU exists but gave no
   * adapter (Node: no Vulkan loader or driver); 'setup': the requested adapter is not installed.
   */
  readonly reason: 'no-webgpu' | 'no-adapter' | 'setup';

  constructor(message: string, reason: WebGpuUnavailableError['reason'] = 'setup') {
    super(message);
    this.name = 'WebGpuUnavailableError';
    this.reason = reason;
  }
}

/** The limits we raise to the adapter's maximum; everything else keeps WebGPU's defaults. */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export interface RequestDeviceOptions {
  /**
   * Turn off optional features, e.g. to test the f32 and no-subgroup paths on a capable adapter. A feature
   * turned off here is not requested, so the device cannot compile the shaders that need it (for subgroups
   * on a device that has them, PipelineCache's `subgroups: false` keeps the workgroup kernels instead).
   */
  disableFeatures?: Partial<Record<keyof GpuFeatures, boolean>>;
  /** GpuContext.useSubgroups: true also on a software adapter, false never (default: hardware GPUs only). */
  useSubgroups?: boolean;
  powerPreference?: GPUPowerPreference;
}

export async function requestGpuContext(gpu: GPU | undefined, options: RequestDeviceOptions = {}): Promise<GpuContext> {
  if (!gpu) {
    throw new WebGpuUnavailableError(
      'WebGPU is not available here: use a recent Chrome or Edge (113+) with hardware acceleration on, served over https or localhost.',
      'no-webgpu',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'No WebGPU adapter was found: enable hardware acceleration in the browser settings, update the GPU driver, or on Linux enable chrome://flags/#enable-unsafe-webgpu.',
      'no-adapter',
    );
  }

  const wanted: Record<keyof GpuFeatures, GPUFeatureName> = {
    shaderF16: 'shader-f16',
    subgroups: 'subgroups' as GPUFeatureName,
    timestampQuery: 'timestamp-query',
  };
  const features = {} as GpuFeatures;
  const requiredFeatures: GPUFeatureName[] = [];
  for (const key of Object.keys(wanted) as (keyof GpuFeatures)[]) {
    features[key] = adapter.features.has(wanted[key]) && !options.disableFeatures?.[key];
    if (features[key]) requiredFeatures.push(wanted[key]);
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }

  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const adapterInfo = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  const identity = { ...adapterInfo, isFallbackAdapter: info.isFallbackAdapter ?? legacyFallbackFlag(adapter) };
  const isSoftware = isSoftwareAdapter(identity);
  return {
    device,
    adapterInfo,
    features,
    limits: {
      maxBufferSize: device.limits.maxBufferSize,
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: device.limits.maxStorageBuffersPerShaderStage,
    },
    adapterKind: adapterKindOf(identity),
    isSoftware,
    subgroupSizes:
      features.subgroups && typeof info.subgroupMinSize === 'number' && typeof info.subgroupMaxSize === 'number'
        ? { min: info.subgroupMinSize, max: info.subgroupMaxSize }
        : null,
    useSubgroups: features.subgroups && (options.useSubgroups ?? !isSoftware),
  };
}

/** GPUAdapter.isFallbackAdapter, where an older implementation has it on the adapter instead of its info. */
function legacyFallbackFlag(adapter: GPUAdapter): boolean | undefined {
  const flag = (adapter as unknown as { isFallbackAdapter?: unknown }).isFallbackAdapter;
  return typeof flag === 'boolean' ? flag : undefined;
}
