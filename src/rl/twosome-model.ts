/**
 * What the TWOSOME trainer needs from the model, as two interfaces, so the trainer's control flow runs the
 * same on the WebGPU engine (twosome-gpu.ts) and on fakes in unit tests:
 *
 * - `TwosomeActor`: the LLM with the LoRA adapter. Scores each prompt's offered actions with the adapter ON
 *   (summed action-token log-probs S_k, token and word counts: spec 1.1), accumulates LoRA gradients for a
 *   caller-given dL/dS, steps its AdamW, and gives the critic's input: the final-norm hidden state of each
 *   prompt's last token with the adapter OFF (spec 1.3).
 * - `TwosomeCritic`: the MLP head on those features with its own Adam (spec 2.1-2.2).
 *
 * States are plain structured-cloneable data (typed arrays, numbers, strings), for checkpoints in a file or in
 * IndexedDB. `CpuCritic` is the critic on the CPU (reference MLP + Adam), used by tests and small runs;
 * `ClippedAdam` is the optimizer of every CPU model. `adamSettings` and `engineLoraConfig` turn a run's config
 * into the optimizer and LoRA settings of both backends' models (twosome-gpu.ts, twosome-cpu.ts).
 */
import type { ActionScores, PolicyRequest } from '../llm/scores';
import type { LoraHandle } from '../llm/train/gpu-lora';
import { checkLoraConfig, LORA_TARGETS, type LoraAdapter, type LoraConfig, type LoraTarget } from '../llm/train/lora';
import { criticBackward, criticForward, initCritic, type Critic } from '../llm/reference/critic';
import type { Rng } from '../util/rng';
import { Adam } from '../llm/reference/adamw';
import { clipGradNorm } from '../llm/reference/grad-norm';
import type { PpoConfig } from './config';
import type { ValueLossInput } from './ppo-loss';
import type { PolicyLossStats, PolicyPassLoss } from './policy-pass';

/** Result of one optimizer step (as the GPU optimizer reports it). */
export interface OptimizerStepInfo {
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** false: a non-finite gradient; the step was skipped. */
  finite: boolean;
  step: number;
  skippedSteps: number;
}

/** Adam/AdamW moments and counters, in parameter order (GpuAdam's `readState()` layout). */
export interface OptimizerState {
  step: number;
  skippedSteps: number;
  moments: { m: Float32Array; v: Float32Array }[];
}

export interface ActorState {
  /** The LoRA adapter's values (the GPU actor); null for test actors, which keep theirs in `tensors`. */
  adapter: LoraAdapter | null;
  tensors: Float32Array[];
  optimizer: OptimizerState;
}

export interface CriticState {
  /** [in, h1, ..., 1] */
  sizes: number[];
  /** W_l [sizes[l+1], sizes[l]] row-major. */
  weights: Float32Array[];
  optimizer: OptimizerState;
}

/** The shapes of one policy micro-batch, for the GPU memory estimate. */
export interface MemoryQuery {
  /** Observations of the rollout (the estimate takes the largest prompt, action count and action). */
  requests: readonly PolicyRequest[];
  /** Prompts per forward+backward pass. */
  promptsPerPass: number;
  criticHidden: readonly number[];
  criticBatch: number;
}

/** One rollout step's model outputs (TwosomeActor.observe, observeStep). */
export interface ObservedStep {
  /** Scores of the requests to score, in order (adapter on). */
  scores: ActionScores[];
  /** The critic's input of every observation, in order (adapter off). */
  features: Float32Array[];
  /** The critic's values of those features. */
  values: Float32Array;
}

export interface TwosomeActor {
  /** Width of the critic features. */
  readonly featureDim: number;
  /** Tokens run through the model so far (forward rows: prompts and actions), for tokens/s. */
  readonly tokens: number;
  /** Scores with the adapter on; one entry per request, in order. */
  score(requests: readonly PolicyRequest[]): Promise<ActionScores[]>;
  /** The critic's input per request: last prompt token's final-norm hidden state, adapter off. */
  features(requests: readonly PolicyRequest[]): Promise<Float32Array[]>;
  /**
   * Forward with the adapter on, then `lossGrad(scores)` returns dL/dS[p][k], and the backward adds the
   * adapter's gradients to the accumulated ones.
   */
  accumulate(
    requests: readonly PolicyRequest[],
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<void>;
  /**
   * The same with PPO's policy loss computed where the model is (twosome-gpu.ts: on the GPU, between the forward
   * and the backward): resolves once the pass is submitted, its minibatches' losses later, so that a GPU actor
   * spends no round trip on a pass. The same gradients as accumulate() with the CPU loss (ppo-loss.ts policyLoss
   * of rl/policy.ts actionDistribution), float rounding aside.
   */
  accumulatePolicyLoss?(
    requests: readonly PolicyRequest[],
    loss: PolicyPassLoss,
  ): Promise<{ losses: Promise<PolicyLossStats[]> }>;
  /** Discards the accumulated gradients. */
  zeroGrad(): Promise<void>;
  /**
   * Clip (global norm), AdamW step at `lr` on the accumulated gradients, and zero them. The step takes effect
   * before the next call (the GPU actor submits it before returning); the info may resolve later, so a caller
   * that does not need it at once awaits it later and spends no wait on it.
   */
  step(lr: number): Promise<OptimizerStepInfo>;
  getState(): Promise<ActorState>;
  setState(state: ActorState): Promise<void>;
  /**
   * A rollout step at once: scores of `score` (adapter on), features of `observe` and `critic`'s values of
   * them, where the actor can do it in one GPU round trip (twosome-gpu.ts); absent, observeStep makes the calls.
   */
  observe?(
    score: readonly PolicyRequest[],
    observe: readonly PolicyRequest[],
    critic: TwosomeCritic,
  ): Promise<ObservedStep>;
  /** Planned peak GPU bytes of training with these shapes, or null where nothing is on a GPU. */
  memoryEstimate?(query: MemoryQuery): number | null;
  /**
   * The adapter on the GPU, held for another user on the same device (the playground's scorer scores with
   * it in place, no copy); absent where the adapter is not on a GPU.
   */
  holdAdapter?(): LoraHandle;
  dispose?(): void;
}

export interface TwosomeCritic {
  readonly sizes: readonly number[];
  values(features: readonly Float32Array[]): Promise<Float32Array>;
  /** Forward, then `lossGrad(values)` gives dL/dv, and the backward adds the gradients. Returns the values. */
  accumulate(
    features: readonly Float32Array[],
    lossGrad: (values: Float32Array) => ArrayLike<number>,
  ): Promise<Float32Array>;
  /**
   * The same with PPO's value loss (ppo-loss.ts valueLoss) computed where the critic is: resolves once the work
   * is submitted, its vLoss (the logged value) later, so that a GPU critic spends no round trip on it.
   */
  accumulateValueLoss?(
    features: readonly Float32Array[],
    input: Omit<ValueLossInput, 'newValues'>,
  ): Promise<{ vLoss: Promise<number> }>;
  zeroGrad(): Promise<void>;
  /** As TwosomeActor.step: applied before the next call, its info possibly later. */
  step(lr: number): Promise<OptimizerStepInfo>;
  getState(): Promise<CriticState>;
  setState(state: CriticState): Promise<void>;
  dispose?(): void;
}

/**
 * One rollout step's model outputs: the scores of `score` with the adapter on, and the features and critic
 * values of every observation in `observe`, in one round trip where the actor offers one (TwosomeActor.observe).
 */
export async function observeStep(
  actor: TwosomeActor,
  critic: TwosomeCritic,
  score: readonly PolicyRequest[],
  observe: readonly PolicyRequest[],
): Promise<ObservedStep> {
  if (actor.observe) return actor.observe(score, observe, critic);
  const scores = score.length > 0 ? await actor.score(score) : [];
  const features = await actor.features(observe);
  return { scores, features, values: await critic.values(features) };
}

/** Adam settings shared by both optimizers (spec 2.2: eps 1e-5, clip 0.5; AdamW decay 0 for the policy). */
export interface AdamSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

/** Both optimizers' settings from the config (spec 2.2). */
export function adamSettings(config: PpoConfig, which: 'policy' | 'value'): AdamSettings {
  return {
    beta1: 0.9,
    beta2: 0.999,
    eps: config.adamEps,
    weightDecay: which === 'policy' ? config.policyWeightDecay : 0,
    maxGradNorm: config.maxGradNorm,
  };
}

/** The engine's LoRA config from the PPO config's (validated: r, alpha, dropout 0, known targets). */
export function engineLoraConfig(lora: PpoConfig['lora']): LoraConfig {
  const targets = lora.targets.map((t) => {
    if (!(LORA_TARGETS as readonly string[]).includes(t))
      throw new Error(`unknown LoRA target "${t}" (use ${LORA_TARGETS.join(', ')})`);
    return t as LoraTarget;
  });
  const config: LoraConfig = { r: lora.r, alpha: lora.alpha, dropout: lora.dropout, targets };
  const problems = checkLoraConfig(config);
  if (problems.length) throw new Error(problems.join('; '));
  return config;
}

export function optimizerStateFromAdam(adam: Adam, skippedSteps = 0): OptimizerState {
  const s = adam.getState();
  return { step: s.step, skippedSteps, moments: s.m.map((m, i) => ({ m, v: s.v[i] })) };
}

export function adamStateFromOptimizer(state: OptimizerState, lr: number) {
  return { step: state.step, lr, m: state.moments.map((x) => x.m.slice()), v: state.moments.map((x) => x.v.slice()) };
}

/**
 * Torch-like AdamW (decoupled decay) with global-norm clipping over CPU tensors: the optimizer of the CPU
 * critic and of the CPU actors (the reference LoRA actor and the fake).
 */
export class ClippedAdam {
  private readonly adam: Adam;

  /** `params` are updated in place by step(). */
  constructor(
    params: readonly Float32Array[],
    private readonly settings: AdamSettings,
  ) {
    this.adam = new Adam(params, {
      lr: 0,
      beta1: settings.beta1,
      beta2: settings.beta2,
      eps: settings.eps,
      weightDecay: settings.weightDecay,
      decoupled: true,
    });
  }

  /** Clips `grads` in place to the global norm `maxGradNorm`, then steps at `lr`. */
  step(grads: Float32Array[], lr: number): OptimizerStepInfo {
    const gradNorm = clipGradNorm(grads, this.settings.maxGradNorm);
    this.adam.lr = lr;
    this.adam.step(grads);
    return { gradNorm, finite: Number.isFinite(gradNorm), step: this.adam.stepCount, skippedSteps: 0 };
  }

  getState(): OptimizerState {
    return optimizerStateFromAdam(this.adam);
  }

  setState(state: OptimizerState): void {
    this.adam.setState(adamStateFromOptimizer(state, this.adam.lr));
  }
}

/**
 * The critic head on the CPU: the reference MLP (src/llm/reference/critic.ts, float32 activations, float64
 * gradients stored as float32) and torch-like Adam with global-norm clipping.
 */
export class CpuCritic implements TwosomeCritic {
  private readonly critic: Critic;
  private readonly grads: Float32Array[];
  private readonly adam: ClippedAdam;

  constructor(critic: Critic, settings: AdamSettings) {
    this.critic = { sizes: critic.sizes.slice(), weights: critic.weights.map((w) => w.slice()) };
    this.grads = this.critic.weights.map((w) => new Float32Array(w.length));
    this.adam = new ClippedAdam(this.critic.weights, settings);
  }

  static init(inputDim: number, hidden: readonly number[], rng: Rng, settings: AdamSettings): CpuCritic {
    return new CpuCritic(initCritic(inputDim, rng, hidden), settings);
  }

  get sizes(): readonly number[] {
    return this.critic.sizes;
  }

  private input(features: readonly Float32Array[]): Float32Array {
    const D = this.critic.sizes[0];
    const x = new Float32Array(features.length * D);
    features.forEach((f, i) => {
      if (f.length !== D) throw new RangeError(`critic: a feature row has ${f.length} values, expected ${D}`);
      x.set(f, i * D);
    });
    return x;
  }

  async values(features: readonly Float32Array[]): Promise<Float32Array> {
    return Float32Array.from(criticForward(this.critic, this.input(features), features.length).values);
  }

  async accumulate(
    features: readonly Float32Array[],
    lossGrad: (values: Float32Array) => ArrayLike<number>,
  ): Promise<Float32Array> {
    const fwd = criticForward(this.critic, this.input(features), features.length);
    const values = Float32Array.from(fwd.values);
    const g = criticBackward(this.critic, fwd, lossGrad(values));
    g.weights.forEach((gw, l) => {
      const acc = this.grads[l];
      for (let i = 0; i < acc.length; i++) acc[i] += gw[i];
    });
    return values;
  }

  async zeroGrad(): Promise<void> {
    this.grads.forEach((g) => g.fill(0));
  }

  async step(lr: number): Promise<OptimizerStepInfo> {
    const info = this.adam.step(this.grads, lr);
    this.grads.forEach((g) => g.fill(0));
    return info;
  }

  async getState(): Promise<CriticState> {
    return {
      sizes: this.critic.sizes.slice(),
      weights: this.critic.weights.map((w) => w.slice()),
      optimizer: this.adam.getState(),
    };
  }

  async setState(state: CriticState): Promise<void> {
    if (state.sizes.join() !== this.critic.sizes.join())
      throw new Error(
        `critic state has sizes [${state.sizes.join(', ')}], this critic [${this.critic.sizes.join(', ')}]`,
      );
    state.weights.forEach((w, l) => this.critic.weights[l].set(w));
    this.adam.setState(state.optimizer);
    this.grads.forEach((g) => g.fill(0));
  }
}
