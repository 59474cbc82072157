/**
 * AdamW (LoRA) and Adam (critic) on the GPU with global gradient-norm clipping, as torch's
 * clip_grad_norm_ + AdamW/Adam: the gradient norm (grad-norm.ts), then the update (adamw.ts). One step is four
 * kinds of dispatch and no CPU round trip; a non-finite gradient skips the step (never applied) and is counted in
 * the info buffer, which the trainer reads with its metrics. The calls are built once, on the first step; each
 * step writes only its learning rate and gradient scale.
 */
import { createStorageBuffer } from '../../gpu/buffers';
import { disposeCalls, encodeCalls, type KernelCall, type KernelVariant } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';
import { readbackPool, type StagedRead } from '../../gpu/readback';
import { adamwPrepareCall, adamwUpdateCall } from './adamw';
import { clipCoefCall, normPartialSlots, sumSquaresCall } from './grad-norm';

export { normPartialSlots } from './grad-norm';

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

/**
 * Words of the info buffer (grad_norm.wgsl and adamw.wgsl: norm, coef, finite, t, bc1, bc2_sqrt, skipped steps,
 * factor).
 */
export const ADAM_INFO_WORDS = 8;
/** Words of the step arguments (adamw.wgsl: lr, grad_scale). */
export const ADAM_STEP_ARGS_WORDS = 2;

export class GpuAdam {
  private readonly moments: GPUBuffer[] = [];
  private readonly partial: GPUBuffer;
  private readonly info: GPUBuffer;
  private readonly stepArgs: GPUBuffer;
  private readonly slots: number[] = [];
  private readonly totalSlots: number;
  /** Built on the first step and replayed by every later one. */
  private calls: KernelCall[] | null = null;

  private constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: PipelineCache,
    readonly params: readonly ParamGrad[],
    readonly config: OptimizerConfig,
    /** How the gradient's squared norm is reduced; default by size (thread up to 2^20 elements a tensor). */
    private readonly sumSquares?: KernelVariant,
  ) {
    let slots = 0;
    for (const p of params) {
      this.slots.push(slots);
      slots += normPartialSlots(p.count);
      this.moments.push(
        createStorageBuffer(device, p.count * 4, 'adam m'),
        createStorageBuffer(device, p.count * 4, 'adam v'),
      );
    }
    this.totalSlots = slots;
    this.partial = createStorageBuffer(device, slots * 4, 'grad norm partials');
    this.info = createStorageBuffer(device, ADAM_INFO_WORDS * 4, 'adam info');
    this.stepArgs = createStorageBuffer(device, ADAM_STEP_ARGS_WORDS * 4, 'adam step args');
  }

  static create(
    device: GPUDevice,
    pipelines: PipelineCache,
    params: readonly ParamGrad[],
    config: OptimizerConfig,
    sumSquares?: KernelVariant,
  ): GpuAdam {
    return new GpuAdam(device, pipelines, params, config, sumSquares);
  }

  /** The calls of one step (any step: the learning rate and gradient scale are read from stepArgs). */
  private async buildCalls(): Promise<KernelCall[]> {
    const ctx = { device: this.device, pipelines: this.pipelines };
    const { info, stepArgs, partial } = this;
    const calls: KernelCall[] = [];
    for (const [i, p] of this.params.entries())
      calls.push(await sumSquaresCall(ctx, p.grad, partial, p.count, this.slots[i], this.sumSquares));
    calls.push(await clipCoefCall(ctx, partial, info, this.totalSlots, this.config.maxGradNorm));
    calls.push(await adamwPrepareCall(ctx, info, stepArgs, this.config));
    for (const [i, p] of this.params.entries()) {
      calls.push(
        await adamwUpdateCall(
          ctx,
          { param: p.param, grad: p.grad, m: this.moments[2 * i], v: this.moments[2 * i + 1], info, stepArgs },
          p.count,
          this.config,
        ),
      );
    }
    return calls;
  }

  /** Builds the calls if this is the first step (so that encodeStep can run synchronously afterwards). */
  async prepare(): Promise<void> {
    this.calls ??= await this.buildCalls();
  }

  /** Whether prepare() has built the calls (then submitStep runs without awaiting anything). */
  get prepared(): boolean {
    return this.calls !== null;
  }

  /**
   * Submits one step now (after prepare()) and reads its info when the GPU has run it: the caller may go on
   * submitting work (the queue runs it after the step) and await the info later, so that no wait is spent on it.
   */
  submitStep(lr: number, gradScale = 1): Promise<StepInfo> {
    const encoder = this.device.createCommandEncoder();
    this.encodeStep(encoder, lr, gradScale);
    const info = this.stageInfo(encoder);
    this.device.queue.submit([encoder.finish()]);
    return info.read();
  }

  /**
   * Records one step at learning rate `lr` (the schedule's current value), gradients scaled by gradScale after
   * clipping, into `encoder` (after prepare()). The step's arguments are written now, so a step encoded later
   * must not be submitted before this one.
   */
  encodeStep(encoder: GPUCommandEncoder, lr: number, gradScale = 1): void {
    if (!this.calls) throw new Error('GpuAdam.encodeStep: call prepare() first');
    this.device.queue.writeBuffer(this.stepArgs, 0, Float32Array.of(lr, gradScale));
    const pass = encoder.beginComputePass({ label: 'optimizer step' });
    encodeCalls(pass, this.calls);
    pass.end();
  }

  /** Encodes and submits one step. */
  async step(lr: number, gradScale = 1): Promise<void> {
    await this.prepare();
    const encoder = this.device.createCommandEncoder();
    this.encodeStep(encoder, lr, gradScale);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Records a copy of the info buffer as it is now in the queue (read() it after `encoder` is submitted). */
  stageInfo(encoder: GPUCommandEncoder): { read(): Promise<StepInfo> } {
    const staged: StagedRead = readbackPool(this.device).stage(encoder, [
      { buffer: this.info, count: ADAM_INFO_WORDS },
    ]);
    return { read: async () => stepInfoOf((await staged.read())[0]) };
  }

  /** The last step's gradient norm, whether it was applied, the step count and skipped steps so far. */
  async readInfo(): Promise<StepInfo> {
    const [info] = await readbackPool(this.device).read([{ buffer: this.info, count: ADAM_INFO_WORDS }]);
    return stepInfoOf(info);
  }

  /** m and v of every parameter (checkpoints), in parameter order. */
  async readMoments(): Promise<{ m: Float32Array; v: Float32Array }[]> {
    const words = await readbackPool(this.device).read(
      this.moments.map((buffer, i) => ({ buffer, count: this.params[i >> 1].count })),
    );
    return this.params.map((_, i) => ({ m: words[2 * i], v: words[2 * i + 1] }));
  }

  /** Everything a resumed run needs: moments and step counters (parameters are saved by their owner). */
  async readState(): Promise<GpuAdamState> {
    const info = await this.readInfo();
    return { step: info.step, skippedSteps: info.skippedSteps, moments: await this.readMoments() };
  }

  /** Restores readState()'s output into this optimizer (same parameter list). */
  writeState(state: GpuAdamState): void {
    if (state.moments.length !== this.params.length)
      throw new Error(`optimizer state has ${state.moments.length} parameters, this optimizer ${this.params.length}`);
    state.moments.forEach(({ m, v }, i) => {
      if (m.length !== this.params[i].count || v.length !== this.params[i].count)
        throw new Error(`optimizer state: parameter ${i} has ${m.length} values, expected ${this.params[i].count}`);
      this.device.queue.writeBuffer(this.moments[2 * i], 0, new Float32Array(m));
      this.device.queue.writeBuffer(this.moments[2 * i + 1], 0, new Float32Array(v));
    });
    const info = new Float32Array(ADAM_INFO_WORDS);
    info[3] = state.step;
    info[6] = state.skippedSteps;
    this.device.queue.writeBuffer(this.info, 0, info);
  }

  dispose(): void {
    if (this.calls) disposeCalls(this.calls);
    [...this.moments, this.partial, this.info, this.stepArgs].forEach((b) => b.destroy());
  }
}

function stepInfoOf(info: Float32Array): StepInfo {
  return { gradNorm: info[0], finite: info[2] === 1, step: info[3], skippedSteps: info[6] };
}
