/**
 * Rollout collection for both trainers: N envs stepped in lockstep with auto-reset (gym's SyncVectorEnv),
 * per-episode statistics, a [numSteps, numEnvs] buffer of transitions, and the per-update metrics record.
 *
 * The buffer's observation payload is generic: TWOSOME stores the prompt and action texts, PPO-MLP the
 * symbolic vector and the offered global action ids.
 */
import type { Env, EnvSnapshot, StepResult } from '../envs/types';
import { CheckpointError } from './checkpoint';

// ---------------------------------------------------------------------------------------------------------
// Vectorized envs with auto-reset and episode statistics

/** One finished episode. */
export interface EpisodeStats {
  env: number;
  /** The logged return: StepResult.episodeReturn at done (discounted per primitive step, spec 3.6 / 4.6). */
  return: number;
  success: boolean;
  /** Env steps (macro actions in Overcooked). */
  length: number;
  primitiveSteps: number;
}

export interface VecEnvState {
  envs: EnvSnapshot[];
  lengths: number[];
  primitiveSteps: number[];
}

export class VecEnv {
  private readonly lengths: number[];
  private readonly primitive: number[];

  constructor(readonly envs: readonly Env[]) {
    if (envs.length === 0) throw new RangeError('VecEnv needs at least one env');
    this.lengths = envs.map(() => 0);
    this.primitive = envs.map(() => 0);
  }

  get size(): number {
    return this.envs.length;
  }

  /** Resets env i with seed + i, as CleanRL's make_env. */
  reset(seed: number): void {
    this.envs.forEach((env, i) => env.reset(seed + i));
    this.lengths.fill(0);
    this.primitive.fill(0);
  }

  /**
   * Steps env i with actions[i] (an index into its current offered list). An env whose episode ends is reset
   * at once, so afterwards every env shows the observation the next step acts on.
   */
  step(actions: ArrayLike<number>): { results: StepResult[]; episodes: EpisodeStats[] } {
    if (actions.length !== this.envs.length)
      throw new RangeError(`got ${actions.length} actions for ${this.envs.length} envs`);
    const results: StepResult[] = [];
    const episodes: EpisodeStats[] = [];
    this.envs.forEach((env, i) => {
      const r = env.step(actions[i]);
      results.push(r);
      this.lengths[i]++;
      this.primitive[i] += r.primitiveSteps;
      if (r.done) {
        episodes.push({
          env: i,
          return: r.episodeReturn,
          success: r.success,
          length: this.lengths[i],
          primitiveSteps: this.primitive[i],
        });
        this.lengths[i] = 0;
        this.primitive[i] = 0;
        env.reset();
      }
    });
    return { results, episodes };
  }

  getState(): VecEnvState {
    return {
      envs: this.envs.map((e) => e.snapshot()),
      lengths: this.lengths.slice(),
      primitiveSteps: this.primitive.slice(),
    };
  }

  /** Restores every env, or none: a snapshot that does not restore (and observe) puts the others back. */
  setState(state: VecEnvState): void {
    if (state.envs.length !== this.envs.length) {
      throw new CheckpointError(`state has ${state.envs.length} envs, this VecEnv ${this.envs.length}`);
    }
    const before = this.envs.map((e) => e.snapshot());
    let i = 0;
    try {
      for (; i < this.envs.length; i++) {
        this.envs[i].restore(state.envs[i]);
        this.envs[i].observe();
      }
    } catch (error) {
      this.envs.forEach((e, j) => e.restore(before[j]));
      const reason = (error as Error).message;
      const task = this.envs[i].taskId;
      throw new CheckpointError(`state.envs.envs[${i}]: not a valid ${task} environment state (${reason})`);
    }
    state.lengths.forEach((v, i) => (this.lengths[i] = v));
    state.primitiveSteps.forEach((v, i) => (this.primitive[i] = v));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Rollout buffer

export interface Transition<O> {
  obs: O;
  /** The action taken (an offered index for TWOSOME, a global id for PPO-MLP). */
  action: number;
  logProb: number;
  value: number;
  reward: number;
  done: boolean;
  primitiveSteps: number;
}

/** [numSteps, numEnvs] transitions, flat index t * numEnvs + e. */
export class RolloutBuffer<O> {
  readonly size: number;
  readonly obs: O[];
  readonly actions: Int32Array;
  readonly logProbs: Float32Array;
  readonly values: Float32Array;
  readonly rewards: Float32Array;
  /** 1 where the step ended its episode (GAE's done_t). */
  readonly dones: Uint8Array;
  readonly primitiveSteps: Int32Array;
  /** V of each env's observation after the last step (bootstrap). */
  readonly nextValues: Float32Array;

  constructor(
    readonly numSteps: number,
    readonly numEnvs: number,
  ) {
    this.size = numSteps * numEnvs;
    this.obs = new Array<O>(this.size);
    this.actions = new Int32Array(this.size);
    this.logProbs = new Float32Array(this.size);
    this.values = new Float32Array(this.size);
    this.rewards = new Float32Array(this.size);
    this.dones = new Uint8Array(this.size);
    this.primitiveSteps = new Int32Array(this.size);
    this.nextValues = new Float32Array(numEnvs);
  }

  index(step: number, env: number): number {
    if (!(step >= 0 && step < this.numSteps && env >= 0 && env < this.numEnvs))
      throw new RangeError(`(${step}, ${env}) is outside [${this.numSteps}, ${this.numEnvs}]`);
    return step * this.numEnvs + env;
  }

  set(step: number, env: number, t: Transition<O>): void {
    const i = this.index(step, env);
    this.obs[i] = t.obs;
    this.actions[i] = t.action;
    this.logProbs[i] = t.logProb;
    this.values[i] = t.value;
    this.rewards[i] = t.reward;
    this.dones[i] = t.done ? 1 : 0;
    this.primitiveSteps[i] = t.primitiveSteps;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Metrics

export interface EpisodeSummary {
  episodes: number;
  /** Mean logged return, or null without finished episodes. */
  meanReturn: number | null;
  successRate: number | null;
  meanLength: number | null;
  meanPrimitiveSteps: number | null;
}

export function summarizeEpisodes(episodes: readonly EpisodeStats[]): EpisodeSummary {
  const n = episodes.length;
  if (n === 0) return { episodes: 0, meanReturn: null, successRate: null, meanLength: null, meanPrimitiveSteps: null };
  const mean = (f: (e: EpisodeStats) => number) => episodes.reduce((s, e) => s + f(e), 0) / n;
  return {
    episodes: n,
    meanReturn: mean((e) => e.return),
    successRate: mean((e) => (e.success ? 1 : 0)),
    meanLength: mean((e) => e.length),
    meanPrimitiveSteps: mean((e) => e.primitiveSteps),
  };
}

/** 1 - Var(returns - values) / Var(returns); null when the returns have no variance (CleanRL logs NaN). */
export function explainedVariance(values: ArrayLike<number>, returns: ArrayLike<number>): number | null {
  const n = returns.length;
  let my = 0;
  let md = 0;
  for (let i = 0; i < n; i++) {
    my += returns[i];
    md += returns[i] - values[i];
  }
  my /= n;
  md /= n;
  let vy = 0;
  let vd = 0;
  for (let i = 0; i < n; i++) {
    vy += (returns[i] - my) ** 2;
    vd += (returns[i] - values[i] - md) ** 2;
  }
  return vy === 0 ? null : 1 - vd / vy;
}

/** Running means of per-minibatch loss diagnostics within one update. */
export class LossMeans {
  private readonly sums = new Map<string, { sum: number; n: number }>();

  add(name: string, value: number): void {
    const s = this.sums.get(name) ?? { sum: 0, n: 0 };
    s.sum += value;
    s.n++;
    this.sums.set(name, s);
  }

  /** Mean of the values added under `name`, or null if none were. */
  mean(name: string): number | null {
    const s = this.sums.get(name);
    return s && s.n > 0 ? s.sum / s.n : null;
  }
}

/** What every trainer reports after each update (the UI's charts, the CLI's lines). */
export interface UpdateMetrics {
  /** 1-based update index and the run's total. */
  update: number;
  numUpdates: number;
  /** Env steps so far, summed over envs (the paper's x axis). */
  globalStep: number;
  /** Primitive steps so far, summed over envs (Overcooked macro lengths; equals globalStep in VirtualHome). */
  primitiveSteps: number;
  /** Episodes finished during this update's rollout, and their statistics. */
  episodes: number;
  episodesTotal: number;
  episodicReturn: number | null;
  successRate: number | null;
  episodeLength: number | null;
  policyLr: number;
  valueLr: number;
  /** Means over the update's minibatches (CleanRL logs the last minibatch's value instead). */
  valueLoss: number | null;
  policyLoss: number | null;
  entropy: number | null;
  approxKl: number | null;
  oldApproxKl: number | null;
  clipFrac: number | null;
  explainedVariance: number | null;
  policySteps: number;
  valueSteps: number;
  klStopped: boolean;
  /** Wall-clock figures: the only fields that differ between two runs with the same seed. */
  timing: { sps: number; rolloutSeconds: number; updateSeconds: number };
}
