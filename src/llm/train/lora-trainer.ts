/**
 * Trains a LoRA adapter on the GPU engine: score micro-batches with the adapter on (keeping activation
 * checkpoints), take dL/dS for every action from the caller's loss (the PPO policy loss in rl/), run the
 * backward to accumulate LoRA gradients, and step AdamW (global-norm clipping, non-finite skip) on the GPU.
 * The loss runs on the CPU from the scores read back (accumulate), or on the GPU between the forward and the
 * backward in the same submission, with no wait (accumulateGpuLoss, e.g. rl/policy-loss-gpu.ts).
 * Scoring with the adapter and no gradients is the engine's: `engine.forwardScores(batch, { lora: trainer.lora })`.
 *
 * One micro-batch = several prompts with their actions, laid out sharing each prompt (engine/scoring-layout.ts).
 * The caller drives accumulation: accumulate() any number of micro-batches, then step(). A micro-batch over
 * the GPU's buffer or dispatch limits runs as several passes (engine/batch-plan.ts) whose gradients add up in the
 * same gradient buffers to the unsplit micro-batch's.
 */
import { Rng } from '../../util/rng';
import {
  groupRequests,
  groupTokenGrads,
  mergeGroupScores,
  type BatchGroup,
  type GroupResult,
} from '../engine/batch-plan';
import type { LlamaEngine } from '../engine/engine';
import type { LoraBackward } from '../engine/backward';
import type { ScoringForward } from '../engine/forward';
import { readLora, SharedLora, uploadLora, type GpuLora, type LoraHandle } from './gpu-lora';
import { DEFAULT_LORA_CONFIG, initLoraAdapter, type LoraAdapter, type LoraConfig } from './lora';
import { GpuAdam, type OptimizerConfig, type StepInfo } from './optimizer';
import { planScoring, type ScoringLayout } from '../engine/scoring-layout';
import type { ActionScores, ScoringBatch } from '../scores';

export interface LoraTrainerOptions {
  lora?: LoraConfig;
  optimizer?: Partial<OptimizerConfig>;
  seed?: number;
  /** Start from these adapter values instead of a fresh PEFT init. */
  adapter?: LoraAdapter;
}

/** One pass of a micro-batch: its group of the batch, its layout and its forward plan. */
interface TrainingPass {
  group: BatchGroup;
  layout: ScoringLayout;
  forward: ScoringForward;
}

/**
 * A loss computed on the GPU between a micro-batch's forward and its backward (rl/policy-loss-gpu.ts: PPO's
 * policy loss), so that the micro-batch costs no round trip (LoraTrainer.accumulateGpuLoss). Both buffers hold
 * the batch's scored tokens in request order (`batchTokenRanges`).
 */
export interface GpuTokenLoss {
  /** [T] in: every action token's log-prob, copied in by the trainer after the forward. */
  readonly tokenLogprobs: GPUBuffer;
  /** [T] out: dL/d(token log-prob), copied by the trainer into the backward's input. */
  readonly tokenGrads: GPUBuffer;
  /** Records the loss's kernels (and any readback of its own) between the forward and the backward. */
  encode(encoder: GPUCommandEncoder): void;
}

/** Per request, per action: its tokens [first, first + count) among the batch's scored tokens in request order. */
export function batchTokenRanges(batch: ScoringBatch): { first: number; count: number }[][] {
  let first = 0;
  return batch.map((r) =>
    r.actionTokens.map((tokens) => {
      const range = { first, count: tokens.length };
      first += tokens.length;
      return range;
    }),
  );
}

export const DEFAULT_LORA_OPTIMIZER: OptimizerConfig = {
  lr: 5e-7,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-5,
  weightDecay: 0,
  maxGradNorm: 0.5,
};

export class LoraTrainer {
  readonly lora: GpuLora;
  readonly optimizer: GpuAdam;
  private readonly shared: SharedLora;
  private readonly own: LoraHandle;

  private constructor(
    readonly engine: LlamaEngine,
    readonly adapter: LoraAdapter,
    optimizerConfig: OptimizerConfig,
  ) {
    const { device } = engine.gpu;
    this.shared = new SharedLora(uploadLora(device, adapter));
    this.own = this.shared.hold();
    this.lora = this.shared.lora;
    const params = this.lora.modules.flatMap((m) => [
      { param: m.a, grad: m.gradA, count: adapter.config.r * m.slice.inDim },
      { param: m.b, grad: m.gradB, count: m.slice.outDim * adapter.config.r },
    ]);
    this.optimizer = GpuAdam.create(device, engine.pipelines, params, optimizerConfig);
  }

  static create(engine: LlamaEngine, options: LoraTrainerOptions = {}): LoraTrainer {
    const adapter =
      options.adapter ??
      initLoraAdapter(engine.config, options.lora ?? DEFAULT_LORA_CONFIG, new Rng(options.seed ?? 1));
    return new LoraTrainer(engine, adapter, { ...DEFAULT_LORA_OPTIMIZER, ...options.optimizer });
  }

  /**
   * One micro-batch: forward with the adapter, then `lossGrad(scores)` returns dL/dS[p][k] (the gradient of
   * the caller's loss with respect to each action's summed log-prob), and the backward accumulates the LoRA
   * gradients. Returns the scores the loss saw. One submission and one wait for the forward (its scores), one
   * submission and no wait for the backward: the GPU runs it while the caller goes on, and the queue orders it
   * before anything the caller submits next (the optimizer step, the next micro-batch).
   *
   * A micro-batch over the GPU's limits runs as the engine's groups (LlamaEngine.planGroups): every group's
   * forward first, each on a workspace of its own that keeps its checkpoints, so that the loss sees the whole
   * micro-batch's scores at once (its normalization, e.g. advantage normalization over a minibatch, spans every
   * group); then each group's backward with its share of dL/dS. The backward is linear in dL/dS and the LoRA
   * gradients accumulate (+=), so the sum over groups is the unsplit gradient, up to the order of the sums over
   * rows. The plans are the engine's, kept for the next micro-batch of the same shape.
   */
  async accumulate(
    batch: ScoringBatch,
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<ActionScores[]> {
    await this.optimizer.prepare(); // so that step() submits at once
    // The workspaces hold this micro-batch's activations from its forward to its backward: no other pass between.
    return this.engine.exclusive(() => this.forwardBackward(batch, lossGrad));
  }

  /** The micro-batch's passes (the engine's groups), each with its layout and its forward plan. */
  private async forwardPasses(batch: ScoringBatch): Promise<TrainingPass[]> {
    const passes: TrainingPass[] = [];
    const groups = this.engine.planGroups(batch);
    for (const [slot, group] of groups.entries()) {
      const layout = planScoring(groupRequests(batch, group));
      passes.push({
        group,
        layout,
        forward: await this.engine.forwardFor(layout, { lora: this.lora, training: true, slot }),
      });
    }
    return passes;
  }

  private async forwardBackward(
    batch: ScoringBatch,
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<ActionScores[]> {
    const { device } = this.engine.gpu;
    const passes = await this.forwardPasses(batch);
    const encoder = device.createCommandEncoder();
    const staged = passes.map(({ layout, forward }) => {
      forward.load(layout);
      forward.encode(encoder);
      return forward.stageResults(encoder);
    });
    device.queue.submit([encoder.finish()]);
    const results: GroupResult[] = [];
    for (const [i, s] of staged.entries())
      results.push({ group: passes[i].group, layout: passes[i].layout, ...(await s.read()) });
    const scores = mergeGroupScores(batch, results, this.engine.config.hidden);
    const dLdS = lossGrad(scores);
    const backwards: LoraBackward[] = [];
    for (const { forward } of passes) backwards.push(await this.engine.backwardFor(forward));
    const backwardEncoder = device.createCommandEncoder();
    passes.forEach(({ group, layout }, i) => {
      backwards[i].load(layout, groupTokenGrads(group, layout, dLdS));
      backwards[i].encode(backwardEncoder);
    });
    device.queue.submit([backwardEncoder.finish()]);
    return scores;
  }

  /**
   * One micro-batch with a loss computed on the GPU (`GpuTokenLoss`): forward, loss and backward in one
   * submission and no wait. The groups' scored tokens, laid out one after the other, are the batch's in request
   * order (groups are runs of whole prompts or of consecutive actions, in order: batch-plan.ts), which is the
   * order of `batchTokenRanges`; they are copied into the loss's input, and its gradients out of the same
   * places into each group's backward. Resolves once submitted.
   */
  async accumulateGpuLoss(batch: ScoringBatch, loss: GpuTokenLoss): Promise<void> {
    await this.optimizer.prepare(); // so that step() submits at once
    return this.engine.exclusive(async () => {
      const { device } = this.engine.gpu;
      const passes = await this.forwardPasses(batch);
      const backwards: LoraBackward[] = [];
      for (const { forward } of passes) backwards.push(await this.engine.backwardFor(forward));
      const tokens = passes.map(({ layout }) => layout.logitRows.length);
      const offsets = tokens.map((_, i) => tokens.slice(0, i).reduce((a, b) => a + b, 0));
      const encoder = device.createCommandEncoder();
      passes.forEach(({ layout, forward }, i) => {
        forward.load(layout);
        forward.encode(encoder);
        encoder.copyBufferToBuffer(forward.tokenLogprobs, 0, loss.tokenLogprobs, 4 * offsets[i], 4 * tokens[i]);
      });
      loss.encode(encoder);
      passes.forEach(({ layout }, i) => {
        backwards[i].load(layout, null);
        encoder.copyBufferToBuffer(loss.tokenGrads, 4 * offsets[i], backwards[i].tokenGrads, 0, 4 * tokens[i]);
        backwards[i].encode(encoder);
      });
      device.queue.submit([encoder.finish()]);
    });
  }

  /**
   * One AdamW step on the accumulated gradients (which it zeroes); gradScale e.g. 1 / accumulation steps. After
   * an accumulate() the step is submitted before this returns, so the caller need not await the info before
   * submitting more work: the promise resolves when the GPU has run the step (no wait spent on it until then).
   */
  step(lr: number, gradScale = 1): Promise<StepInfo> {
    if (!this.optimizer.prepared) return this.optimizer.prepare().then(() => this.optimizer.submitStep(lr, gradScale));
    return this.optimizer.submitStep(lr, gradScale);
  }

  /** The adapter's current values, in the host layout (for export and checkpoints). */
  async readAdapter(): Promise<LoraAdapter> {
    const values = await readLora(this.engine.gpu.device, this.lora, 'weights');
    return { ...this.adapter, modules: this.adapter.modules.map((m, i) => ({ ...m, a: values[i].a, b: values[i].b })) };
  }

  /**
   * The adapter for another user on this device (the playground's scorer), in place: it sees every later
   * step, and its buffers outlive this trainer until that user releases the handle.
   */
  holdLora(): LoraHandle {
    return this.shared.hold();
  }

  dispose(): void {
    this.engine.releaseLora(this.lora);
    this.optimizer.dispose();
    this.own.release();
  }
}
