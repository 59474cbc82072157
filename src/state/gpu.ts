/**
 * The gpu slice: WebGPU detection for the playground, which finds an adapter and records what the UI shows
 * about it. The environments need no GPU, so a missing adapter only disables GPU features; it never blocks the
 * page.
 */
import { describeError } from '../util/errors';
import type { SliceApi } from './store';

export interface GpuInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** Adapter features, sorted (e.g. shader-f16, subgroups, timestamp-query). */
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
  };
}

export type GpuProblem = 'insecure-context' | 'no-webgpu' | 'no-adapter' | 'adapter-error';

export type GpuState =
  | { status: 'detecting' }
  | { status: 'ready'; info: GpuInfo }
  | { status: 'missing'; problem: GpuProblem; detail: string };

export interface GpuSlice {
  webgpu: GpuState;
  /** Detects WebGPU (once per store) and keeps the outcome in `webgpu`. */
  detect(): Promise<GpuState>;
}

export function createGpuSlice({ set }: SliceApi<'gpu'>): GpuSlice {
  let detection: Promise<GpuState> | null = null;
  return {
    webgpu: { status: 'detecting' },
    detect() {
      detection ??= probe().then((webgpu) => {
        set({ webgpu });
        return webgpu;
      });
      return detection;
    },
  };
}

async function probe(): Promise<GpuState> {
  if (typeof window !== 'undefined' && !window.isSecureContext) {
    return {
      status: 'missing',
      problem: 'insecure-context',
      detail: `This page is not a secure context (${window.location.protocol}//${window.location.host}), and browsers offer WebGPU only to secure contexts.`,
    };
  }
  // No navigator at all (Node before 21, in tests) is a platform without WebGPU, like a browser without it.
  const gpu = typeof navigator !== 'undefined' ? (navigator as Navigator & { gpu?: GPU }).gpu : undefined;
  if (!gpu) {
    return {
      status: 'missing',
      problem: 'no-webgpu',
      detail: 'This browser does not expose WebGPU (navigator.gpu is undefined).',
    };
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await gpu.requestAdapter());
  } catch (error) {
    return {
      status: 'missing',
      problem: 'adapter-error',
      detail: `Requesting a WebGPU adapter failed: ${describeError(error)}`,
    };
  }
  if (!adapter) {
    return {
      status: 'missing',
      problem: 'no-adapter',
      detail:
        'WebGPU is present but no adapter is available (the GPU may be blocklisted, or hardware acceleration is off).',
    };
  }
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const limits = adapter.limits;
  return {
    status: 'ready',
    info: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter),
      features: [...adapter.features].map(String).sort(),
      limits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      },
    },
  };
}
