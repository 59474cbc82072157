/**
 * AdamW (LoRA) and Adam (critic) on the GPU with global gradient-norm clipping, as torch's
 * clip_grad_norm_ + AdamW/Adam (shaders/adamw.wgsl). One step is three kinds of dispatch and no CPU
 * round trip; a non-finite gradient skips the step (never applied) and is counted in the info buffer, which
 * the trainer reads with its metrics.
 */
import { createStorageBuffer, readFloat32 } from '../../gpu/buffers';
import { disposeCalls, elementwiseWorkgroups, encodeCalls, makeCall, type KernelCall, type KernelVariant } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';

export interface OptimizerConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled (AdamW) weight decay; 0 gives Adam. */
  weightDecay: number;
  /** Global gradient-norm clip; <= 0 turns clipping off. */
  maxGradNorm: number;
}

export interface ParamGrad {
  param: GPUBuffer;
  grad: GPUBuffer;
  count: number;
}

export interface GpuAdamState {
  step: number;
  skippedSteps: number;
  moments: { m: Float32Array; v: Float32Array }[];
}

export interface StepInfo {
  gradNorm: number;
  finite: boolean;
  step: number;
  skippedSteps: number;
}

const WG = 256;
/** Words of the info buffer (adamw.wgsl: norm, coef, finite, t, bc1, bc2_sqrt, skipped steps; one spare). */
export const ADAM_INFO_WORDS = 8;

/**
 * Squared-norm partials of one tensor of `count` elements: one per 256-element chunk (engine/memory-plan.ts
 * counts them too).
 */
export function normPartialSlots(count: number): number {
  return Math.ceil(count / WG);
}
/** Tensors up to this many elements get their squared-norm partials from sum_squares_thread (no barriers). */
const THREAD_SUM_MAX = 1 << 20;

export class GpuAdam {
  private readonly moments: GPUBuffer[] = [];
  private readonly partial: GPUBuffer;
  private readonly info: GPUBuffer;
  private readonly slots: number[] = [];
  private readonly totalSlots: number;

  private constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: PipelineCache,
    readonly params: readonly ParamGrad[],
    public config: OptimizerConfig,
    /** How the gradient's squared norm is reduced; default by size (thread up to 2^20 elements a tensor). */
    private readonly sumSquares?: KernelVariant,
  ) {
    let slots = 0;
    for (const p of params) {
      this.slots.push(slots);
      slots += normPartialSlots(p.count);
      this.moments.push(createStorageBuffer(device, p.count * 4, 'adam m'), createStorageBuffer(device, p.count * 4, 'adam v'));
    }
    this.totalSlots = slots;
    this.partial = createStorageBuffer(device, slots * 4, 'grad norm partials');
    this.info = createStorageBuffer(device, ADAM_INFO_WORDS * 4, 'adam info');
  }

  static create(device: GPUDevice, pipelines: PipelineCache, params: readonly ParamGrad[], config: OptimizerConfig, sumSquares?: KernelVariant): GpuAdam {
    return new GpuAdam(device, pipelines, params, config, sumSquares);
  }

  /** The calls of one step at learning rate `lr` (the schedule's current value), gradients scaled by gradScale. */
  async stepCalls(lr: number, gradScale = 1): Promise<KernelCall[]> {
    const { device, pipelines, config } = this;
    const uniform = (count: number, slot: number) => [
      count,
      slot,
      { f32: lr },
      { f32: config.beta1 },
      { f32: config.beta2 },
      { f32: config.eps },
      { f32: config.weightDecay },
      { f32: config.maxGradNorm },
      { f32: gradScale },
      0,
      0,
      0,
    ];
    const squares = await pipelines.get('adamw.wgsl', 'sum_squares');
    const squaresThread = await pipelines.get('adamw.wgsl', 'sum_squares_thread');
    const prepare = await pipelines.get('adamw.wgsl', 'adam_prepare');
    const update = await pipelines.get('adamw.wgsl', 'adamw_update');
    const calls: KernelCall[] = this.params.map((p, i) => {
      const chunks = normPartialSlots(p.count);
      return (this.sumSquares ?? (p.count <= THREAD_SUM_MAX ? 'thread' : 'workgroup')) === 'thread'
        ? makeCall(device, 'grad sum_squares', squaresThread, uniform(p.count, this.slots[i]), [p.grad, this.partial], elementwiseWorkgroups(chunks), undefined, [1, 2])
        : makeCall(device, 'grad sum_squares', squares, uniform(p.count, this.slots[i]), [p.grad, this.partial], [chunks], undefined, [1, 2]);
    });
    calls.push(makeCall(device, 'adam_prepare', prepare, uniform(this.totalSlots, 0), [this.partial, this.info], [1], undefined, [2, 3]));
    this.params.forEach((p, i) => {
      calls.push(
        makeCall(device, 'adamw_update', update, uniform(p.count, 0), [p.grad, this.info, p.param, this.moments[2 * i], this.moments[2 * i + 1]], elementwiseWorkgroups(p.count, WG), undefined, [1, 3, 4, 5, 6]),
      );
    });
    return calls;
  }

  /** Encodes and submits one step. */
  async step(lr: number, gradScale = 1): Promise<void> {
    const calls = await this.stepCalls(lr, gradScale);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass({ label: 'optimizer step' });
    encodeCalls(pass, calls);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    disposeCalls(calls);
  }

  /** The last step's gradient norm, whether it was applied, the step count and skipped steps so far. */
  async readInfo(): Promise<StepInfo> {
    const info = await readFloat32(this.device, this.info, ADAM_INFO_WORDS);
    return { gradNorm: info[0], finite: info[2] === 1, step: info[3], skippedSteps: info[6] };
  }

  /** m and v of every parameter (checkpoints), in parameter order. */
  async readMoments(): Promise<{ m: Float32Array; v: Float32Array }[]> {
    return Promise.all(this.params.map(async (p, i) => ({ m: await readFloat32(this.device, this.moments[2 * i], p.count), v: await readFloat32(this.device, this.moments[2 * i + 1], p.count) })));
  }

  /** Everything a resumed run needs: moments and step counters (parameters are saved by their owner). */
  async readState(): Promise<GpuAdamState> {
    const info = await this.readInfo();
    return { step: info.step, skippedSteps: info.skippedSteps, moments: await this.readMoments() };
  }

  /** Restores readState()'s output into this optimizer (same parameter list). */
  writeState(state: GpuAdamState): void {
    if (state.moments.length !== this.params.length) throw new Error(`optimizer state has ${state.moments.length} parameters, this optimizer ${this.params.length}`);
    state.moments.forEach(({ m, v }, i) => {
      if (m.length !== this.params[i].count || v.length !== this.params[i].count) throw new Error(`optimizer state: parameter ${i} has ${m.length} values, expected ${this.params[i].count}`);
      this.device.queue.writeBuffer(this.moments[2 * i], 0, new Float32Array(m));
      this.device.queue.writeBuffer(this.moments[2 * i + 1], 0, new Float32Array(v));
    });
    const info = new Float32Array(ADAM_INFO_WORDS);
    info[3] = state.step;
    info[6] = state.skippedSteps;
    this.device.queue.writeBuffer(this.info, 0, info);
  }

  dispose(): void {
    [...this.moments, this.partial, this.info].forEach((b) => b.destroy());
  }
}
