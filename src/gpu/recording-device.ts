/**
 * A GPUDevice that allocates nothing and runs nothing: it records what the engine asks of a GPU, for
 * `twosome bench plan` (dispatches, blocking waits, bind groups and buffers created, the cost of every kernel
 * call) on a model of any size, without a GPU and without the model's weights.
 *
 * Buffers have a size and no memory (a mapped range is zeros, allocated only when mapped); shader modules
 * compile nothing; pipelines, bind groups and command buffers are plain records. Every dispatch that goes
 * through gpu/kernel.ts's encodeCalls is seen with its KernelCall, so its `cost` (flops, weight bytes) is summed.
 *
 * Blocking waits: a readback (mapAsync) or onSubmittedWorkDone resolves only when the CPU has nothing left to
 * do (on a macrotask, after every pending microtask), as if the GPU were slower than the CPU. So a wait that the
 * CPU overlaps with more work (a read started and awaited later, after more submissions) resolves together with
 * the next one, and `blockingWaits` counts the times the CPU really stood still waiting for the GPU.
 */
import type { GpuContext } from './device';
import type { KernelCall } from './kernel';

/** The WebGPU constants the engine reads (spec values), where no WebGPU implementation defined them. */
export function ensureWebGpuConstants(): void {
  const g = globalThis as Record<string, unknown>;
  g.GPUBufferUsage ??= {
    MAP_READ: 1,
    MAP_WRITE: 2,
    COPY_SRC: 4,
    COPY_DST: 8,
    INDEX: 16,
    VERTEX: 32,
    UNIFORM: 64,
    STORAGE: 128,
    INDIRECT: 256,
    QUERY_RESOLVE: 512,
  };
  g.GPUMapMode ??= { READ: 1, WRITE: 2 };
  g.GPUShaderStage ??= { VERTEX: 1, FRAGMENT: 2, COMPUTE: 4 };
}

export interface DeviceCounts {
  dispatches: number;
  /** Times the CPU waited for the GPU with nothing else to do (see the header). */
  blockingWaits: number;
  bindGroupsCreated: number;
  buffersCreated: number;
  /** Of buffersCreated, storage buffers and their bytes. */
  storageBuffersCreated: number;
  storageBytesCreated: number;
  uniformBuffersCreated: number;
  /** Readback staging buffers (MAP_READ). */
  stagingBuffersCreated: number;
  submits: number;
  writeBuffers: number;
  /** Sums of the dispatched calls' KernelCost. */
  flops: number;
  weightBytes: number;
}

const zeroCounts = (): DeviceCounts => ({
  dispatches: 0,
  blockingWaits: 0,
  bindGroupsCreated: 0,
  buffersCreated: 0,
  storageBuffersCreated: 0,
  storageBytesCreated: 0,
  uniformBuffersCreated: 0,
  stagingBuffersCreated: 0,
  submits: 0,
  writeBuffers: 0,
  flops: 0,
  weightBytes: 0,
});

/** The counts from `after` minus those of `before`. */
export function countsSince(before: DeviceCounts, after: DeviceCounts): DeviceCounts {
  const out = zeroCounts();
  for (const key of Object.keys(out) as (keyof DeviceCounts)[]) out[key] = after[key] - before[key];
  return out;
}

/** A compute pass that also sees the KernelCall behind each dispatch (kernel.ts encodeCalls looks for this). */
export interface CallObservingPass {
  observeCall(call: KernelCall): void;
}

export interface RecordingDeviceOptions {
  features?: readonly string[];
  limits?: Partial<Record<string, number>>;
}

/**
 * The limits a recording device reports by default: what Chrome gives a desktop GPU (binding and buffer sizes
 * of 2 GiB and 4 GiB rounded to words, WebGPU's defaults elsewhere).
 */
export const RECORDING_DEVICE_LIMITS: Readonly<Record<string, number>> = {
  maxBufferSize: 2 ** 32 - 4,
  maxStorageBufferBindingSize: 2 ** 31 - 4,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 10,
  maxUniformBufferBindingSize: 65536,
  minStorageBufferOffsetAlignment: 256,
  minUniformBufferOffsetAlignment: 256,
};

export class RecordingDevice {
  readonly counts: DeviceCounts = zeroCounts();
  readonly device: GPUDevice;
  private pending: (() => void)[] = [];
  private flushScheduled = false;

  constructor(options: RecordingDeviceOptions = {}) {
    ensureWebGpuConstants();
    const features = new Set<string>(options.features ?? ['shader-f16', 'subgroups']);
    const limits = { ...RECORDING_DEVICE_LIMITS, ...options.limits };
    const counts = this.counts;
    const later = <T>(value: T) => this.later(value);
    const queue = {
      label: 'recording queue',
      submit: (buffers: Iterable<unknown>) => {
        counts.submits += [...buffers].length > 0 ? 1 : 0;
      },
      writeBuffer: () => {
        counts.writeBuffers++;
      },
      onSubmittedWorkDone: () => later(undefined),
    };
    const device = {
      label: 'recording device',
      features,
      limits,
      queue,
      lost: new Promise(() => {}),
      destroy: () => {},
      createBuffer: (d: GPUBufferDescriptor) => recordingBuffer(d, counts, later),
      createBindGroup: (d: GPUBindGroupDescriptor) => {
        counts.bindGroupsCreated++;
        return { label: d.label ?? '', __brand: 'GPUBindGroup' };
      },
      createShaderModule: (d: GPUShaderModuleDescriptor) => ({
        label: d.label ?? '',
        getCompilationInfo: async () => ({ messages: [] }),
      }),
      createComputePipeline: (d: GPUComputePipelineDescriptor) => recordingPipeline(d),
      createComputePipelineAsync: async (d: GPUComputePipelineDescriptor) => recordingPipeline(d),
      createCommandEncoder: () => recordingEncoder(counts),
      pushErrorScope: () => {},
      popErrorScope: async () => null,
    };
    this.device = device as unknown as GPUDevice;
  }

  /** A copy of the counts now (subtract two with countsSince). */
  snapshot(): DeviceCounts {
    return { ...this.counts };
  }

  /** A GpuContext for the engine: a hardware-like GPU with f16 and subgroups, subgroup kernels on. */
  context(): GpuContext {
    const { limits, features } = this.device;
    const has = (f: string) => features.has(f as GPUFeatureName);
    return {
      device: this.device,
      adapterInfo: {
        vendor: 'recording',
        architecture: 'none',
        device: 'recording device (allocates and runs nothing)',
        description: '',
      },
      features: { shaderF16: has('shader-f16'), subgroups: has('subgroups'), timestampQuery: false },
      limits: {
        maxBufferSize: limits.maxBufferSize,
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      },
      adapterKind: 'other',
      isSoftware: false,
      subgroupSizes: has('subgroups') ? { min: 32, max: 32 } : null,
      useSubgroups: has('subgroups'),
    };
  }

  /** A promise the GPU keeps: resolved once the CPU idles (every pending one at once: one blocking wait). */
  private later<T>(value: T): Promise<T> {
    return new Promise<T>((resolve) => {
      this.pending.push(() => resolve(value));
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = [];
    if (pending.length > 0) this.counts.blockingWaits++;
    pending.forEach((resolve) => resolve());
  }
}

function recordingBuffer(d: GPUBufferDescriptor, counts: DeviceCounts, later: <T>(value: T) => Promise<T>): GPUBuffer {
  counts.buffersCreated++;
  if (d.usage & GPUBufferUsage.STORAGE) {
    counts.storageBuffersCreated++;
    counts.storageBytesCreated += d.size;
  }
  if (d.usage & GPUBufferUsage.UNIFORM) counts.uniformBuffersCreated++;
  if (d.usage & GPUBufferUsage.MAP_READ) counts.stagingBuffersCreated++;
  let mapped: ArrayBuffer | null = null;
  const buffer = {
    label: d.label ?? '',
    size: d.size,
    usage: d.usage,
    mapState: d.mappedAtCreation ? 'mapped' : 'unmapped',
    mapAsync: () => {
      buffer.mapState = 'pending';
      return later(undefined).then(() => {
        buffer.mapState = 'mapped';
      });
    },
    getMappedRange: (offset = 0, size?: number) => {
      mapped ??= new ArrayBuffer(d.size);
      return mapped.slice(offset, size === undefined ? undefined : offset + size);
    },
    unmap: () => {
      buffer.mapState = 'unmapped';
      mapped = null;
    },
    destroy: () => {
      mapped = null;
    },
  };
  // getMappedRange at creation hands out the buffer's own bytes (the caller writes into them), not a copy.
  if (d.mappedAtCreation) buffer.getMappedRange = () => (mapped ??= new ArrayBuffer(d.size));
  return buffer as unknown as GPUBuffer;
}

function recordingPipeline(d: GPUComputePipelineDescriptor): GPUComputePipeline {
  const layout = { label: `${d.label ?? ''} layout` };
  return { label: d.label ?? '', getBindGroupLayout: () => layout } as unknown as GPUComputePipeline;
}

function recordingEncoder(counts: DeviceCounts): GPUCommandEncoder {
  const pass = {
    label: '',
    setPipeline: () => {},
    setBindGroup: () => {},
    dispatchWorkgroups: () => {
      counts.dispatches++;
    },
    dispatchWorkgroupsIndirect: () => {
      counts.dispatches++;
    },
    end: () => {},
    observeCall: (call: KernelCall) => {
      counts.flops += call.cost?.flops ?? 0;
      counts.weightBytes += call.cost?.weightBytes ?? 0;
    },
  };
  const encoder = {
    label: '',
    beginComputePass: () => pass,
    copyBufferToBuffer: () => {},
    clearBuffer: () => {},
    writeTimestamp: () => {},
    resolveQuerySet: () => {},
    finish: () => ({ label: 'recorded commands' }),
  };
  return encoder as unknown as GPUCommandEncoder;
}
