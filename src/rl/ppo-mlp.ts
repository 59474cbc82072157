/**
 * The PPO-MLP baseline (twosome.md 5) on the CPU, with CleanRL ppo.py's semantics: separate actor and critic
 * MLPs (obs -> 64 -> tanh -> 64 -> tanh -> out, orthogonal init), one Adam (eps 1e-5) over both with linear LR
 * annealing, N envs x T steps per rollout, GAE with the SMDP discount gamma^K where the task's actions are
 * macros, K epochs of shuffled minibatches with the joint loss pg - ent_coef * entropy + vf_coef * v_loss,
 * gradient clipping, optional epoch-level KL stop. The policy head is over the task's global action ids; where
 * the task masks actions (VirtualHome: what obs2text offers) its logits are restricted to the offered ids.
 *
 * `PpoMlpTrainer.runUpdate()` does one rollout and one update (the rollout bookkeeping, GAE, metrics and
 * counters are ppo-run.ts's, shared with TWOSOME); `trainPpoMlp()` loops it and awaits `onUpdate` between
 * updates so a UI can pause. Same config -> same metrics; getState()/setState() resume exactly.
 */
import { createEnv, getTask } from '../envs/registry';
import type { Env } from '../envs/types';
import { Rng } from '../util/rng';
import { Adam, type AdamState } from '../llm/reference/adamw';
import { clipGradNorm } from '../llm/reference/grad-norm';
import { argmax, categorical, logitGradients, sampleIndex, type Categorical } from './categorical';
import { CheckpointError, checkStateShape } from './checkpoint';
import { derivePpoMlp, type DerivedPpoMlp, type PpoMlpConfig } from './config';
import { annealedLr, arange, shuffleInPlace, splitMinibatches } from './minibatch';
import { Mlp } from './mlp/mlp';
import { PpoRun, trainLoop, type RunProgress, type RunStreams, type TrainLoopOptions } from './ppo-run';
import { policyLoss, valueLoss, type PolicyLossOutput, type ValueLossOutput } from './ppo-loss';
import { LossMeans, type EpisodeStats, type UpdateMetrics } from './rollout';

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
export interface PpoMlpState extends RunProgress, RunStreams {
  version: 1;
  config: PpoMlpConfig;
  actor: Float32Array[];
  critic: Float32Array[];
  adam: AdamState;
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

/** The env a PPO-MLP run uses: TWOSOME's by default; the released variant's where the task declares one. */
export function createPpoMlpEnv(config: Pick<PpoMlpConfig, 'taskId' | 'variant'>): Env {
  if (config.variant === 'released') {
    const released = getTask(config.taskId).releasedBaselineEnv;
    if (!released) throw new Error(`the 'released' PPO variant exists only for Overcooked, not ${config.taskId}`);
    return createEnv(config.taskId, released);
  }
  return createEnv(config.taskId);
}

/** The run's independent seeds from its one seed: network init, action sampling, minibatch shuffles. */
function ppoMlpSeeds(seed: number): { init: number; sample: number; shuffle: number } {
  const master = new Rng(seed);
  return { init: master.nextU32(), sample: master.nextU32(), shuffle: master.nextU32() };
}

export class PpoMlpTrainer extends PpoRun<PpoMlpConfig, MlpObservation, UpdateMetrics> {
  readonly derived: DerivedPpoMlp;
  readonly actor: Mlp;
  readonly critic: Mlp;
  private readonly adam: Adam;
  private readonly params: Float32Array[];
  private readonly grads: Float32Array[];
  private readonly obsDim: number;

  constructor(config: PpoMlpConfig) {
    const derived = derivePpoMlp(config);
    const seeds = ppoMlpSeeds(config.seed);
    super(
      config,
      derived.numUpdates,
      Array.from({ length: config.numEnvs }, () => createPpoMlpEnv(config)),
      seeds,
    );
    this.derived = derived;
    this.obsDim = this.task.symbolicDim;
    const initRng = new Rng(seeds.init);
    this.critic = Mlp.orthogonal(
      [this.obsDim, ...config.hiddenSizes, 1],
      { hiddenGain: Math.SQRT2, outputGain: 1.0 },
      initRng,
    );
    this.actor = Mlp.orthogonal(
      [this.obsDim, ...config.hiddenSizes, this.task.globalActionCount],
      { hiddenGain: Math.SQRT2, outputGain: 0.01 },
      initRng,
    );
    this.params = [...this.actor.params, ...this.critic.params];
    this.grads = [...this.actor.grads, ...this.critic.grads];
    this.adam = new Adam(this.params, { lr: config.learningRate, eps: config.adamEps });
  }

  /** The masked action distribution of one observation (over its offered ids, in their order). */
  distribution(logits: Float64Array, offset: number, obs: MlpObservation): Categorical {
    const n = this.task.globalActionCount;
    if (obs.ids === null) return categorical(logits.subarray(offset, offset + n));
    return categorical(obs.ids.map((id) => logits[offset + id]));
  }

  /** One rollout of numSteps x numEnvs steps and one PPO update (CleanRL ppo.py's loop body). */
  runUpdate(): UpdateMetrics {
    const update = this.beginUpdate();
    const { config } = this;
    const lr = config.annealLr ? annealedLr(config.learningRate, update, this.numUpdates) : config.learningRate;
    this.adam.lr = lr;

    const t0 = performance.now();
    const episodes = this.collectRollout();
    const t1 = performance.now();

    const { advantages, returns } = this.advantages();

    // ---- optimization: per epoch one shuffle; per minibatch zero, backward, clip, step; the KL stop after the
    // epoch whose last minibatch's approx KL exceeds target_kl (that epoch's steps are kept)
    const losses = new LossMeans();
    let steps = 0;
    let klStopped = false;
    const inds = arange(this.batchSize);
    for (let epoch = 0; epoch < config.updateEpochs && !klStopped; epoch++) {
      shuffleInPlace(inds, this.shuffleRng);
      let approxKl = Number.NaN;
      for (const mb of splitMinibatches(inds, config.numMinibatches)) {
        this.actor.zeroGrad();
        this.critic.zeroGrad();
        approxKl = this.minibatchBackward(mb, advantages, returns, losses);
        clipGradNorm(this.grads, config.maxGradNorm);
        this.adam.step(this.grads);
        steps++;
      }
      if (config.targetKl !== null && approxKl > config.targetKl) klStopped = true;
    }
    const t2 = performance.now();

    const metrics: UpdateMetrics = {
      ...this.endUpdate(update, episodes, {
        policyLr: lr,
        valueLr: lr,
        losses,
        returns,
        policySteps: steps,
        valueSteps: steps,
        klStopped,
      }),
      timing: this.timing(t0, t1, t2),
    };
    this.history.push(metrics);
    return metrics;
  }

  private observe(env: Env): MlpObservation {
    return { x: env.symbolic(), ids: this.task.actionMask ? env.offeredActionIds().slice() : null };
  }

  private collectRollout(): EpisodeStats[] {
    const { numSteps, numEnvs } = this.config;
    const nA = this.task.globalActionCount;
    const episodes: EpisodeStats[] = [];
    const x = new Float32Array(numEnvs * this.obsDim);
    for (let step = 0; step < numSteps; step++) {
      const obs = this.vec.envs.map((env) => this.observe(env));
      obs.forEach((o, e) => x.set(o.x, e * this.obsDim));
      const logits = Mlp.output(this.actor.forward(x, numEnvs));
      const values = Mlp.output(this.critic.forward(x, numEnvs));
      const actions = new Int32Array(numEnvs);
      const globalActions = new Int32Array(numEnvs);
      const logProbs = new Float32Array(numEnvs);
      for (let e = 0; e < numEnvs; e++) {
        const dist = this.distribution(logits, e * nA, obs[e]);
        const k = sampleIndex(dist.probs, this.sampleRng);
        // k indexes the offered list (the env's own indices); the buffer keeps the global id, as CleanRL.
        actions[e] = k;
        globalActions[e] = obs[e].ids === null ? k : (obs[e].ids as readonly number[])[k];
        logProbs[e] = dist.logProbs[k];
      }
      episodes.push(...this.stepEnvs(step, obs, actions, globalActions, logProbs, values));
    }
    // Bootstrap: the value of each env's next observation (after auto-reset where an episode ended; GAE masks it).
    this.vec.envs.forEach((env, e) => x.set(env.symbolic(), e * this.obsDim));
    this.buffer.nextValues.set(Mlp.output(this.critic.forward(x, numEnvs)));
    return episodes;
  }

  /** Gathers a minibatch from the rollout buffer and adds its joint-loss gradients; returns its approx KL. */
  private minibatchBackward(
    indices: Int32Array,
    advantages: Float64Array,
    returns: Float64Array,
    losses: LossMeans,
  ): number {
    const buf = this.buffer;
    const pick = (src: ArrayLike<number>) => Float64Array.from(indices, (b) => src[b]);
    const out = this.lossAndGradients({
      obs: Array.from(indices, (b) => buf.obs[b]),
      actions: Int32Array.from(indices, (b) => buf.actions[b]),
      oldLogProbs: pick(buf.logProbs),
      oldValues: pick(buf.values),
      advantages: pick(advantages),
      returns: pick(returns),
    });
    losses.add('policyLoss', out.policy.pgLoss);
    losses.add('valueLoss', out.value.vLoss);
    losses.add('entropy', out.policy.entropy);
    losses.add('approxKl', out.policy.approxKl);
    losses.add('oldApproxKl', out.policy.oldApproxKl);
    losses.add('clipFrac', out.policy.clipFrac);
    return out.policy.approxKl;
  }

  /**
   * CleanRL's joint loss on one minibatch, (pg - ent_coef * entropy + vf_coef * v_loss) * lossScale: forward
   * both networks, backpropagate, and add the gradients into actor.grads / critic.grads.
   */
  lossAndGradients(
    mb: MlpMinibatch,
    lossScale = 1,
  ): { loss: number; policy: PolicyLossOutput; value: ValueLossOutput } {
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
    return {
      episodes,
      successRate: successes / episodes,
      meanReturn: returnSum / episodes,
      meanLength: lengthSum / episodes,
    };
  }

  getState(): PpoMlpState {
    return {
      version: 1,
      config: structuredClone(this.config),
      ...this.progress(),
      actor: this.actor.getParams(),
      critic: this.critic.getParams(),
      adam: this.adam.getState(),
      ...this.streams(),
    };
  }

  /** Continues a saved run; the config must be the one it was saved with. */
  setState(state: PpoMlpState): void {
    if (state.version !== 1) throw new CheckpointError(`unsupported PPO-MLP state version ${String(state.version)}`);
    this.checkSavedConfig(state.config);
    // Every array is compared with this trainer's own before any of it is restored.
    const skip = (path: string) => path === 'state.config' || /^state\.envs\.envs\[\d+\]\.data$/.test(path);
    checkStateShape(this.getState(), state, 'state', { skip });
    this.actor.setParams(state.actor);
    this.critic.setParams(state.critic);
    this.adam.setState(state.adam);
    this.restore(state);
  }

  static fromState(state: PpoMlpState): PpoMlpTrainer {
    const trainer = new PpoMlpTrainer(state.config);
    trainer.setState(state);
    return trainer;
  }
}

export interface PpoMlpTrainOptions extends TrainLoopOptions<PpoMlpTrainer, UpdateMetrics> {
  /** Continue a saved run instead of starting one (its config wins). */
  state?: PpoMlpState;
}

/** Runs PPO-MLP update by update until the run completes, is aborted or `maxUpdates` is reached. */
export async function trainPpoMlp(config: PpoMlpConfig, options: PpoMlpTrainOptions = {}): Promise<PpoMlpTrainer> {
  return trainLoop(options.state ? PpoMlpTrainer.fromState(options.state) : new PpoMlpTrainer(config), options);
}
