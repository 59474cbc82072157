/**
 * What every PPO run does the same way, whatever acts and learns (TWOSOME's LLM, the PPO-MLP baseline's
 * MLPs): N envs stepped in lockstep into a [numSteps, numEnvs] rollout buffer, the run's counters and random
 * streams, GAE over the buffer, the per-update metrics, the state a checkpoint saves, and the train loop.
 *
 * A trainer extends `PpoRun` and writes its update top to bottom, as CleanRL's ppo.py:
 *
 *   const update = this.beginUpdate();          // 1-based; refuses a finished run
 *   ... rollout: per step, act on every env, then this.stepEnvs(...); set buffer.nextValues (bootstrap)
 *   const { advantages, returns } = this.advantages();
 *   ... optimization: epochs of minibatch indices (minibatch.ts), losses (ppo-loss.ts), optimizer steps
 *   const metrics = { ...this.endUpdate(update, episodes, results), ...its own, timing };
 */
import { createEnv, getTask, type TaskInfo } from '../envs/registry';
import type { Env } from '../envs/types';
import { Rng, type RngState } from '../util/rng';
import type { RunConfig } from './config';
import { computeGae, stepDiscounts } from './gae';
import {
  explainedVariance,
  RolloutBuffer,
  summarizeEpisodes,
  VecEnv,
  type EpisodeStats,
  type LossMeans,
  type UpdateMetrics,
  type VecEnvState,
} from './rollout';

/** The part of a run's saved state that `PpoRun` keeps (a trainer's state adds its models and optimizers). */
export interface RunProgress {
  /** Updates completed. */
  update: number;
  globalStep: number;
  primitiveSteps: number;
  episodesTotal: number;
}

export interface RunStreams {
  rng: { sample: RngState; shuffle: RngState };
  envs: VecEnvState;
}

/** What an update's optimization phase reports for the metrics. */
export interface UpdateResults {
  policyLr: number;
  valueLr: number;
  /** valueLoss, policyLoss, entropy, approxKl, oldApproxKl, clipFrac: means over the update's minibatches. */
  losses: LossMeans;
  returns: Float64Array;
  policySteps: number;
  valueSteps: number;
  klStopped: boolean;
}

export abstract class PpoRun<C extends RunConfig, O, M extends UpdateMetrics> {
  readonly config: C;
  readonly task: TaskInfo;
  /** numEnvs * numSteps. */
  readonly batchSize: number;
  /** Updates of the whole run (total_timesteps // batch). */
  readonly numUpdates: number;
  /** Every update's metrics made or restored by this trainer. */
  readonly history: M[] = [];
  protected readonly vec: VecEnv;
  protected readonly buffer: RolloutBuffer<O>;
  /** Action sampling during rollouts. */
  protected readonly sampleRng: Rng;
  /** Minibatch shuffles. */
  protected readonly shuffleRng: Rng;
  private updatesDone = 0;
  private globalStepTotal = 0;
  private primitiveStepsTotal = 0;
  private episodesTotal = 0;

  /**
   * `config` is copied; `numUpdates` comes from the trainer's derive function (which validated the config);
   * the envs are reset with config.seed + i, as CleanRL's make_env.
   */
  protected constructor(config: C, numUpdates: number, envs: Env[], seeds: { sample: number; shuffle: number }) {
    this.config = structuredClone(config);
    this.task = getTask(config.taskId);
    this.batchSize = config.numEnvs * config.numSteps;
    this.numUpdates = numUpdates;
    this.sampleRng = new Rng(seeds.sample);
    this.shuffleRng = new Rng(seeds.shuffle);
    this.vec = new VecEnv(envs);
    this.vec.reset(config.seed);
    this.buffer = new RolloutBuffer(config.numSteps, config.numEnvs);
  }

  /** The run's envs: one per config.numEnvs, made for its task. */
  protected static envsFor(config: RunConfig): Env[] {
    return Array.from({ length: config.numEnvs }, () => createEnv(config.taskId));
  }

  /** Updates completed so far. */
  get update(): number {
    return this.updatesDone;
  }

  /** Env steps so far, summed over envs. */
  get globalStep(): number {
    return this.globalStepTotal;
  }

  get done(): boolean {
    return this.updatesDone >= this.numUpdates;
  }

  /** The index of the update about to run (1-based). */
  protected beginUpdate(): number {
    if (this.done) throw new Error(`the run is complete (${this.numUpdates} updates)`);
    return this.updatesDone + 1;
  }

  /**
   * One rollout step of every env: each takes its action (an index into its offered list; an env whose
   * episode ends is reset at once), and the buffer stores the transition at row `step`. `stored` is the action
   * the buffer keeps (TWOSOME: the same index; PPO-MLP: the global action id). Returns the finished episodes.
   */
  protected stepEnvs(
    step: number,
    obs: readonly O[],
    actions: Int32Array,
    stored: ArrayLike<number>,
    logProbs: Float32Array,
    values: ArrayLike<number>,
  ): EpisodeStats[] {
    this.globalStepTotal += this.config.numEnvs;
    const { results, episodes } = this.vec.step(actions);
    results.forEach((r, e) => {
      this.primitiveStepsTotal += r.primitiveSteps;
      const transition = {
        obs: obs[e],
        action: stored[e],
        logProb: logProbs[e],
        value: values[e],
        reward: r.reward,
        done: r.done,
        primitiveSteps: r.primitiveSteps,
      };
      this.buffer.set(step, e, transition);
    });
    return episodes;
  }

  /** GAE(lambda) over the buffer; a step of K primitive steps is discounted by gamma^K where config.smdpDiscount. */
  protected advantages(): { advantages: Float64Array; returns: Float64Array } {
    const { config, buffer } = this;
    return computeGae({
      numSteps: config.numSteps,
      numEnvs: config.numEnvs,
      rewards: buffer.rewards,
      values: buffer.values,
      dones: buffer.dones,
      discounts: stepDiscounts(buffer.primitiveSteps, config.gamma, config.smdpDiscount),
      nextValues: buffer.nextValues,
      gaeLambda: config.gaeLambda,
    });
  }

  /** Counts the update as done and returns the metrics every trainer reports (a trainer adds its own, then timing). */
  protected endUpdate(
    update: number,
    episodes: readonly EpisodeStats[],
    results: UpdateResults,
  ): Omit<UpdateMetrics, 'timing'> {
    this.updatesDone = update;
    this.episodesTotal += episodes.length;
    const ep = summarizeEpisodes(episodes);
    const { losses } = results;
    return {
      update,
      numUpdates: this.numUpdates,
      globalStep: this.globalStepTotal,
      primitiveSteps: this.primitiveStepsTotal,
      episodes: ep.episodes,
      episodesTotal: this.episodesTotal,
      episodicReturn: ep.meanReturn,
      successRate: ep.successRate,
      episodeLength: ep.meanLength,
      policyLr: results.policyLr,
      valueLr: results.valueLr,
      valueLoss: losses.mean('valueLoss'),
      policyLoss: losses.mean('policyLoss'),
      entropy: losses.mean('entropy'),
      approxKl: losses.mean('approxKl'),
      oldApproxKl: losses.mean('oldApproxKl'),
      clipFrac: losses.mean('clipFrac'),
      explainedVariance: explainedVariance(this.buffer.values, results.returns),
      policySteps: results.policySteps,
      valueSteps: results.valueSteps,
      klStopped: results.klStopped,
    };
  }

  /** Wall-clock figures of an update from performance.now() at its start, after its rollout and at its end. */
  protected timing(t0: number, t1: number, t2: number): UpdateMetrics['timing'] {
    const seconds = (t2 - t0) / 1000;
    return {
      sps: seconds > 0 ? this.batchSize / seconds : 0,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
  }

  protected progress(): RunProgress {
    return {
      update: this.updatesDone,
      globalStep: this.globalStepTotal,
      primitiveSteps: this.primitiveStepsTotal,
      episodesTotal: this.episodesTotal,
    };
  }

  protected streams(): RunStreams {
    return {
      rng: { sample: this.sampleRng.getState(), shuffle: this.shuffleRng.getState() },
      envs: this.vec.getState(),
    };
  }

  /** A saved run continues only in a trainer built with its config (state.config). */
  protected checkSavedConfig(saved: C): void {
    const keys = new Set([...Object.keys(saved), ...Object.keys(this.config)] as (keyof C)[]);
    const same = [...keys].every((k) => JSON.stringify(saved[k]) === JSON.stringify(this.config[k]));
    if (!same) throw new Error('the saved run has a different config: build the trainer with state.config');
  }

  /** Restores the counters, random streams and envs of a saved run (after checkSavedConfig). */
  protected restore(state: RunProgress & RunStreams): void {
    this.sampleRng.setState(state.rng.sample);
    this.shuffleRng.setState(state.rng.shuffle);
    this.vec.setState(state.envs);
    this.updatesDone = state.update;
    this.globalStepTotal = state.globalStep;
    this.primitiveStepsTotal = state.primitiveSteps;
    this.episodesTotal = state.episodesTotal;
  }
}

export interface TrainLoopOptions<T, M> {
  /** Called after every update; training waits for a returned promise (a UI pauses by not resolving it). */
  onUpdate?(metrics: M, trainer: T): void | Promise<void>;
  /** Stops before the next update. */
  signal?: AbortSignal;
  /** Stop after this many updates of this call (the run can go on later). */
  maxUpdates?: number;
}

/** Runs a trainer update by update until its run completes, is aborted or `maxUpdates` is reached. */
export async function trainLoop<T extends { readonly done: boolean; runUpdate(): M | Promise<M> }, M>(
  trainer: T,
  options: TrainLoopOptions<T, M> = {},
): Promise<T> {
  for (let count = 0; !trainer.done && !options.signal?.aborted && count < (options.maxUpdates ?? Infinity); count++) {
    const metrics = await trainer.runUpdate();
    await options.onUpdate?.(metrics, trainer);
  }
  return trainer;
}
