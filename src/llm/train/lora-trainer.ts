/**
 * Trains a LoRA adapter on the GPU engine: score micro-batches with the adapter on (keeping activation
 * checkpoints), take dL/dS for every action from the caller's loss (the PPO policy loss in rl/), run the
 * backward to accumulate LoRA gradients, and step AdamW (global-norm clipping, non-finite skip) on the GPU.
 * Scoring with the adapter and no gradients is the engine's: `engine.forwardScores(batch, { lora: trainer.lora })`.
 *
 * One micro-batch = several prompts with their actions, laid out sharing each prompt (engine/scoring-layout.ts).
 * The caller drives accumulation: accumulate() any number of micro-batches, then step(). A micro-batch over
 * the GPU's buffer or dispatch limits runs as several passes (engine/batch-plan.ts) whose gradients add up in the
 * same gradient buffers to the unsplit micro-batch's.
 */
import { Rng } from '../../util/rng';
import { LoraBackward } from '../engine/backward';
import { groupRequests, groupTokenGrads, mergeGroupScores, type BatchGroup, type GroupResult } from '../engine/batch-plan';
import type { LlamaEngine } from '../engine/engine';
import { ScoringForward } from '../engine/forward';
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

export const DEFAULT_LORA_OPTIMIZER: OptimizerConfig = { lr: 5e-7, beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5 };

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
    const adapter = options.adapter ?? initLoraAdapter(engine.config, options.lora ?? DEFAULT_LORA_CONFIG, new Rng(options.seed ?? 1));
    return new LoraTrainer(engine, adapter, { ...DEFAULT_LORA_OPTIMIZER, ...options.optimizer });
  }

  /**
   * One micro-batch: forward with the adapter, then `lossGrad(scores)` returns dL/dS[p][k] (the gradient of
   * the caller's loss with respect to each action's summed log-prob), and the backward accumulates the LoRA
   * gradients. Returns the scores the loss saw.
   *
   * A micro-batch over the GPU's limits runs as the engine's groups (LlamaEngine.planGroups): every group's
   * forward first, keeping its checkpoints, so that the loss sees the whole micro-batch's scores at once (its
   * normalization, e.g. advantage normalization over a minibatch, spans every group); then each group's
   * backward with its share of dL/dS. The backward is linear in dL/dS and the LoRA gradients accumulate (+=),
   * so the sum over groups is the unsplit gradient, up to the order of the sums over rows. The activations of
   * all groups are alive until the last backward, as one unsplit pass's would be.
   */
  async accumulate(
    batch: ScoringBatch,
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<ActionScores[]> {
    const { device } = this.engine.gpu;
    const passes: { group: BatchGroup; layout: ScoringLayout; forward: ScoringForward }[] = [];
    let backward: LoraBackward | undefined;
    try {
      const results: GroupResult[] = [];
      for (const group of this.engine.planGroups(batch)) {
        const layout = planScoring(groupRequests(batch, group));
        const forward = await ScoringForward.build(device, this.engine.pipelines, this.engine.weights, layout, { lora: this.lora, keepCheckpoints: true, limits: this.engine.batchLimits });
        passes.push({ group, layout, forward });
        results.push({ group, layout, ...(await forward.run()) });
      }
      const scores = mergeGroupScores(batch, results, this.engine.config.hidden);
      const dLdS = lossGrad(scores);
      for (const { group, layout, forward } of passes) {
        backward = await LoraBackward.build(device, this.engine.pipelines, forward);
        backward.run(groupTokenGrads(group, layout, dLdS));
        await device.queue.onSubmittedWorkDone();
        backward.dispose();
        backward = undefined;
      }
      return scores;
    } finally {
      backward?.dispose();
      passes.forEach((p) => p.forward.dispose());
    }
  }

  /** One AdamW step on the accumulated gradients (which it zeroes); gradScale e.g. 1 / accumulation steps. */
  async step(lr: number, gradScale = 1): Promise<StepInfo> {
    await this.optimizer.step(lr, gradScale);
    return this.optimizer.readInfo();
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
    this.optimizer.dispose();
    this.own.release();
  }
}
