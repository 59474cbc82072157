import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { computeGae, stepDiscounts } from './gae';

describe('stepDiscounts', () => {
  it('is gamma^K with SMDP, gamma without', () => {
    expect(Array.from(stepDiscounts([1, 2, 5], 0.9, true))).toEqual([0.9, 0.9 ** 2, 0.9 ** 5]);
    expect(Array.from(stepDiscounts([1, 2, 5], 0.95, false))).toEqual([0.95, 0.95, 0.95]);
  });
});

describe('computeGae (spec 2.3)', () => {
  // One env, gamma 0.9, lambda 0.5, K = [1, 2, 1] -> disc = [0.9, 0.81, 0.9].
  const base = {
    numSteps: 3,
    numEnvs: 1,
    rewards: [1, 0, 2],
    values: [0.5, 1, 1.5],
    discounts: stepDiscounts([1, 2, 1], 0.9, true),
    nextValues: [2],
    gaeLambda: 0.5,
  };

  it('bootstraps from the next value when the rollout ends mid-episode', () => {
    // t=2: delta = 2 + 0.9*2 - 1.5 = 2.3;                 A = 2.3
    // t=1: delta = 0 + 0.81*1.5 - 1 = 0.215;              A = 0.215 + 0.81*0.5*2.3 = 1.1465
    // t=0: delta = 1 + 0.9*1 - 0.5 = 1.4;                 A = 1.4 + 0.9*0.5*1.1465 = 1.915925
    const { advantages, returns } = computeGae({ ...base, dones: [0, 0, 0] });
    [1.915925, 1.1465, 2.3].forEach((v, i) => expect(advantages[i]).toBeCloseTo(v, 12));
    [2.415925, 2.1465, 3.8].forEach((v, i) => expect(returns[i]).toBeCloseTo(v, 12));
  });

  it('cuts value and advantage at a done mid-rollout', () => {
    // t=1 ends its episode: delta = 0 - 1 = -1, A = -1 (nothing flows back from t=2).
    // t=0: A = 1.4 + 0.45 * (-1) = 0.95
    const { advantages } = computeGae({ ...base, dones: [0, 1, 0] });
    [0.95, -1, 2.3].forEach((v, i) => expect(advantages[i]).toBeCloseTo(v, 12));
  });

  it('ignores the bootstrap value when the last step is terminal', () => {
    // t=2: A = 2 - 1.5 = 0.5; t=1: 0.215 + 0.405*0.5 = 0.4175; t=0: 1.4 + 0.45*0.4175 = 1.587875
    const { advantages } = computeGae({ ...base, dones: [0, 0, 1], nextValues: [1000] });
    [1.587875, 0.4175, 0.5].forEach((v, i) => expect(advantages[i]).toBeCloseTo(v, 12));
  });

  it('does not exponentiate lambda by K', () => {
    // Two steps, K = [3, 3], gamma 0.5, lambda 0.5, zero values: A0 = r0 + 0.125 * 0.5 * r1
    const { advantages } = computeGae({
      numSteps: 2,
      numEnvs: 1,
      rewards: [1, 1],
      values: [0, 0],
      dones: [0, 0],
      discounts: stepDiscounts([3, 3], 0.5, true),
      nextValues: [0],
      gaeLambda: 0.5,
    });
    expect(advantages[0]).toBeCloseTo(1 + 0.125 * 0.5, 12);
  });

  it('with gamma = lambda = 1 gives the undiscounted return-to-go minus V', () => {
    const { returns } = computeGae({ ...base, discounts: [1, 1, 1], gaeLambda: 1, dones: [0, 0, 0] });
    expect(Array.from(returns)).toEqual([5, 4, 4]);
  });

  it('keeps envs independent in the [numSteps, numEnvs] layout and matches the CleanRL loop', () => {
    const rng = new Rng(11);
    const T = 7;
    const N = 3;
    const rewards = Array.from({ length: T * N }, () => rng.next() - 0.3);
    const values = Array.from({ length: T * N }, () => rng.next());
    const dones = Array.from({ length: T * N }, () => (rng.next() < 0.2 ? 1 : 0));
    const K = Array.from({ length: T * N }, () => 1 + rng.int(6));
    const nextValues = [0.3, -0.2, 0.9];
    const gamma = 0.99;
    const lambda = 0.95;
    const out = computeGae({
      numSteps: T,
      numEnvs: N,
      rewards,
      values,
      dones,
      discounts: stepDiscounts(K, gamma, true),
      nextValues,
      gaeLambda: lambda,
    });

    // ppo_llm_pomdp.py, transcribed: CleanRL's dones[t] is "the step before t ended an episode".
    const cleanDones = (t: number, e: number) => (t === 0 ? 0 : dones[(t - 1) * N + e]);
    const nextDone = (e: number) => dones[(T - 1) * N + e];
    for (let e = 0; e < N; e++) {
      let lastgaelam = 0;
      for (let t = T - 1; t >= 0; t--) {
        const nextnonterminal = t === T - 1 ? 1 - nextDone(e) : 1 - cleanDones(t + 1, e);
        const nextvalues = t === T - 1 ? nextValues[e] : values[(t + 1) * N + e];
        const discount = gamma ** K[t * N + e];
        const delta = rewards[t * N + e] + discount * nextvalues * nextnonterminal - values[t * N + e];
        lastgaelam = delta + discount * lambda * nextnonterminal * lastgaelam;
        expect(out.advantages[t * N + e]).toBeCloseTo(lastgaelam, 12);
        expect(out.returns[t * N + e]).toBeCloseTo(lastgaelam + values[t * N + e], 12);
      }
    }
  });

  it('checks array sizes', () => {
    expect(() => computeGae({ ...base, dones: [0, 0] })).toThrow(/dones/);
    expect(() => computeGae({ ...base, dones: [0, 0, 0], nextValues: [1, 2] })).toThrow(/nextValues/);
  });
});
