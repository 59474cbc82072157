/**
 * The PPO-MLP baseline (twosome.md 5) on the CPU, with CleanRL ppo.py's semantics: separate actor and critic
 * MLPs (obs -> 64 -> tanh -> 64 -> tanh -> out, orthogonal init), one Adam (eps 1e-5) over both with linear LR
 * annealing, N envs x T steps per rollout, GAE with the SMDP discount gamma^K in Overcooked, K epochs of
 * shuffled minibatches with the joint loss pg - ent_coef * entropy + vf_coef * v_loss, gradient clipping,
 * optional epoch-level KL stop. The policy head is over the task's global action ids; in VirtualHome its
 * logits are restricted to the offered ids (what obs2text offers), in Overcooked all actions are offered.
 *
 * `PpoMlpTrainer.runUpdate()` does one rollout and one update; `train()` loops it and awaits `onUpdate`
 * between updates so a UI can pause. Same config -> same metrics; getState()/setState() resume exactly.
 */
import { DEFAULT_OVERCOOKED_OPTIONS } from '../envs/overcooked';
import { createEnv, getTask, type TaskInfo } from '../envs/registry';
import type { Env } from '../envs/types';
import { Rng, type RngState } from '../util/rng';
import { Adam, type AdamState } from '../llm/reference/adamw';
import { clipGradNorm } from '../llm/reference/grad-norm';
import { argmax, categorical, logitGradients, sampleIndex, type Categorical } from './categorical';
import { derivePpoMlp, type DerivedPpoMlp, type PpoMlpConfig } from './config';
import { computeGae, stepDiscounts } from './gae';
import { annealedLr, cleanRlUpdatePlan, runUpdate, type UpdatePlan } from './minibatch';
import { Mlp } from './mlp/mlp';
import { policyLoss, valueLoss, type PolicyLossOutput, type ValueLossOutput } from './ppo-loss';
import { explainedVariance, LossMeans, RolloutBuffer, summarizeEpisodes, VecEnv, type EpisodeStats, type UpdateMetrics, type VecEnvState } from './rollout';

/** One stored observation: the symbolic vector and the offered global ids (null: all ids offered). */
export interface MlpObservation {
  x: Float32Array;
  ids: readonly number[] | null;
}

/** One minibatch for `lossAndGradients`; actions are global ids. */
export interface MlpMinibatch {
  obs: MlpObservation[];
  actions: ArrayLike<number>;
  oldLogProbs: ArrayLike<number>;
  oldValues: ArrayLike<number>;
  advantages: ArrayLike<number>;
  returns: ArrayLike<number>;
}

/** Everything a run needs to continue exactly (structured-cloneable). */
export interface PpoMlpState {
  version: 1;
  config: PpoMlpConfig;
  /** Updates completed. */
  update: number;
  globalStep: number;
  primitiveSteps: number;
  episodesTotal: number;
  actor: Float32Array[];
  critic: Float32Array[];
  adam: AdamState;
  rng: { sample: RngState; shuffle: RngState };
  envs: VecEnvState;
}

export interface EvaluationResult {
  episodes: number;
  successRate: number;
  meanReturn: number;
  meanLength: number;
}

export interface EvaluateOptions {
  episodes?: number;
  /** Argmax (default) or sampling. */
  greedy?: boolean;
  /** Seed of the sampling stream (stochastic evaluation); the training streams are not touched. */
  seed?: number;
}

/** The env a PPO-MLP run uses: TWOSOME's by default; the released variant's full grid and 0.1 subtask reward. */
export function createPpoMlpEnv(config: Pick<PpoMlpConfig, 'taskId' | 'variant'>): Env {
  if (config.variant === 'released') {
    if (getTask(config.taskId).family !== 'overcooked') throw new Error(`the 'released' PPO variant exists only for Overcooked, not ${config.taskId}`);
    return createEnv(config.taskId, { overcooked: { viewRadius: 10, rewards: { ...DEFAULT_OVERCOOKED_OPTIONS.rewards, subtask: 0.1 } } });
  }
  return createEnv(config.taskId);
}

export class PpoMlpTrainer {
  readonly config: PpoMlpConfig;
  readonly derived: DerivedPpoMlp;
  readonly task: TaskInfo;
  readonly actor: Mlp;
  readonly critic: Mlp;
  private readonly adam: Adam;
  private readonly params: Float32Array[];
  private readonly grads: Float32Array[];
  private readonly sampleRng: Rng;
  private readonly shuffleRng: Rng;
  private readonly vec: VecEnv;
  private readonly buffer: RolloutBuffer<MlpObservation>;
  private readonly plan: UpdatePlan;
  private readonly obsDim: number;
  private readonly fullMask: boolean;
  private updatesDone = 0;
  private globalStep = 0;
  private primitiveStepsTotal = 0;
  private episodesTotal = 0;

  constructor(config: PpoMlpConfig) {
    this.config = { ...config, hiddenSizes: config.hiddenSizes.slice() };
    this.derived = derivePpoMlp(config);
    this.task = getTask(config.taskId);
    this.obsDim = this.task.symbolicDim;
    this.fullMask = this.task.family === 'overcooked';
    const nActions = this.task.globalActionCount;
    // Independent streams for weights, action sampling and minibatch shuffles, all from the one seed.
    const master = new Rng(config.seed);
    const initRng = new Rng(master.nextU32());
    this.sampleRng = new Rng(master.nextU32());
    this.shuffleRng = new Rng(master.nextU32());
    this.critic = Mlp.orthogonal([this.obsDim, ...config.hiddenSizes, 1], { hiddenGain: Math.SQRT2, outputGain: 1.0 }, initRng);
    this.actor = Mlp.orthogonal([this.obsDim, ...config.hiddenSizes, nActions], { hiddenGain: Math.SQRT2, outputGain: 0.01 }, initRng);
    this.params = [...this.actor.params, ...this.critic.params];
    this.grads = [...this.actor.grads, ...this.critic.grads];
    this.adam = new Adam(this.params, { lr: config.learningRate, eps: config.adamEps });
    this.vec = new VecEnv(Array.from({ length: config.numEnvs }, () => createPpoMlpEnv(config)));
    this.vec.reset(config.seed);
    this.buffer = new RolloutBuffer(config.numSteps, config.numEnvs);
    this.plan = cleanRlUpdatePlan(this.derived.batchSize, config.numMinibatches, config.updateEpochs, config.targetKl);
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

  /** The masked action distribution of one observation (over its offered ids, in their order). */
  distribution(logits: Float64Array, offset: number, obs: MlpObservation): Categorical {
    const n = this.task.globalActionCount;
    if (obs.ids === null) return categorical(logits.subarray(offset, offset + n));
    return categorical(obs.ids.map((id) => logits[offset + id]));
  }

  /** One rollout of numSteps x numEnvs steps and one PPO update. */
  runUpdate(): UpdateMetrics {
    if (this.done) throw new Error(`the run is complete (${this.derived.numUpdates} updates)`);
    const { config } = this;
    const update = this.updatesDone + 1;
    const lr = config.annealLr ? annealedLr(config.learningRate, update, this.derived.numUpdates) : config.learningRate;
    this.adam.lr = lr;

    const t0 = performance.now();
    const episodes = this.collectRollout();
    const t1 = performance.now();

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

    const means = new LossMeans();
    const summary = runUpdate(this.plan, this.shuffleRng, {
      zeroGrad: () => {
        this.actor.zeroGrad();
        this.critic.zeroGrad();
      },
      accumulate: (_phase, indices, lossScale) => this.accumulate(indices, lossScale, advantages, returns, means),
      step: () => {
        clipGradNorm(this.grads, config.maxGradNorm);
        this.adam.step(this.grads);
      },
    });
    const t2 = performance.now();

    this.updatesDone = update;
    this.episodesTotal += episodes.length;
    const ep = summarizeEpisodes(episodes);
    const seconds = (t2 - t0) / 1000;
    return {
      update,
      numUpdates: this.derived.numUpdates,
      globalStep: this.globalStep,
      primitiveSteps: this.primitiveStepsTotal,
      episodes: ep.episodes,
      episodesTotal: this.episodesTotal,
      episodicReturn: ep.meanReturn,
      successRate: ep.successRate,
      episodeLength: ep.meanLength,
      policyLr: lr,
      valueLr: lr,
      valueLoss: means.mean('valueLoss'),
      policyLoss: means.mean('policyLoss'),
      entropy: means.mean('entropy'),
      approxKl: means.mean('approxKl'),
      oldApproxKl: means.mean('oldApproxKl'),
      clipFrac: means.mean('clipFrac'),
      explainedVariance: explainedVariance(buf.values, returns),
      policySteps: summary.steps.joint,
      valueSteps: summary.steps.joint,
      klStopped: summary.klStopped,
      timing: { sps: seconds > 0 ? this.derived.batchSize / seconds : 0, rolloutSeconds: (t1 - t0) / 1000, updateSeconds: (t2 - t1) / 1000 },
    };
  }

  private observe(env: Env): MlpObservation {
    return { x: env.symbolic(), ids: this.fullMask ? null : env.offeredActionIds().slice() };
  }

  private collectRollout(): EpisodeStats[] {
    const { numSteps, numEnvs } = this.config;
    const episodes: EpisodeStats[] = [];
    const x = new Float32Array(numEnvs * this.obsDim);
    const actions = new Int32Array(numEnvs);
    const globalActions = new Int32Array(numEnvs);
    const logProbs = new Float32Array(numEnvs);
    for (let step = 0; step < numSteps; step++) {
      this.globalStep += numEnvs;
      const obs = this.vec.envs.map((env) => this.observe(env));
      obs.forEach((o, e) => x.set(o.x, e * this.obsDim));
      const logits = Mlp.output(this.actor.forward(x, numEnvs));
      const values = Mlp.output(this.critic.forward(x, numEnvs));
      const nA = this.task.globalActionCount;
      for (let e = 0; e < numEnvs; e++) {
        const dist = this.distribution(logits, e * nA, obs[e]);
        const k = sampleIndex(dist.probs, this.sampleRng);
        // k indexes the offered list (the env's own indices); the buffer keeps the global id, as CleanRL.
        actions[e] = k;
        globalActions[e] = obs[e].ids === null ? k : (obs[e].ids as readonly number[])[k];
        logProbs[e] = dist.logProbs[k];
      }
      const { results, episodes: finished } = this.vec.step(actions);
      episodes.push(...finished);
      for (let e = 0; e < numEnvs; e++) {
        const r = results[e];
        this.primitiveStepsTotal += r.primitiveSteps;
        this.buffer.set(step, e, {
          obs: obs[e],
          action: globalActions[e],
          logProb: logProbs[e],
          value: values[e],
          reward: r.reward,
          done: r.done,
          primitiveSteps: r.primitiveSteps,
        });
      }
    }
    // Bootstrap: the value of each env's next observation (after auto-reset where an episode ended; GAE masks it).
    this.vec.envs.forEach((env, e) => x.set(env.symbolic(), e * this.obsDim));
    this.buffer.nextValues.set(Mlp.output(this.critic.forward(x, numEnvs)));
    return episodes;
  }

  /** Gathers a minibatch from the rollout buffer and adds its joint-loss gradients. */
  private accumulate(indices: Int32Array, lossScale: number, advantages: Float64Array, returns: Float64Array, means: LossMeans): { approxKl: number } {
    const buf = this.buffer;
    const pick = (src: ArrayLike<number>) => Float64Array.from(indices, (b) => src[b]);
    const out = this.lossAndGradients(
      {
        obs: Array.from(indices, (b) => buf.obs[b]),
        actions: Int32Array.from(indices, (b) => buf.actions[b]),
        oldLogProbs: pick(buf.logProbs),
        oldValues: pick(buf.values),
        advantages: pick(advantages),
        returns: pick(returns),
      },
      lossScale,
    );
    means.add('policyLoss', out.policy.pgLoss);
    means.add('valueLoss', out.value.vLoss);
    means.add('entropy', out.policy.entropy);
    means.add('approxKl', out.policy.approxKl);
    means.add('oldApproxKl', out.policy.oldApproxKl);
    means.add('clipFrac', out.policy.clipFrac);
    return { approxKl: out.policy.approxKl };
  }

  /**
   * CleanRL's joint loss on one minibatch, (pg - ent_coef * entropy + vf_coef * v_loss) * lossScale: forward
   * both networks, backpropagate, and add the gradients into actor.grads / critic.grads.
   */
  lossAndGradients(mb: MlpMinibatch, lossScale = 1): { loss: number; policy: PolicyLossOutput; value: ValueLossOutput } {
    const { config } = this;
    const n = mb.obs.length;
    const nA = this.task.globalActionCount;
    const x = new Float32Array(n * this.obsDim);
    mb.obs.forEach((o, i) => x.set(o.x, i * this.obsDim));
    const actorF = this.actor.forward(x, n);
    const criticF = this.critic.forward(x, n);
    const logits = Mlp.output(actorF);
    const values = Mlp.output(criticF);

    const dists: Categorical[] = [];
    const chosen = new Int32Array(n);
    const newLogProbs = new Float64Array(n);
    const entropies = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const obs = mb.obs[i];
      const dist = this.distribution(logits, i * nA, obs);
      const k = obs.ids === null ? mb.actions[i] : obs.ids.indexOf(mb.actions[i]);
      if (k < 0) throw new Error(`action ${mb.actions[i]} was not offered`);
      dists.push(dist);
      chosen[i] = k;
      newLogProbs[i] = dist.logProbs[k];
      entropies[i] = dist.entropy;
    }
    const policy = policyLoss({
      newLogProbs,
      oldLogProbs: mb.oldLogProbs,
      advantages: mb.advantages,
      entropies,
      clipCoef: config.clipCoef,
      entCoef: config.entCoef,
      normAdv: config.normAdv,
      scale: lossScale,
    });
    const value = valueLoss({
      newValues: values,
      oldValues: mb.oldValues,
      returns: mb.returns,
      clipCoef: config.clipCoef,
      clipVloss: config.clipVloss,
      vfCoef: config.vfCoef,
      scale: lossScale,
    });

    // Masked logits get no gradient: only the offered ids' logits enter the distribution.
    const dLogits = new Float64Array(n * nA);
    for (let i = 0; i < n; i++) {
      const g = logitGradients(dists[i], chosen[i], policy.dNewLogProbs[i], policy.dEntropies[i]);
      const ids = mb.obs[i].ids;
      for (let k = 0; k < g.length; k++) dLogits[i * nA + (ids === null ? k : ids[k])] = g[k];
    }
    this.actor.backward(actorF, dLogits);
    this.critic.backward(criticF, value.dNewValues);
    return { loss: policy.loss + value.loss, policy, value };
  }

  /** Greedy or sampled episodes on fresh envs; the run's own envs and random streams are left untouched. */
  evaluate(options: EvaluateOptions = {}): EvaluationResult {
    const episodes = options.episodes ?? 10;
    const greedy = options.greedy ?? true;
    const rng = new Rng(options.seed ?? this.config.seed + 1_000_003);
    const env = createPpoMlpEnv(this.config);
    let successes = 0;
    let returnSum = 0;
    let lengthSum = 0;
    for (let ep = 0; ep < episodes; ep++) {
      env.reset(ep);
      for (let steps = 1; ; steps++) {
        const obs = this.observe(env);
        const logits = Mlp.output(this.actor.forward(obs.x, 1));
        const dist = this.distribution(logits, 0, obs);
        const k = greedy ? argmax(dist.probs) : sampleIndex(dist.probs, rng);
        const r = env.step(k);
        if (r.done) {
          successes += r.success ? 1 : 0;
          returnSum += r.episodeReturn;
          lengthSum += steps;
          break;
        }
        if (steps > 100_000) throw new Error('evaluation episode did not end');
      }
    }
    return { episodes, successRate: successes / episodes, meanReturn: returnSum / episodes, meanLength: lengthSum / episodes };
  }

  getState(): PpoMlpState {
    return {
      version: 1,
      config: { ...this.config, hiddenSizes: this.config.hiddenSizes.slice() },
      update: this.updatesDone,
      globalStep: this.globalStep,
      primitiveSteps: this.primitiveStepsTotal,
      episodesTotal: this.episodesTotal,
      actor: this.actor.getParams(),
      critic: this.critic.getParams(),
      adam: this.adam.getState(),
      rng: { sample: this.sampleRng.getState(), shuffle: this.shuffleRng.getState() },
      envs: this.vec.getState(),
    };
  }

  /** Continues a saved run; the config must be the one it was saved with. */
  setState(state: PpoMlpState): void {
    if (state.version !== 1) throw new Error(`unsupported PPO-MLP state version ${String(state.version)}`);
    if (!sameConfig(state.config, this.config)) throw new Error('the saved run has a different config: build the trainer with state.config');
    this.actor.setParams(state.actor);
    this.critic.setParams(state.critic);
    this.adam.setState(state.adam);
    this.sampleRng.setState(state.rng.sample);
    this.shuffleRng.setState(state.rng.shuffle);
    this.vec.setState(state.envs);
    this.updatesDone = state.update;
    this.globalStep = state.globalStep;
    this.primitiveStepsTotal = state.primitiveSteps;
    this.episodesTotal = state.episodesTotal;
  }

  static fromState(state: PpoMlpState): PpoMlpTrainer {
    const trainer = new PpoMlpTrainer(state.config);
    trainer.setState(state);
    return trainer;
  }
}

function sameConfig(a: PpoMlpConfig, b: PpoMlpConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof PpoMlpConfig)[]);
  return [...keys].every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

export interface TrainOptions {
  /** Called after every update; training waits for a returned promise (a UI pauses by not resolving it). */
  onUpdate?(metrics: UpdateMetrics, trainer: PpoMlpTrainer): void | Promise<void>;
  /** Stops before the next update. */
  signal?: AbortSignal;
  /** Continue a saved run instead of starting one (its config wins). */
  state?: PpoMlpState;
  /** Stop after this many updates of this call (the run can go on later). */
  maxUpdates?: number;
}

/** Runs PPO-MLP update by update until the run completes, is aborted or `maxUpdates` is reached. */
export async function train(config: PpoMlpConfig, options: TrainOptions = {}): Promise<PpoMlpTrainer> {
  const trainer = options.state ? PpoMlpTrainer.fromState(options.state) : new PpoMlpTrainer(config);
  let count = 0;
  while (!trainer.done && !options.signal?.aborted && count < (options.maxUpdates ?? Infinity)) {
    const metrics = trainer.runUpdate();
    count++;
    await options.onUpdate?.(metrics, trainer);
  }
  return trainer;
}
