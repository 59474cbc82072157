import { describe, expect, it } from 'vitest';
import type { Env, EnvSnapshot, Observation, RenderDescription, StepResult } from '../envs/types';
import { explainedVariance, LossMeans, RolloutBuffer, summarizeEpisodes, VecEnv } from './rollout';

/**
 * A scripted env: episode e lasts lengths[e % lengths.length] steps; each step takes K = 1 + action primitive
 * steps and rewards 1 (success) at the last step of even episodes, else 0; the logged return discounts by 0.5
 * per primitive step.
 */
class FakeEnv implements Env {
  readonly taskId = 'tomato-salad' as const;
  episode = -1;
  t = 0;
  primitive = 0;
  ret = 0;
  isDone = false;
  constructor(readonly lengths: number[]) {}
  get done() {
    return this.isDone;
  }
  reset(): Observation {
    this.episode++;
    this.t = 0;
    this.primitive = 0;
    this.ret = 0;
    this.isDone = false;
    return this.observe();
  }
  observe(): Observation {
    return { prompt: `episode ${this.episode} step ${this.t}`, actions: ['a', 'b'] };
  }
  step(i: number): StepResult {
    const K = 1 + i;
    this.t++;
    const done = this.t >= this.lengths[this.episode % this.lengths.length];
    const success = done && this.episode % 2 === 0;
    const reward = success ? 1 : 0;
    this.ret += reward * 0.5 ** (this.primitive + K - 1);
    this.primitive += K;
    this.isDone = done;
    return { reward, done, success, primitiveSteps: K, action: i, actionText: 'ab'[i], episodeReturn: this.ret };
  }
  actionCount() {
    return 2;
  }
  symbolic() {
    return new Float32Array([this.episode, this.t]);
  }
  offeredActionIds() {
    return [0, 1];
  }
  render(): RenderDescription {
    throw new Error('not drawn');
  }
  snapshot(): EnvSnapshot {
    return {
      taskId: this.taskId,
      data: { episode: this.episode, t: this.t, primitive: this.primitive, ret: this.ret, isDone: this.isDone },
    };
  }
  restore(s: EnvSnapshot) {
    Object.assign(this, s.data as object);
  }
}

describe('VecEnv', () => {
  it('auto-resets finished envs and reports each episode once with its logged return and lengths', () => {
    const vec = new VecEnv([new FakeEnv([2, 3]), new FakeEnv([4])]);
    vec.reset(0);
    const all = [];
    for (let s = 0; s < 6; s++) {
      const { results, episodes } = vec.step([1, 0]);
      expect(results).toHaveLength(2);
      all.push(...episodes.map((e) => ({ ...e, s })));
    }
    // env 0: episodes of 2, 3 (and the next 2 ends at step 7); env 1: one episode of 4 steps.
    expect(all).toEqual([
      { env: 0, return: 0.5 ** 3, success: true, length: 2, primitiveSteps: 4, s: 1 },
      { env: 1, return: 0.5 ** 3, success: true, length: 4, primitiveSteps: 4, s: 3 },
      { env: 0, return: 0, success: false, length: 3, primitiveSteps: 6, s: 4 },
    ]);
    // after a done the env already shows the next episode's first observation
    expect((vec.envs[1] as FakeEnv).episode).toBe(1);
    expect(vec.envs[1].observe().prompt).toBe('episode 1 step 2');
  });

  it('saves and restores env states and running episode counters', () => {
    const vec = new VecEnv([new FakeEnv([3])]);
    vec.reset(0);
    vec.step([0]);
    const state = structuredClone(vec.getState());
    const a = [vec.step([0]), vec.step([0])];
    const other = new VecEnv([new FakeEnv([3])]);
    other.reset(0);
    other.setState(state);
    const b = [other.step([0]), other.step([0])];
    expect(b).toEqual(a);
    expect(b[1].episodes[0].length).toBe(3);
  });
});

describe('RolloutBuffer', () => {
  it('stores transitions at t * numEnvs + e', () => {
    const buf = new RolloutBuffer<string>(3, 2);
    buf.set(2, 1, { obs: 'o', action: 4, logProb: -0.5, value: 0.25, reward: 1, done: true, primitiveSteps: 7 });
    expect(buf.index(2, 1)).toBe(5);
    expect(buf.obs[5]).toBe('o');
    expect(buf.actions[5]).toBe(4);
    expect(buf.logProbs[5]).toBe(-0.5);
    expect(buf.values[5]).toBe(0.25);
    expect(buf.rewards[5]).toBe(1);
    expect(buf.dones[5]).toBe(1);
    expect(buf.primitiveSteps[5]).toBe(7);
    expect(() => buf.index(3, 0)).toThrow(RangeError);
  });
});

describe('metrics', () => {
  it('summarizes episodes', () => {
    expect(summarizeEpisodes([])).toEqual({
      episodes: 0,
      meanReturn: null,
      successRate: null,
      meanLength: null,
      meanPrimitiveSteps: null,
    });
    const s = summarizeEpisodes([
      { env: 0, return: 0.9, success: true, length: 6, primitiveSteps: 30 },
      { env: 1, return: -0.1, success: false, length: 10, primitiveSteps: 50 },
    ]);
    expect(s).toEqual({ episodes: 2, meanReturn: 0.4, successRate: 0.5, meanLength: 8, meanPrimitiveSteps: 40 });
  });

  it('computes explained variance like CleanRL', () => {
    expect(explainedVariance([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(explainedVariance([0, 0, 0], [1, 2, 3])).toBe(0);
    expect(explainedVariance([1, 2], [5, 5])).toBeNull();
  });

  it('averages loss diagnostics per name', () => {
    const m = new LossMeans();
    m.add('kl', 1);
    m.add('kl', 3);
    expect(m.mean('kl')).toBe(2);
    expect(m.mean('missing')).toBeNull();
  });
});
