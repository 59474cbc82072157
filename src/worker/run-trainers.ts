/**
 * One interface over the trainers the playground runs, so the trainer host's rules (start, pause, checkpoint,
 * resume) are written once: TWOSOME (the LLM actor and critic, on the engine's GPU or the fake actor in tests)
 * and PPO-MLP (CPU). SayCan trains nothing and has no trainer (the host evaluates the frozen model).
 */
import type { TaskId } from '../envs/types';
import type { PolicyRequest } from '../llm/scores';
import type { LoraHandle } from '../llm/train/gpu-lora';
import type { LoraAdapter } from '../llm/train/lora';
import type { Checkpoint, RunInfo } from '../rl/checkpoint';
import { makeCheckpoint } from '../rl/checkpoint';
import type { PpoConfig, RunConfig } from '../rl/config';
import type { PpoRun } from '../rl/ppo-run';
import { evaluatePolicy, type BatchScorer } from '../rl/evaluate';
import { PpoMlpTrainer, type PpoMlpState } from '../rl/ppo-mlp';
import { TwosomeTrainer, type TwosomeModels, type TwosomeState } from '../rl/twosome-trainer';
import type { TrainMetrics } from './training-protocol';

/** Runs GPU work in the worker's one GPU queue (interactive scoring waits for it, and it for them). */
export type Exclusive = <T>(work: () => Promise<T>) => Promise<T>;

export interface EvalResult {
  episodes: number;
  successRate: number;
  meanReturn: number;
  meanLength: number;
}

export interface RunTrainer {
  readonly algo: 'twosome' | 'ppo-mlp';
  readonly update: number;
  readonly numUpdates: number;
  readonly done: boolean;
  /** Global env steps so far. */
  readonly globalStep: number;
  /** Every update's metrics so far (restored ones included). */
  readonly history: readonly TrainMetrics[];
  /** One rollout and one PPO update. */
  runUpdate(): Promise<TrainMetrics>;
  /** The whole state after the last update (the adapter too, for the playground's scorer). */
  checkpoint(run: RunInfo): Promise<{ checkpoint: Checkpoint; adapter: LoraAdapter | null }>;
  /** The adapter on the GPU, held for the playground's scorer (used in place, no copy); null where there is none. */
  holdAdapter(): LoraHandle | null;
  /** Episodes of the current policy on `taskId`, or a reason it cannot run there. */
  evaluate(taskId: TaskId, episodes: number, greedy: boolean): Promise<EvalResult | { skipped: string }>;
  /** The critic's value of one observation (TWOSOME: the LLM critic); null where there is none. */
  criticValue(request: PolicyRequest): Promise<number | null>;
  dispose(): void;
}

/** The counters and the metrics history, read from the run base both trainers extend (src/rl/ppo-run.ts). */
abstract class RunTrainerBase {
  protected constructor(private readonly run: PpoRun<RunConfig, unknown, TrainMetrics>) {}

  get update(): number {
    return this.run.update;
  }
  get numUpdates(): number {
    return this.run.numUpdates;
  }
  get done(): boolean {
    return this.run.done;
  }
  get globalStep(): number {
    return this.run.globalStep;
  }
  get history(): readonly TrainMetrics[] {
    return this.run.history;
  }
}

export class TwosomeRunTrainer extends RunTrainerBase implements RunTrainer {
  readonly algo = 'twosome' as const;

  private constructor(
    private readonly trainer: TwosomeTrainer,
    private readonly models: TwosomeModels,
    private readonly exclusive: Exclusive,
  ) {
    super(trainer);
  }

  /** A fresh run, or (with `state`) one continued exactly from a checkpoint. */
  static async create(config: PpoConfig, models: TwosomeModels, exclusive: Exclusive, state?: TwosomeState): Promise<TwosomeRunTrainer> {
    const trainer = new TwosomeTrainer(state?.config ?? config, models, state?.options);
    if (state) await exclusive(() => trainer.setState(state));
    return new TwosomeRunTrainer(trainer, models, exclusive);
  }

  runUpdate(): Promise<TrainMetrics> {
    return this.exclusive(() => this.trainer.runUpdate());
  }

  async checkpoint(run: RunInfo): Promise<{ checkpoint: Checkpoint; adapter: LoraAdapter | null }> {
    const state = await this.exclusive(() => this.trainer.getState());
    return { checkpoint: makeCheckpoint('twosome', run, state), adapter: state.actor.adapter };
  }

  holdAdapter(): LoraHandle | null {
    return this.models.actor.holdAdapter?.() ?? null;
  }

  async evaluate(taskId: TaskId, episodes: number, greedy: boolean): Promise<EvalResult> {
    // One GPU call per step in the queue, so the playground's scoring can interleave with a long evaluation.
    const scorer: BatchScorer = (requests) => this.exclusive(() => this.models.actor.score(requests));
    return evaluatePolicy(taskId, scorer, { episodes, greedy, normalization: this.trainer.config.normalization });
  }

  criticValue(request: PolicyRequest): Promise<number> {
    return this.exclusive(async () => {
      const values = await this.models.critic.values(await this.models.actor.features([request]));
      return values[0];
    });
  }

  dispose(): void {
    this.models.actor.dispose?.();
    this.models.critic.dispose?.();
  }
}

export class PpoMlpRunTrainer extends RunTrainerBase implements RunTrainer {
  readonly algo = 'ppo-mlp' as const;

  /** PPO-MLP's state has no metrics: the host gives the stored ones of a restored run. */
  constructor(
    private readonly trainer: PpoMlpTrainer,
    history: TrainMetrics[] = [],
  ) {
    super(trainer);
    trainer.history.push(...history.slice(0, trainer.update));
  }

  static fromState(state: PpoMlpState, history: TrainMetrics[]): PpoMlpRunTrainer {
    return new PpoMlpRunTrainer(PpoMlpTrainer.fromState(state), history);
  }

  async runUpdate(): Promise<TrainMetrics> {
    // CPU only: no GPU queue to wait for.
    return this.trainer.runUpdate();
  }

  async checkpoint(run: RunInfo): Promise<{ checkpoint: Checkpoint; adapter: null }> {
    return { checkpoint: makeCheckpoint('ppo-mlp', run, this.trainer.getState()), adapter: null };
  }

  holdAdapter(): null {
    return null;
  }

  async evaluate(taskId: TaskId, episodes: number, greedy: boolean): Promise<EvalResult | { skipped: string }> {
    // Its networks are sized for its own task's symbolic observation and action table.
    if (taskId !== this.trainer.config.taskId) return { skipped: `PPO-MLP is trained on ${this.trainer.config.taskId}'s own observation vector and action table; it cannot act in ${taskId}` };
    return this.trainer.evaluate({ episodes, greedy });
  }

  async criticValue(): Promise<null> {
    return null;
  }

  dispose(): void {}
}
