/**
 * TWOSOME's PPO trainer (spec section 2; ppo_llm_pomdp.py / ppo_llm_v1.py, CleanRL-derived), top to bottom:
 *
 *   for update = 1 .. num_updates:
 *     anneal both learning rates linearly to 0
 *     rollout: num_steps steps of num_envs envs (auto-reset); per step ALL envs' prompts are scored in one call
 *       with the LoRA adapter on (the policy: word-normalized action log-probs, spec 1.1) and their critic
 *       features come from one call with the adapter off (spec 1.3); actions are sampled from pi; we store
 *       prompt/actions, action, float32 log-prob, value, reward, done and primitive steps. (The adapter is fixed
 *       during a rollout, so a (prompt, actions) pair already scored in it is not sent again; the actor may
 *       also memoize features, which never change. Both are exact: the engine scores each prompt independently
 *       of the others in a call.)
 *     bootstrap: value of each env's next observation
 *     GAE(lambda) with disc_t = gamma^K_t (macro actions, K = primitive steps of the macro) or gamma
 *     per epoch, one shuffle of the batch indices, cut two ways:
 *       (1) value minibatches: clipped value loss * vf_coef, a critic Adam step each (clip 0.5);
 *       (2) policy minibatches in windows of `gradientAccumulationSteps`: PPO clip loss with per-minibatch
 *           advantage normalization minus ent_coef * entropy, divided by the window size, gradients summed;
 *           then an AdamW step (clip 0.5), unless the window's mean approx KL > target_kl, which discards
 *           the window and ends the update (later epochs included). The loss runs where the actor can run it:
 *           on the GPU for the GPU actor (policy-loss-gpu.ts; a pass then costs no CPU-GPU wait, and the
 *           window's losses are read once, for the KL stop), else on the CPU from the scores (policy-pass.ts).
 *
 * The rollout bookkeeping, GAE, metrics, counters and train loop are ppo-run.ts's (shared with PPO-MLP). The
 * model is two interfaces (twosome-model.ts): the WebGPU engine (twosome-gpu.ts), the CPU reference of the
 * model (twosome-cpu.ts, tiny models), or fakes in tests (twosome-fake.ts).
 *
 * Policy micro-batching: the minibatches of one accumulation window see the same parameters (no step inside a
 * window), so `promptsPerPass` lets consecutive minibatches of a window share one forward+backward pass, each
 * with its own loss (own advantage normalization, own KL), which is the same gradient with fewer, larger GPU
 * passes; within a pass, samples of the same (prompt, actions) share one forward (gradients summed).
 *
 * Same config and seed -> same metrics; getState()/setState() (plain structured-cloneable data) resume exactly.
 */
import { awaitedLater } from '../util/awaited-later';
import { Rng } from '../util/rng';
import { CheckpointError, checkStateShape } from './checkpoint';
import { derivePpo, type DerivedPpo, type PpoConfig } from './config';
import { evaluatePolicy, type PolicyEvaluateOptions, type PolicyEvaluation } from './evaluate';
import { annealedLr, arange, shuffleInPlace, splitMinibatches } from './minibatch';
import { actionDistribution, sampleAction } from './policy';
import { policyPassLoss, type PolicyLossStats, type PolicyPassLoss } from './policy-pass';
import { normalizeAdvantages, valueLoss } from './ppo-loss';
import { PpoRun, trainLoop, type RunProgress, type RunStreams, type TrainLoopOptions } from './ppo-run';
import { LossMeans, type EpisodeStats, type UpdateMetrics } from './rollout';
import type { ActionScores, PolicyRequest } from '../llm/scores';
import {
  observeStep,
  type ActorState,
  type CriticState,
  type OptimizerStepInfo,
  type TwosomeActor,
  type TwosomeCritic,
} from './twosome-model';

/** What a stored step's observation holds: the prompt and the offered texts. */
export interface TwosomeObservation {
  prompt: string;
  actions: string[];
}

export interface TwosomeUpdateMetrics extends UpdateMetrics {
  /**
   * Tokens run through the LLM during this update (forward rows of every scoring, feature and training pass).
   * A throughput figure like `timing`: memoized scores and features are not counted, so a resumed run (fresh
   * memo) can differ here while every learning metric is identical.
   */
  tokens: number;
  tokensPerSecond: number;
  /** Planned peak GPU bytes of a policy pass with this rollout's largest prompt (null off the GPU). */
  gpuMemoryBytes: number | null;
  /** Mean global gradient norms (before clipping) of this update's optimizer steps. */
  policyGradNorm: number | null;
  valueGradNorm: number | null;
  /** Optimizer steps skipped for a non-finite gradient, so far (policy). */
  skippedSteps: number;
}

export interface TwosomeRunOptions {
  /**
   * Prompts per forward+backward pass of the policy phase (rounded down to whole minibatches, at most one
   * accumulation window). Default: one minibatch per pass (the paper's memory use).
   */
  promptsPerPass?: number;
}

/** Everything a run needs to continue exactly (structured-cloneable). */
export interface TwosomeState extends RunProgress, RunStreams {
  version: 1;
  config: PpoConfig;
  options: Required<TwosomeRunOptions>;
  actor: ActorState;
  critic: CriticState;
  /** Every update's metrics so far. */
  metrics: TwosomeUpdateMetrics[];
}

/** The run's independent seeds from its one seed: LoRA init, critic init, then (inside) sampling and shuffles. */
export function twosomeSeeds(seed: number): { lora: number; critic: number; sample: number; shuffle: number } {
  const master = new Rng(seed);
  return { lora: master.nextU32(), critic: master.nextU32(), sample: master.nextU32(), shuffle: master.nextU32() };
}

export interface TwosomeModels {
  actor: TwosomeActor;
  critic: TwosomeCritic;
}

const sampleKey = (o: TwosomeObservation) => `${o.prompt}\u0000${o.actions.join('\u0001')}`;

export class TwosomeTrainer extends PpoRun<PpoConfig, TwosomeObservation, TwosomeUpdateMetrics> {
  readonly derived: DerivedPpo;
  readonly actor: TwosomeActor;
  readonly critic: TwosomeCritic;
  readonly options: Required<TwosomeRunOptions>;
  /** Critic features of every stored step, same flat index as the buffer. */
  private readonly features: Float32Array[];
  private skippedSteps = 0;

  constructor(config: PpoConfig, models: TwosomeModels, options: TwosomeRunOptions = {}) {
    const derived = derivePpo(config);
    super(config, derived.numUpdates, PpoRun.envsFor(config), twosomeSeeds(config.seed));
    this.derived = derived;
    this.actor = models.actor;
    this.critic = models.critic;
    if (this.critic.sizes[0] !== this.actor.featureDim)
      throw new Error(`the critic takes ${this.critic.sizes[0]} features, the actor gives ${this.actor.featureDim}`);
    const mb = derived.policyMinibatchSize;
    const perPass = Math.max(
      1,
      Math.min(config.gradientAccumulationSteps, Math.floor((options.promptsPerPass ?? mb) / mb)),
    );
    this.options = { promptsPerPass: perPass * mb };
    this.features = new Array<Float32Array>(this.buffer.size);
  }

  /** One rollout of numSteps x numEnvs steps and one PPO update. */
  async runUpdate(): Promise<TwosomeUpdateMetrics> {
    const update = this.beginUpdate();
    const { config, derived, actor, critic } = this;
    const warmUp = update <= derived.warmUpUpdates;
    const policyLr = config.annealLr
      ? annealedLr(config.policyLr, update, derived.numUpdates, derived.warmUpUpdates)
      : config.policyLr;
    const valueLr = config.annealLr
      ? annealedLr(config.valueLr, update, derived.numUpdates, derived.warmUpUpdates)
      : config.valueLr;
    const tokens0 = actor.tokens;

    // ---- rollout
    const t0 = performance.now();
    const episodes = await this.collectRollout();
    const t1 = performance.now();

    // ---- advantages
    const { advantages, returns } = this.advantages();

    // ---- optimization: per epoch one shuffle; value minibatches, then policy windows with the KL stop
    const losses = new LossMeans();
    const gradNorms = { policy: [] as number[], value: [] as number[] };
    // Optimizer steps apply at once; their infos (read from the GPU), a GPU critic's value losses and a GPU
    // actor's policy losses are awaited after the update (the policy's at the KL stop), so none costs a CPU-GPU
    // wait inside it.
    const stepInfos: { phase: 'policy' | 'value'; info: Promise<OptimizerStepInfo> }[] = [];
    const valueLosses: (number | Promise<number>)[] = [];
    const policyLosses: Promise<PolicyLossStats[]>[] = [];
    let policySteps = 0;
    let valueSteps = 0;
    let klStopped = false;
    const accumulation = config.gradientAccumulationSteps;
    const inds = arange(derived.batchSize);
    for (let epoch = 0; epoch < config.updateEpochs && !klStopped; epoch++) {
      shuffleInPlace(inds, this.shuffleRng);
      const valueMinibatches = splitMinibatches(inds, config.valueNumMinibatches);
      const policyMinibatches = splitMinibatches(inds, config.policyNumMinibatches);

      for (const mb of valueMinibatches) {
        await critic.zeroGrad();
        await this.valueBackward(mb, returns, valueLosses);
        stepInfos.push({ phase: 'value', info: awaitedLater(critic.step(valueLr)) });
        valueSteps++;
      }
      if (warmUp) continue; // critic only

      await actor.zeroGrad();
      for (let start = 0; start < policyMinibatches.length; start += accumulation) {
        const window = policyMinibatches.slice(start, start + accumulation);
        const windowLosses = (await this.policyBackward(window, advantages)).losses;
        policyLosses.push(awaitedLater(windowLosses));
        // The KL stop needs the window's losses before its step: the one wait of a window (none without it).
        if (config.targetKl !== null) {
          const windowKl = (await windowLosses).reduce((kl, loss) => kl + loss.approxKl / accumulation, 0);
          if (windowKl > config.targetKl) {
            klStopped = true; // this window's gradients are discarded, and the update ends
            await actor.zeroGrad();
            break;
          }
        }
        stepInfos.push({ phase: 'policy', info: awaitedLater(actor.step(policyLr)) });
        policySteps++;
        await actor.zeroGrad();
      }
    }
    for (const loss of (await Promise.all(policyLosses)).flat()) {
      losses.add('policyLoss', loss.pgLoss);
      losses.add('entropy', loss.entropy);
      losses.add('approxKl', loss.approxKl);
      losses.add('oldApproxKl', loss.oldApproxKl);
      losses.add('clipFrac', loss.clipFrac);
    }
    for (const vLoss of valueLosses) losses.add('valueLoss', await vLoss);
    for (const { phase, info } of stepInfos) {
      const { gradNorm, skippedSteps } = await info;
      gradNorms[phase].push(gradNorm);
      if (phase === 'policy') this.skippedSteps = skippedSteps;
    }
    const t2 = performance.now();

    const tokens = actor.tokens - tokens0;
    const seconds = (t2 - t0) / 1000;
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    const metrics: TwosomeUpdateMetrics = {
      ...this.endUpdate(update, episodes, {
        policyLr: warmUp ? 0 : policyLr,
        valueLr,
        losses,
        returns,
        policySteps,
        valueSteps,
        klStopped,
      }),
      tokens,
      tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
      gpuMemoryBytes:
        actor.memoryEstimate?.({
          requests: this.buffer.obs,
          promptsPerPass: this.options.promptsPerPass,
          criticHidden: config.critic.hiddenSizes,
          criticBatch: derived.valueMinibatchSize,
        }) ?? null,
      policyGradNorm: mean(gradNorms.policy),
      valueGradNorm: mean(gradNorms.value),
      skippedSteps: this.skippedSteps,
      timing: this.timing(t0, t1, t2),
    };
    this.history.push(metrics);
    return metrics;
  }

  /** Rollout: every step scores all envs' prompts in one adapter-on call and one adapter-off (features) call. */
  private async collectRollout(): Promise<EpisodeStats[]> {
    const { numSteps, numEnvs, normalization } = this.config;
    const episodes: EpisodeStats[] = [];
    // The adapter does not change during a rollout: a (prompt, actions) pair seen earlier in it has its scores.
    const seen = new Map<string, ActionScores>();
    for (let step = 0; step < numSteps; step++) {
      const obs: TwosomeObservation[] = this.vec.envs.map((env) => env.observe());
      const todo = new Map<string, TwosomeObservation>();
      for (const o of obs) if (!seen.has(sampleKey(o))) todo.set(sampleKey(o), o);
      const { scores: fresh, features, values } = await observeStep(this.actor, this.critic, [...todo.values()], obs);
      [...todo.keys()].forEach((key, i) => seen.set(key, fresh[i]));
      const scores = obs.map((o) => seen.get(sampleKey(o)) as ActionScores);
      const actions = new Int32Array(numEnvs);
      const logProbs = new Float32Array(numEnvs);
      for (let e = 0; e < numEnvs; e++) {
        const dist = actionDistribution(scores[e], normalization);
        actions[e] = sampleAction(dist, this.sampleRng);
        logProbs[e] = dist.logProbs[actions[e]];
        this.features[this.buffer.index(step, e)] = features[e];
      }
      episodes.push(...this.stepEnvs(step, obs, actions, actions, logProbs, values));
    }
    // Bootstrap: V of each env's next observation (after auto-reset where an episode ended; GAE masks those).
    const next = this.vec.envs.map((env) => env.observe());
    this.buffer.nextValues.set((await observeStep(this.actor, this.critic, [], next)).values);
    return episodes;
  }

  /**
   * One value minibatch's clipped value loss (times vf_coef), its gradients added to the critic's. The loss goes
   * to `pending`: a number, or a promise where the critic computes the loss itself on the GPU (read after the update).
   */
  private async valueBackward(
    indices: Int32Array,
    returns: Float64Array,
    pending: (number | Promise<number>)[],
  ): Promise<void> {
    const buf = this.buffer;
    const { config } = this;
    const input = {
      oldValues: Float64Array.from(indices, (b) => buf.values[b]),
      returns: Float64Array.from(indices, (b) => returns[b]),
      clipCoef: config.clipCoef,
      clipVloss: config.clipVloss,
      vfCoef: config.vfCoef,
      scale: 1,
    };
    if (this.critic.accumulateValueLoss) {
      const { vLoss } = await this.critic.accumulateValueLoss(
        Array.from(indices, (b) => this.features[b]),
        input,
      );
      pending.push(awaitedLater(vLoss));
      return;
    }
    let vLoss = 0;
    await this.critic.accumulate(
      Array.from(indices, (b) => this.features[b]),
      (newValues) => {
        const out = valueLoss({ newValues, ...input });
        vLoss = out.vLoss;
        return out.dNewValues;
      },
    );
    pending.push(vLoss);
  }

  /**
   * The policy losses of one accumulation window's minibatches, their gradients added to the actor's: in
   * passes of `promptsPerPass` prompts (a pass never spans two windows). Resolves once every pass is submitted;
   * the losses, in minibatch order, when the model has computed them (a GPU actor: when the GPU has).
   */
  private async policyBackward(
    window: Int32Array[],
    advantages: Float64Array,
  ): Promise<{ losses: Promise<PolicyLossStats[]> }> {
    const perPass = this.options.promptsPerPass / this.derived.policyMinibatchSize;
    const passes: Promise<PolicyLossStats[]>[] = [];
    for (let start = 0; start < window.length; start += perPass) {
      passes.push(awaitedLater((await this.policyPass(window.slice(start, start + perPass), advantages)).losses));
    }
    return { losses: Promise.all(passes).then((losses) => losses.flat()) };
  }

  /**
   * One forward+backward pass over one or more policy minibatches, each with its own PPO loss divided by the
   * accumulation count. Samples with the same (prompt, actions) share one forward: the backward is linear in
   * dL/dS, so their score gradients are summed into one request's (exact up to float rounding; Overcooked and
   * VirtualHome revisit few states). The loss runs where the actor can run it (the GPU actor: on the GPU, no
   * round trip), else here on the CPU from the pass's scores.
   */
  private async policyPass(
    minibatches: Int32Array[],
    advantages: Float64Array,
  ): Promise<{ losses: Promise<PolicyLossStats[]> }> {
    const { requests, loss } = this.passLoss(minibatches, advantages);
    if (this.actor.accumulatePolicyLoss) return this.actor.accumulatePolicyLoss(requests, loss);
    let losses: PolicyLossStats[] = [];
    await this.actor.accumulate(requests, (scores) => {
      const out = policyPassLoss(scores, loss);
      losses = out.losses;
      return out.grads;
    });
    return { losses: Promise.resolve(losses) };
  }

  /**
   * One pass's requests (each distinct (prompt, actions) once) and its samples' loss inputs, minibatch after
   * minibatch, advantages normalized per minibatch (they depend on nothing the pass computes).
   */
  private passLoss(
    minibatches: Int32Array[],
    advantages: Float64Array,
  ): { requests: PolicyRequest[]; loss: PolicyPassLoss } {
    const buf = this.buffer;
    const { config } = this;
    const samples = Int32Array.from(minibatches.flatMap((indices) => Array.from(indices)));
    const uniqueOf = new Map<string, number>();
    const requests: PolicyRequest[] = [];
    const slots = samples.map((b) => {
      const o = buf.obs[b];
      const key = sampleKey(o);
      let u = uniqueOf.get(key);
      if (u === undefined) {
        u = requests.length;
        uniqueOf.set(key, u);
        requests.push(o);
      }
      return u;
    });
    const minibatchAdvantages = minibatches.map((indices) => {
      const raw = Float64Array.from(indices, (b) => advantages[b]);
      return config.normAdv ? normalizeAdvantages(raw) : raw;
    });
    const loss: PolicyPassLoss = {
      slots,
      actions: samples.map((b) => buf.actions[b]),
      oldLogProbs: Float32Array.from(samples, (b) => buf.logProbs[b]),
      advantages: Float64Array.from(minibatchAdvantages.flatMap((a) => Array.from(a))),
      minibatchSizes: minibatches.map((indices) => indices.length),
      normalization: config.normalization,
      clipCoef: config.clipCoef,
      entCoef: config.entCoef,
      scale: 1 / config.gradientAccumulationSteps,
    };
    return { requests, loss };
  }

  /** Episodes with the current adapter on fresh envs of any task; the run's envs and RNG streams are untouched. */
  async evaluate(options: PolicyEvaluateOptions & { taskId?: PpoConfig['taskId'] } = {}): Promise<PolicyEvaluation> {
    return evaluatePolicy(options.taskId ?? this.config.taskId, (requests) => this.actor.score(requests), {
      normalization: this.config.normalization,
      ...options,
    });
  }

  async getState(): Promise<TwosomeState> {
    return {
      version: 1,
      config: structuredClone(this.config),
      options: { ...this.options },
      ...this.progress(),
      actor: await this.actor.getState(),
      critic: await this.critic.getState(),
      ...this.streams(),
      metrics: this.history.map((m) => ({ ...m, timing: { ...m.timing } })),
    };
  }

  /** Continues a saved run; the config must be the one it was saved with. */
  async setState(state: TwosomeState): Promise<void> {
    if (state.version !== 1) throw new CheckpointError(`unsupported TWOSOME state version ${String(state.version)}`);
    this.checkSavedConfig(state.config);
    // Everything model-sized is compared with this trainer's own state before any of it is restored.
    checkStateShape(await this.getState(), state, 'state', {
      skip: (path) => /^state\.(config|options|metrics|envs\.envs\[\d+\]\.data)$/.test(path),
      exact: (path) =>
        /^state\.actor\.adapter\.(config|scale|modules\[\d+\]\.(layer|slice))|^state\.critic\.sizes/.test(path),
    });
    await this.actor.setState(state.actor);
    await this.critic.setState(state.critic);
    this.restore(state);
    this.history.length = 0;
    this.history.push(...state.metrics);
    this.skippedSteps = state.metrics.length ? state.metrics[state.metrics.length - 1].skippedSteps : 0;
  }
}

export interface TwosomeTrainOptions extends TrainLoopOptions<TwosomeTrainer, TwosomeUpdateMetrics> {
  /** Called once the trainer is set up and any saved state restored (validated), before the first update. */
  onReady?(trainer: TwosomeTrainer): void | Promise<void>;
  /** Continue a saved run (its config must be `config`; models are built for it by the caller). */
  state?: TwosomeState;
  run?: TwosomeRunOptions;
}

/** Runs TWOSOME update by update until the run completes, is aborted or `maxUpdates` is reached. */
export async function trainTwosome(
  config: PpoConfig,
  models: TwosomeModels,
  options: TwosomeTrainOptions = {},
): Promise<TwosomeTrainer> {
  const trainer = new TwosomeTrainer(options.state?.config ?? config, models, options.state?.options ?? options.run);
  if (options.state) await trainer.setState(options.state);
  await options.onReady?.(trainer);
  return trainLoop(trainer, options);
}
