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
 *     GAE(lambda) with disc_t = gamma^K_t (Overcooked, K = primitive steps of the macro) or gamma (VirtualHome)
 *     one shuffle per epoch; (1) value minibatches: clipped value loss * vf_coef, critic Adam step each (clip
 *     0.5); (2) policy minibatches: PPO clip loss with per-minibatch advantage normalization minus
 *     ent_coef * entropy, divided by the accumulation count; an AdamW step every `gradientAccumulationSteps`
 *     minibatches (clip 0.5) unless the window's mean approx KL > target_kl, which discards the window and ends
 *     the update (minibatch.ts: twosomeUpdatePlan + runUpdateAsync)
 *
 * The model is two interfaces (twosome-model.ts): the WebGPU engine (twosome-gpu.ts), the CPU reference of the
 * model (twosome-cpu.ts, tiny models), or fakes in tests (twosome-fake.ts).
 *
 * Policy micro-batching: the minibatches of one accumulation window see the same parameters (no step inside a
 * window), so `promptsPerPass` lets consecutive minibatches of a window share one forward+backward pass, each
 * with its own loss (own advantage normalization, own KL), which is the same gradient with fewer, larger GPU
 * passes; within a pass, samples of the same (prompt, actions) share one forward (gradients summed). The
 * minibatch indices are known ahead: the shuffle draws depend on the RNG only, so a dry run of the schedule on
 * a copy of the shuffle RNG lists them.
 *
 * Same config and seed -> same metrics; getState()/setState() (plain structured-cloneable data) resume exactly.
 */
import { createEnv, getTask, type TaskInfo } from '../envs/registry';
import { Rng, type RngState } from '../util/rng';
import { derivePpo, type DerivedPpo, type PpoConfig } from './config';
import { evaluatePolicy, type PolicyEvaluateOptions, type PolicyEvaluation } from './evaluate';
import { computeGae, stepDiscounts } from './gae';
import { annealedLr, runUpdateAsync, twosomeUpdatePlan, updateCommands, type UpdatePlan } from './minibatch';
import { actionDistribution, sampleAction, scoreGradients, type ActionDistribution } from './policy';
import { policyLoss, valueLoss, type PolicyLossOutput } from './ppo-loss';
import { explainedVariance, LossMeans, RolloutBuffer, summarizeEpisodes, VecEnv, type EpisodeStats, type UpdateMetrics, type VecEnvState } from './rollout';
import type { ActionScores, PolicyRequest } from '../llm/scores';
import { observeStep, type ActorState, type CriticState, type TwosomeActor, type TwosomeCritic } from './twosome-model';

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
export interface TwosomeState {
  version: 1;
  config: PpoConfig;
  options: Required<TwosomeRunOptions>;
  /** Updates completed. */
  update: number;
  globalStep: number;
  primitiveSteps: number;
  episodesTotal: number;
  actor: ActorState;
  critic: CriticState;
  rng: { sample: RngState; shuffle: RngState };
  envs: VecEnvState;
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

/** One policy minibatch's loss and what was needed to compute it. */
interface PolicyMinibatchResult {
  loss: PolicyLossOutput;
}

export class TwosomeTrainer {
  readonly config: PpoConfig;
  readonly derived: DerivedPpo;
  readonly task: TaskInfo;
  readonly actor: TwosomeActor;
  readonly critic: TwosomeCritic;
  readonly options: Required<TwosomeRunOptions>;
  /** Every update's metrics (the run's history; checkpointed). */
  readonly history: TwosomeUpdateMetrics[] = [];
  private readonly sampleRng: Rng;
  private readonly shuffleRng: Rng;
  private readonly vec: VecEnv;
  private readonly buffer: RolloutBuffer<TwosomeObservation>;
  /** Critic features of every stored step, same flat index as the buffer. */
  private readonly features: Float32Array[];
  private updatesDone = 0;
  private globalStep = 0;
  private primitiveStepsTotal = 0;
  private episodesTotal = 0;
  private skippedSteps = 0;

  constructor(config: PpoConfig, models: TwosomeModels, options: TwosomeRunOptions = {}) {
    this.config = cloneConfig(config);
    this.derived = derivePpo(config);
    this.task = getTask(config.taskId);
    this.actor = models.actor;
    this.critic = models.critic;
    if (this.critic.sizes[0] !== this.actor.featureDim) throw new Error(`the critic takes ${this.critic.sizes[0]} features, the actor gives ${this.actor.featureDim}`);
    const mb = this.derived.policyMinibatchSize;
    const perPass = Math.max(1, Math.min(config.gradientAccumulationSteps, Math.floor((options.promptsPerPass ?? mb) / mb)));
    this.options = { promptsPerPass: perPass * mb };
    const seeds = twosomeSeeds(config.seed);
    this.sampleRng = new Rng(seeds.sample);
    this.shuffleRng = new Rng(seeds.shuffle);
    this.vec = new VecEnv(Array.from({ length: config.numEnvs }, () => createEnv(config.taskId)));
    this.vec.reset(config.seed);
    this.buffer = new RolloutBuffer(config.numSteps, config.numEnvs);
    this.features = new Array<Float32Array>(this.buffer.size);
  }

  get numUpdates(): number {
    return this.derived.numUpdates;
  }

  /** Updates completed so far. */
  get update(): number {
    return this.updatesDone;
  }

  get done(): boolean {
    return this.updatesDone >= this.derived.numUpdates;
  }

  /** One rollout of numSteps x numEnvs steps and one PPO update. */
  async runUpdate(): Promise<TwosomeUpdateMetrics> {
    if (this.done) throw new Error(`the run is complete (${this.derived.numUpdates} updates)`);
    const { config, derived } = this;
    const update = this.updatesDone + 1;
    const warmUp = update <= derived.warmUpUpdates;
    const policyLr = config.annealLr ? annealedLr(config.policyLr, update, derived.numUpdates, derived.warmUpUpdates) : config.policyLr;
    const valueLr = config.annealLr ? annealedLr(config.valueLr, update, derived.numUpdates, derived.warmUpUpdates) : config.valueLr;
    const tokens0 = this.actor.tokens;

    // ---- rollout
    const t0 = performance.now();
    const episodes = await this.collectRollout();
    const t1 = performance.now();

    // ---- advantages
    const buf = this.buffer;
    const { advantages, returns } = computeGae({
      numSteps: config.numSteps,
      numEnvs: config.numEnvs,
      rewards: buf.rewards,
      values: buf.values,
      dones: buf.dones,
      discounts: stepDiscounts(buf.primitiveSteps, config.gamma, config.smdpDiscount),
      nextValues: buf.nextValues,
      gaeLambda: config.gaeLambda,
    });

    // ---- optimization: value minibatches, then policy minibatches (with the window KL stop)
    const plan = twosomeUpdatePlan(config, derived, { warmUp });
    const passes = this.planPolicyPasses(plan);
    const results = new Map<string, PolicyMinibatchResult>();
    const means = new LossMeans();
    const gradNorms = { policy: [] as number[], value: [] as number[] };
    const stepInfos: { phase: string; info: Promise<{ gradNorm: number; skippedSteps: number }> }[] = [];
    const valueLosses: Promise<number>[] = [];
    const summary = await runUpdateAsync(plan, this.shuffleRng, {
      zeroGrad: (phase) => (phase === 'value' ? this.critic.zeroGrad() : this.actor.zeroGrad()),
      accumulate: async (phase, indices, lossScale, at) => {
        if (phase === 'value') {
          await this.valueMinibatch(indices, lossScale, returns, means, valueLosses);
          return {};
        }
        const key = `${at.epoch}:${at.minibatch}`;
        const group = passes.get(key) ?? [{ key, indices }];
        const planned = group.find((g) => g.key === key) as { indices: Int32Array };
        if (planned.indices.length !== indices.length || planned.indices.some((v, i) => v !== indices[i])) {
          throw new Error(`policy minibatch ${key}: the planned samples differ from the schedule's`);
        }
        if (!results.has(key)) await this.policyPass(group, lossScale, advantages, results);
        const { loss } = results.get(key) as PolicyMinibatchResult;
        means.add('policyLoss', loss.pgLoss);
        means.add('entropy', loss.entropy);
        means.add('approxKl', loss.approxKl);
        means.add('oldApproxKl', loss.oldApproxKl);
        means.add('clipFrac', loss.clipFrac);
        return { approxKl: loss.approxKl };
      },
      // The step applies at once; its info (read from the GPU) is awaited after the update, not here.
      step: async (phase) => {
        stepInfos.push({ phase, info: phase === 'value' ? this.critic.step(valueLr) : this.actor.step(policyLr) });
      },
    });
    for (const vLoss of valueLosses) means.add('valueLoss', await vLoss);
    for (const { phase, info } of stepInfos) {
      const { gradNorm, skippedSteps } = await info;
      (phase === 'value' ? gradNorms.value : gradNorms.policy).push(gradNorm);
      if (phase !== 'value') this.skippedSteps = skippedSteps;
    }
    const t2 = performance.now();

    this.updatesDone = update;
    this.episodesTotal += episodes.length;
    const ep = summarizeEpisodes(episodes);
    const seconds = (t2 - t0) / 1000;
    const tokens = this.actor.tokens - tokens0;
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    const metrics: TwosomeUpdateMetrics = {
      update,
      numUpdates: derived.numUpdates,
      globalStep: this.globalStep,
      primitiveSteps: this.primitiveStepsTotal,
      episodes: ep.episodes,
      episodesTotal: this.episodesTotal,
      episodicReturn: ep.meanReturn,
      successRate: ep.successRate,
      episodeLength: ep.meanLength,
      policyLr: warmUp ? 0 : policyLr,
      valueLr,
      valueLoss: means.mean('valueLoss'),
      policyLoss: means.mean('policyLoss'),
      entropy: means.mean('entropy'),
      approxKl: means.mean('approxKl'),
      oldApproxKl: means.mean('oldApproxKl'),
      clipFrac: means.mean('clipFrac'),
      explainedVariance: explainedVariance(buf.values, returns),
      policySteps: summary.steps.policy,
      valueSteps: summary.steps.value,
      klStopped: summary.klStopped,
      tokens,
      tokensPerSecond: seconds > 0 ? tokens / seconds : 0,
      gpuMemoryBytes:
        this.actor.memoryEstimate?.({
          requests: buf.obs,
          promptsPerPass: this.options.promptsPerPass,
          criticHidden: config.critic.hiddenSizes,
          criticBatch: derived.valueMinibatchSize,
        }) ?? null,
      policyGradNorm: mean(gradNorms.policy),
      valueGradNorm: mean(gradNorms.value),
      skippedSteps: this.skippedSteps,
      timing: { sps: seconds > 0 ? derived.batchSize / seconds : 0, rolloutSeconds: (t1 - t0) / 1000, updateSeconds: (t2 - t1) / 1000 },
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
    const keyOf = (o: TwosomeObservation) => `${o.prompt}\u0000${o.actions.join('\u0001')}`;
    for (let step = 0; step < numSteps; step++) {
      this.globalStep += numEnvs;
      const obs: TwosomeObservation[] = this.vec.envs.map((env) => env.observe());
      const todo = new Map<string, TwosomeObservation>();
      for (const o of obs) if (!seen.has(keyOf(o))) todo.set(keyOf(o), o);
      const { scores: fresh, features, values } = await observeStep(this.actor, this.critic, [...todo.values()], obs);
      [...todo.keys()].forEach((key, i) => seen.set(key, fresh[i]));
      const scores = obs.map((o) => seen.get(keyOf(o)) as ActionScores);
      const actions = new Int32Array(numEnvs);
      const logProbs = new Float32Array(numEnvs);
      for (let e = 0; e < numEnvs; e++) {
        const dist = actionDistribution(scores[e], normalization);
        actions[e] = sampleAction(dist, this.sampleRng);
        logProbs[e] = dist.logProbs[actions[e]];
      }
      const { results, episodes: finished } = this.vec.step(actions);
      episodes.push(...finished);
      for (let e = 0; e < numEnvs; e++) {
        const r = results[e];
        this.primitiveStepsTotal += r.primitiveSteps;
        this.buffer.set(step, e, { obs: obs[e], action: actions[e], logProb: logProbs[e], value: values[e], reward: r.reward, done: r.done, primitiveSteps: r.primitiveSteps });
        this.features[this.buffer.index(step, e)] = features[e];
      }
    }
    // Bootstrap: V of each env's next observation (after auto-reset where an episode ended; GAE masks those).
    const next = this.vec.envs.map((env) => env.observe());
    this.buffer.nextValues.set((await observeStep(this.actor, this.critic, [], next)).values);
    return episodes;
  }

  /** One value minibatch; a critic that computes the loss itself (on the GPU) leaves its value in `pending`. */
  private async valueMinibatch(
    indices: Int32Array,
    lossScale: number,
    returns: Float64Array,
    means: LossMeans,
    pending: Promise<number>[],
  ): Promise<void> {
    const buf = this.buffer;
    const { config } = this;
    if (this.critic.accumulateValueLoss) {
      const input = {
        oldValues: Float64Array.from(indices, (b) => buf.values[b]),
        returns: Float64Array.from(indices, (b) => returns[b]),
        clipCoef: config.clipCoef,
        clipVloss: config.clipVloss,
        vfCoef: config.vfCoef,
        scale: lossScale,
      };
      pending.push((await this.critic.accumulateValueLoss(Array.from(indices, (b) => this.features[b]), input)).vLoss);
      return;
    }
    let vLoss = 0;
    await this.critic.accumulate(
      Array.from(indices, (b) => this.features[b]),
      (newValues) => {
        const out = valueLoss({
          newValues,
          oldValues: Float64Array.from(indices, (b) => buf.values[b]),
          returns: Float64Array.from(indices, (b) => returns[b]),
          clipCoef: config.clipCoef,
          clipVloss: config.clipVloss,
          vfCoef: config.vfCoef,
          scale: lossScale,
        });
        vLoss = out.vLoss;
        return out.dNewValues;
      },
    );
    means.add('valueLoss', vLoss);
  }

  /**
   * Groups the policy minibatches of each accumulation window into passes of `promptsPerPass` prompts, from a
   * dry run of the schedule on a copy of the shuffle RNG (the real run draws the same shuffles).
   */
  private planPolicyPasses(plan: UpdatePlan): Map<string, { key: string; indices: Int32Array }[]> {
    const perPass = this.options.promptsPerPass / this.derived.policyMinibatchSize;
    const passes = new Map<string, { key: string; indices: Int32Array }[]>();
    if (perPass <= 1) return passes;
    const probe = new Rng(0);
    probe.setState(this.shuffleRng.getState());
    const it = updateCommands(plan, probe);
    const accumulation = this.config.gradientAccumulationSteps;
    let group: { key: string; indices: Int32Array }[] = [];
    for (let next = it.next(); !next.done; next = it.next({ approxKl: 0 })) {
      const c = next.value;
      if (c.type !== 'accumulate' || c.phase !== 'policy') continue;
      group.push({ key: `${c.epoch}:${c.minibatch}`, indices: c.indices });
      // A pass never crosses a window boundary (a step, or the KL stop, comes between windows).
      if (group.length === perPass || (c.minibatch + 1) % accumulation === 0) {
        for (const g of group) passes.set(g.key, group);
        group = [];
      }
    }
    return passes;
  }

  /**
   * One forward+backward pass over one or more policy minibatches, each with its own PPO loss. Samples with the
   * same (prompt, actions) share one forward: the backward is linear in dL/dS, so their score gradients are
   * summed into one request's (exact up to float rounding; Overcooked and VirtualHome revisit few states).
   */
  private async policyPass(group: { key: string; indices: Int32Array }[], lossScale: number, advantages: Float64Array, results: Map<string, PolicyMinibatchResult>): Promise<void> {
    const buf = this.buffer;
    const { config } = this;
    const samples = group.flatMap((g) => Array.from(g.indices));
    const uniqueOf = new Map<string, number>();
    const requests: PolicyRequest[] = [];
    const slot = samples.map((b) => {
      const o = buf.obs[b];
      const key = `${o.prompt}\u0000${o.actions.join('\u0001')}`;
      let u = uniqueOf.get(key);
      if (u === undefined) {
        u = requests.length;
        uniqueOf.set(key, u);
        requests.push(o);
      }
      return u;
    });
    await this.actor.accumulate(requests, (scores) => {
      const grads = requests.map((r) => new Float64Array(r.actions.length));
      let offset = 0;
      for (const { key, indices } of group) {
        const n = indices.length;
        const dists: ActionDistribution[] = [];
        const newLogProbs = new Float64Array(n);
        const entropies = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const b = indices[i];
          const dist = actionDistribution(scores[slot[offset + i]], config.normalization);
          dists.push(dist);
          newLogProbs[i] = dist.logProbs[buf.actions[b]];
          entropies[i] = dist.entropy;
        }
        const loss = policyLoss({
          newLogProbs,
          oldLogProbs: Float64Array.from(indices, (b) => buf.logProbs[b]),
          advantages: Float64Array.from(indices, (b) => advantages[b]),
          entropies,
          clipCoef: config.clipCoef,
          entCoef: config.entCoef,
          normAdv: config.normAdv,
          scale: lossScale,
        });
        results.set(key, { loss });
        for (let i = 0; i < n; i++) {
          const g = scoreGradients(dists[i], buf.actions[indices[i]], loss.dNewLogProbs[i], loss.dEntropies[i]);
          const into = grads[slot[offset + i]];
          for (let k = 0; k < g.length; k++) into[k] += g[k];
        }
        offset += n;
      }
      return grads;
    });
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
      config: cloneConfig(this.config),
      options: { ...this.options },
      update: this.updatesDone,
      globalStep: this.globalStep,
      primitiveSteps: this.primitiveStepsTotal,
      episodesTotal: this.episodesTotal,
      actor: await this.actor.getState(),
      critic: await this.critic.getState(),
      rng: { sample: this.sampleRng.getState(), shuffle: this.shuffleRng.getState() },
      envs: this.vec.getState(),
      metrics: this.history.map((m) => ({ ...m, timing: { ...m.timing } })),
    };
  }

  /** Continues a saved run; the config must be the one it was saved with. */
  async setState(state: TwosomeState): Promise<void> {
    if (state.version !== 1) throw new Error(`unsupported TWOSOME state version ${String(state.version)}`);
    if (!sameConfig(state.config, this.config)) throw new Error('the saved run has a different config: build the trainer with state.config');
    await this.actor.setState(state.actor);
    await this.critic.setState(state.critic);
    this.sampleRng.setState(state.rng.sample);
    this.shuffleRng.setState(state.rng.shuffle);
    this.vec.setState(state.envs);
    this.updatesDone = state.update;
    this.globalStep = state.globalStep;
    this.primitiveStepsTotal = state.primitiveSteps;
    this.episodesTotal = state.episodesTotal;
    this.history.length = 0;
    this.history.push(...state.metrics);
    this.skippedSteps = state.metrics.length ? state.metrics[state.metrics.length - 1].skippedSteps : 0;
  }
}

function cloneConfig(c: PpoConfig): PpoConfig {
  return { ...c, lora: { ...c.lora, targets: c.lora.targets.slice() }, critic: { ...c.critic, hiddenSizes: c.critic.hiddenSizes.slice() } };
}

function sameConfig(a: PpoConfig, b: PpoConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof PpoConfig)[]);
  return [...keys].every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

export interface TwosomeTrainOptions {
  /** Called after every update; training waits for a returned promise (a UI pauses by not resolving it). */
  onUpdate?(metrics: TwosomeUpdateMetrics, trainer: TwosomeTrainer): void | Promise<void>;
  /** Stops before the next update. */
  signal?: AbortSignal;
  /** Continue a saved run (its config must be `config`; models are built for it by the caller). */
  state?: TwosomeState;
  /** Stop after this many updates of this call (the run can go on later). */
  maxUpdates?: number;
  run?: TwosomeRunOptions;
}

/** Runs TWOSOME update by update until the run completes, is aborted or `maxUpdates` is reached. */
export async function trainTwosome(config: PpoConfig, models: TwosomeModels, options: TwosomeTrainOptions = {}): Promise<TwosomeTrainer> {
  const trainer = new TwosomeTrainer(options.state?.config ?? config, models, options.state?.options ?? options.run);
  if (options.state) await trainer.setState(options.state);
  let count = 0;
  while (!trainer.done && !options.signal?.aborted && count < (options.maxUpdates ?? Infinity)) {
    const metrics = await trainer.runUpdate();
    count++;
    await options.onUpdate?.(metrics, trainer);
  }
  return trainer;
}
