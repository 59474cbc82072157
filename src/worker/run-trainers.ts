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
import type { ActorState, CriticState, OptimizerStepInfo, TwosomeActor, TwosomeCritic } from '../rl/twosome-model';
import { awaitedLater } from '../util/awaited-later';
import { describeError } from '../util/errors';
import { probeDue } from './training-probe';
import type { ProbeResult, TrainMetrics } from './training-protocol';

/** Runs GPU work in the worker's one GPU queue (interactive scoring waits for it, and it for them). */
export type Exclusive = <T>(work: () => Promise<T>) => Promise<T>;

/** What the actor and the critic share: their gradients, their optimizer step and the state a checkpoint saves. */
interface TrainedModel<State> {
  zeroGrad(): Promise<void>;
  step(lr: number): Promise<OptimizerStepInfo>;
  getState(): Promise<State>;
  setState(state: State): Promise<void>;
  dispose?(): void;
}

/** `inner`'s gradient, step and state calls, each queued on its own (QueuedActor, QueuedCritic). */
abstract class QueuedModel<State, Model extends TrainedModel<State>> {
  constructor(
    readonly inner: Model,
    protected readonly exclusive: Exclusive,
  ) {}
  zeroGrad = () => this.exclusive(() => this.inner.zeroGrad());
  step = (lr: number) => submitted(this.exclusive, () => this.inner.step(lr));
  getState = () => this.exclusive(() => this.inner.getState());
  setState = (state: State) => this.exclusive(() => this.inner.setState(state));
  dispose = () => this.inner.dispose?.();
}

/**
 * The actor with each GPU call (a rollout step's scoring or features, one policy pass's forward+backward, an
 * optimizer step, a state read) queued on its own, not the whole update as one job: a scoring request of the
 * playground (a Step, a new state) waits for the call in progress only, and then goes ahead of the trainer's
 * next call. The trainer awaits each call before it makes the next, so its order of computation, and with it
 * every number of the run, is the same as without interleaving; a call in between reads the adapter (the
 * playground scores with the one being trained) and changes nothing the trainer uses.
 */
class QueuedActor extends QueuedModel<ActorState, TwosomeActor> implements TwosomeActor {
  /** The adapter on the GPU, where the actor has one (holding it is no GPU work: not queued). */
  readonly holdAdapter?: () => LoraHandle;
  /** The fused rollout step, where the actor has one: one job, with the critic it wraps (the GPU actor's own). */
  readonly observe?: NonNullable<TwosomeActor['observe']>;
  /** PPO's policy loss on the actor's side, where it has it: queued until submitted, its losses read later. */
  readonly accumulatePolicyLoss?: NonNullable<TwosomeActor['accumulatePolicyLoss']>;

  constructor(actor: TwosomeActor, exclusive: Exclusive) {
    super(actor, exclusive);
    if (actor.holdAdapter) this.holdAdapter = () => actor.holdAdapter!();
    if (actor.observe) {
      this.observe = (score, observe, critic) => {
        const inner = critic instanceof QueuedCritic ? critic.inner : critic;
        return this.exclusive(() => actor.observe!(score, observe, inner));
      };
    }
    if (actor.accumulatePolicyLoss) {
      this.accumulatePolicyLoss = (requests, loss) => exclusive(() => actor.accumulatePolicyLoss!(requests, loss));
    }
  }
  get featureDim() {
    return this.inner.featureDim;
  }
  get tokens() {
    return this.inner.tokens;
  }
  score: TwosomeActor['score'] = (requests) => this.exclusive(() => this.inner.score(requests));
  features: TwosomeActor['features'] = (requests) => this.exclusive(() => this.inner.features(requests));
  accumulate: TwosomeActor['accumulate'] = (requests, lossGrad) =>
    this.exclusive(() => this.inner.accumulate(requests, lossGrad));
  memoryEstimate: NonNullable<TwosomeActor['memoryEstimate']> = (query) => this.inner.memoryEstimate?.(query) ?? null;
}

/**
 * An optimizer step in the queue until it is submitted, not until its info is read back: the step applies
 * before the next call (twosome-model.ts), and the trainer reads the infos after the update, so the queue is not
 * held for a round trip the trainer does not wait for.
 */
function submitted<T>(exclusive: Exclusive, step: () => Promise<T>): Promise<T> {
  let info!: Promise<T>;
  return exclusive(async () => {
    info = awaitedLater(step()); // rejected before the caller chains it: still reported to the caller below
  }).then(() => info);
}

/** The critic with each GPU call queued on its own (see QueuedActor). */
class QueuedCritic extends QueuedModel<CriticState, TwosomeCritic> implements TwosomeCritic {
  /** PPO's value loss on the critic's side, where it has it: queued until submitted, its loss read later. */
  readonly accumulateValueLoss?: NonNullable<TwosomeCritic['accumulateValueLoss']>;

  constructor(inner: TwosomeCritic, exclusive: Exclusive) {
    super(inner, exclusive);
    if (inner.accumulateValueLoss) {
      this.accumulateValueLoss = (features, input) => exclusive(() => inner.accumulateValueLoss!(features, input));
    }
  }
  get sizes() {
    return this.inner.sizes;
  }
  values: TwosomeCritic['values'] = (features) => this.exclusive(() => this.inner.values(features));
  accumulate: TwosomeCritic['accumulate'] = (features, lossGrad) =>
    this.exclusive(() => this.inner.accumulate(features, lossGrad));
}

/** TWOSOME's models with every GPU call in the worker's queue, one call a job (QueuedActor). */
export function queuedModels(models: TwosomeModels, exclusive: Exclusive): TwosomeModels {
  return { actor: new QueuedActor(models.actor, exclusive), critic: new QueuedCritic(models.critic, exclusive) };
}

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

/** A run's probe as the trainer runs it: after every `every` updates, with the adapter it holds on the GPU. */
export interface UpdateProbe {
  every: number;
  /** Scores the probe with `adapter` (the trainer's own buffers; null where the actor has none) and releases it. */
  score(adapter: LoraHandle | null): Promise<ProbeResult>;
}

export class TwosomeRunTrainer extends RunTrainerBase implements RunTrainer {
  readonly algo = 'twosome' as const;

  private constructor(
    private readonly trainer: TwosomeTrainer,
    private readonly models: TwosomeModels,
    private probe: UpdateProbe | null,
  ) {
    super(trainer);
  }

  /**
   * A fresh run, or (with `state`) one continued exactly from a checkpoint. The trainer gets the models through
   * the worker's GPU queue one call at a time (queuedModels), so the playground's scoring interleaves with an
   * update between its passes instead of waiting for the whole update. With `probe`, it is scored after every
   * `probe.every` updates.
   */
  static async create(
    config: PpoConfig,
    models: TwosomeModels,
    exclusive: Exclusive,
    state?: TwosomeState,
    probe: UpdateProbe | null = null,
  ): Promise<TwosomeRunTrainer> {
    const queued = queuedModels(models, exclusive);
    const trainer = new TwosomeTrainer(state?.config ?? config, queued, state?.options);
    if (state) await trainer.setState(state);
    return new TwosomeRunTrainer(trainer, queued, probe);
  }

  /** Whether a probe runs in this run's updates. */
  get probing(): boolean {
    return this.probe !== null;
  }

  /** The probe from the next update on (null: none); a resumed run gets its probe again this way. */
  setProbe(probe: UpdateProbe | null): void {
    this.probe = probe;
  }

  /**
   * One update, then the probe where it is due: after the update's last GPU call and before the next update's
   * first, and before the checkpoint is taken, so the record in the history (which the checkpoint copies and the
   * store saves) holds the probe's result. The probe reads the adapter and changes nothing the trainer uses: the
   * run's numbers are those of a run without it.
   */
  async runUpdate(): Promise<TrainMetrics> {
    const metrics: TrainMetrics = await this.trainer.runUpdate();
    if (this.probe && probeDue(metrics.update, this.probe.every)) {
      try {
        metrics.probe = await this.probe.score(this.holdAdapter());
      } catch (error) {
        throw new Error(`its probe failed: ${describeError(error)}`, { cause: error });
      }
    }
    return metrics;
  }

  async checkpoint(run: RunInfo): Promise<{ checkpoint: Checkpoint; adapter: LoraAdapter | null }> {
    const state = await this.trainer.getState();
    return { checkpoint: makeCheckpoint('twosome', run, state), adapter: state.actor.adapter };
  }

  holdAdapter(): LoraHandle | null {
    return this.models.actor.holdAdapter?.() ?? null;
  }

  async evaluate(taskId: TaskId, episodes: number, greedy: boolean): Promise<EvalResult> {
    // One GPU call per step in the queue (the queued actor), so the playground's scoring interleaves with it.
    const scorer: BatchScorer = (requests) => this.models.actor.score(requests);
    return evaluatePolicy(taskId, scorer, { episodes, greedy, normalization: this.trainer.config.normalization });
  }

  async criticValue(request: PolicyRequest): Promise<number> {
    const values = await this.models.critic.values(await this.models.actor.features([request]));
    return values[0];
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
    if (taskId !== this.trainer.config.taskId)
      return {
        skipped: `PPO-MLP is trained on ${this.trainer.config.taskId}'s own observation vector and action table; it cannot act in ${taskId}`,
      };
    return this.trainer.evaluate({ episodes, greedy });
  }

  async criticValue(): Promise<null> {
    return null;
  }

  dispose(): void {}
}
