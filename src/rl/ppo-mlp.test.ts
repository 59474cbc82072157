import { describe, expect, it } from 'vitest';
import { createEnv } from '../envs/registry';
import { Rng } from '../util/rng';
import { centralDifference } from '../util/testing';
import { ConfigError, derivePpoMlp, paperPpoMlpConfig, type PpoMlpConfig } from './config';
import { createPpoMlpEnv, PpoMlpTrainer, trainPpoMlp, type MlpObservation } from './ppo-mlp';
import type { UpdateMetrics } from './rollout';

/** Metrics without the wall-clock fields. */
function det(m: UpdateMetrics): Omit<UpdateMetrics, 'timing'> {
  const { timing: _timing, ...rest } = m;
  return rest;
}

const small = (overrides: Partial<PpoMlpConfig> = {}): PpoMlpConfig => ({
  ...paperPpoMlpConfig('tomato-salad'),
  numSteps: 32,
  totalTimesteps: 4 * 32 * 6,
  learningRate: 1e-3,
  ...overrides,
});

/** A trainer on the paper's tomato-salad config with `overrides`. */
const tomatoSalad = (overrides: Partial<PpoMlpConfig>) =>
  new PpoMlpTrainer({ ...paperPpoMlpConfig('tomato-salad'), ...overrides });

describe('PPO-MLP baseline config', () => {
  it('follows spec 5 per task', () => {
    const ts = paperPpoMlpConfig('tomato-salad');
    expect([ts.learningRate, ts.totalTimesteps, ts.numEnvs, ts.numSteps, ts.numMinibatches, ts.updateEpochs]).toEqual([
      1e-4, 500_000, 4, 128, 4, 4,
    ]);
    expect([
      ts.clipCoef,
      ts.entCoef,
      ts.vfCoef,
      ts.maxGradNorm,
      ts.gamma,
      ts.gaeLambda,
      ts.adamEps,
      ts.targetKl,
    ]).toEqual([0.2, 0.01, 0.5, 0.5, 0.99, 0.95, 1e-5, null]);
    expect(ts.variant).toBe('fair');
    expect(ts.smdpDiscount).toBe(true);
    expect(paperPpoMlpConfig('tomato-lettuce-salad').learningRate).toBe(5e-4);
    const fp = paperPpoMlpConfig('food-preparation');
    expect([fp.learningRate, fp.totalTimesteps, fp.gamma, fp.smdpDiscount]).toEqual([1e-3, 50_000, 0.99, false]);
    expect(paperPpoMlpConfig('entertainment').totalTimesteps).toBe(200_000);
    expect(paperPpoMlpConfig('pizza').totalTimesteps).toBe(50_000);
    expect(derivePpoMlp(ts)).toEqual({ batchSize: 512, minibatchSize: 128, numUpdates: 976 });
  });

  it("'released' is Overcooked only: full grid and subtask reward 0.1", () => {
    expect(() => derivePpoMlp(paperPpoMlpConfig('food-preparation', 'released'))).toThrow(ConfigError);
    const fair = createPpoMlpEnv({ taskId: 'tomato-salad', variant: 'fair' });
    const released = createPpoMlpEnv({ taskId: 'tomato-salad', variant: 'released' });
    fair.reset();
    released.reset();
    // The plate at (6, 5) is outside the 5x5 view at the start: the fair vector hides it, the full grid shows it.
    const plate = 3; // tomato x, y, chop; plate x, y
    expect([fair.symbolic()[plate], fair.symbolic()[plate + 1]]).toEqual([0, 0]);
    expect([released.symbolic()[plate], released.symbolic()[plate + 1]]).toEqual([6, 5]);
    // get tomato, go to knife, chop: the chop completes the subtask
    const rewards = (env: typeof fair) => [0, 2, 4].map((a) => env.step(a).reward);
    const rf = rewards(fair);
    const rr = rewards(released);
    expect(rf[2] - rr[2]).toBeGreaterThan(0.09);
  });
});

describe('PPO-MLP trainer', () => {
  it('is deterministic given the seed', () => {
    const run = (seed: number) => {
      const t = new PpoMlpTrainer(small({ seed }));
      return [t.runUpdate(), t.runUpdate()].map(det);
    };
    const a = run(3);
    expect(run(3)).toEqual(a);
    expect(run(4)).not.toEqual(a);
    expect(a[1].globalStep).toBe(256);
    expect(a[0].policyLr).toBe(1e-3);
    expect(a[1].policyLr).toBeCloseTo(1e-3 * (1 - 1 / 6), 15);
    expect(a[1].policySteps).toBe(16);
  });

  it('resumes exactly from a saved state (structured clone, fresh trainer)', () => {
    const config = small({ seed: 7 });
    const straight = new PpoMlpTrainer(config);
    const expected = Array.from({ length: 5 }, () => det(straight.runUpdate()));

    const first = new PpoMlpTrainer(config);
    first.runUpdate();
    first.runUpdate();
    // evaluation must not disturb the run
    first.evaluate({ episodes: 2, greedy: false });
    const state = structuredClone(first.getState());
    const resumed = new PpoMlpTrainer(config);
    resumed.setState(state);
    expect(resumed.update).toBe(2);
    const rest = Array.from({ length: 3 }, () => det(resumed.runUpdate()));
    expect(rest).toEqual(expected.slice(2));
    expect(PpoMlpTrainer.fromState(state).getState()).toEqual(state);
    expect(() => new PpoMlpTrainer({ ...config, seed: 8 }).setState(state)).toThrow(/different config/);
  });

  it('trainPpoMlp() runs update by update, awaits onUpdate, stops on abort and resumes from a state', async () => {
    const config = small({ seed: 2, totalTimesteps: 4 * 32 * 4 });
    const all: UpdateMetrics[] = [];
    await trainPpoMlp(config, { onUpdate: (m) => void all.push(m) });
    expect(all.map((m) => m.update)).toEqual([1, 2, 3, 4]);

    const controller = new AbortController();
    const seen: number[] = [];
    const part = await trainPpoMlp(config, {
      signal: controller.signal,
      onUpdate: async (m) => {
        seen.push(m.update);
        await new Promise((r) => setTimeout(r, 1)); // a paused UI resolves later
        if (m.update === 2) controller.abort();
      },
    });
    expect(seen).toEqual([1, 2]);
    const rest: UpdateMetrics[] = [];
    const done = await trainPpoMlp(config, { state: part.getState(), onUpdate: (m) => void rest.push(m) });
    expect(done.done).toBe(true);
    expect(rest.map(det)).toEqual(all.slice(2).map(det));
    expect((await trainPpoMlp(config, { maxUpdates: 1 })).update).toBe(1);
  });

  it('steps per minibatch, 4 epochs x 4, and stops after an epoch whose last minibatch KL exceeds target_kl', () => {
    const never = new PpoMlpTrainer(small({ seed: 2 })).runUpdate();
    expect([never.policySteps, never.valueSteps, never.klStopped]).toEqual([16, 16, false]);
    // CleanRL keeps the stopping epoch's steps: a stop after the first epoch leaves its 4 steps.
    const first = new PpoMlpTrainer(small({ seed: 2, targetKl: 0 })).runUpdate();
    expect([first.policySteps, first.valueSteps, first.klStopped]).toEqual([4, 4, true]);
    // Pinned on the straight-line update's predecessor (a generator schedule): the same steps and stops.
    const t = tomatoSalad({ targetKl: 0.0005, learningRate: 3e-3, totalTimesteps: 512 * 6, seed: 2 });
    const ms = Array.from({ length: 6 }, () => t.runUpdate());
    expect(ms.map((m) => `${m.policySteps}${m.klStopped ? 'S' : ''}`)).toEqual(['4S', '4S', '4S', '4S', '8S', '8S']);
  });

  it('restricts VirtualHome logits to the offered global ids', () => {
    const t = new PpoMlpTrainer({ ...paperPpoMlpConfig('food-preparation'), numSteps: 16, totalTimesteps: 128 });
    const logits = new Float64Array(10);
    logits[1] = 50; // 'walk to the kitchen', not offered in the kitchen
    const d = t.distribution(logits, 0, { x: new Float32Array(11), ids: [0, 2, 3, 4, 5] });
    expect(d.probs).toHaveLength(5);
    d.probs.forEach((p) => expect(p).toBeCloseTo(0.2, 6));
    const m = t.runUpdate();
    expect(m.globalStep).toBe(64);
    expect(Number.isFinite(m.policyLoss as number)).toBe(true);
  });

  it('joint loss gradients match finite differences (VirtualHome masking, clipping on)', () => {
    const config = { ...paperPpoMlpConfig('food-preparation'), numSteps: 16, totalTimesteps: 128 };
    const t = new PpoMlpTrainer(config);
    const rng = new Rng(5);
    // Observations from a random walk, with offered ids.
    const env = createEnv('food-preparation');
    env.reset();
    const obs: MlpObservation[] = [];
    const actions: number[] = [];
    for (let i = 0; i < 8; i++) {
      const ids = env.offeredActionIds().slice();
      const k = rng.int(ids.length);
      obs.push({ x: env.symbolic(), ids });
      actions.push(ids[k]);
      env.step(k);
    }
    // Old log-probs near uniform and old values near 0, so some ratios and values are clipped and some are not.
    const mb = {
      obs,
      actions,
      oldLogProbs: Float64Array.from(obs, (o) => Math.log(1 / o.ids!.length) + 0.3 * (rng.next() - 0.5)),
      oldValues: Float64Array.from(obs, () => 0.3 * rng.normal()),
      advantages: Float64Array.from(obs, () => rng.normal()),
      returns: Float64Array.from(obs, () => rng.normal()),
    };
    const loss = () => {
      const grads = [...t.actor.grads, ...t.critic.grads].map((g) => g.slice());
      const l = t.lossAndGradients(mb, 0.5).loss;
      [...t.actor.grads, ...t.critic.grads].forEach((g, j) => g.set(grads[j]));
      return l;
    };
    t.actor.zeroGrad();
    t.critic.zeroGrad();
    t.lossAndGradients(mb, 0.5);
    let checked = 0;
    for (const net of [t.actor, t.critic]) {
      for (let j = 0; j < net.params.length; j++) {
        const p = net.params[j];
        for (let s = 0; s < 6; s++) {
          const i = rng.int(p.length);
          expect(net.grads[j][i]).toBeCloseTo(centralDifference(p, i, loss, 1e-3), 4);
          checked++;
        }
      }
    }
    expect(checked).toBe(72);
    // Global ids never offered in these observations get no gradient through the actor's output bias.
    const offered = new Set(obs.flatMap((o) => o.ids!));
    const outBias = t.actor.grads[t.actor.grads.length - 1];
    for (let id = 0; id < 10; id++) if (!offered.has(id)) expect(outBias[id]).toBe(0);
  });

  it('LEARNING: tomato-salad (fair) reaches greedy success >= 0.9 within 30,720 env steps', () => {
    // Budget: 60 updates of 4 envs x 128 steps; lr 1e-3 instead of the script's 1e-4 (which needs ~500k steps).
    const t = tomatoSalad({ learningRate: 1e-3, totalTimesteps: 30_720, seed: 1 });
    let last: UpdateMetrics | undefined;
    while (!t.done) last = t.runUpdate();
    const greedy = t.evaluate({ episodes: 10, greedy: true });
    const sampled = t.evaluate({ episodes: 20, greedy: false, seed: 1 });
    expect(last!.globalStep).toBe(30_720);
    expect(greedy.successRate).toBeGreaterThanOrEqual(0.9);
    expect(greedy.meanReturn).toBeGreaterThan(0.85); // optimum 0.9205; the 6-macro intuitive route gives 0.8956
    expect(sampled.successRate).toBeGreaterThanOrEqual(0.9);
  });

  it('LEARNING: tomato-salad (fair) can leave the 0.8956 route for the 0.9205 optimum (seed 9)', () => {
    // Most seeds settle on the intuitive route (bowl first, then back to the knife): at lr 1e-3 for 81,920 steps
    // 3 of seeds 1-31 (3, 9, 29) left it for the optimum (README, Reproducing the paper's comparison). Seed 9 is
    // greedy on 0.8956 from ~20k steps, then on the optimal route (pick the chopped tomato up, carry it to the
    // bowl) by ~51k. This pins that the symbolic observation and rewards make the optimum learnable, not likely.
    const t = tomatoSalad({ learningRate: 1e-3, totalTimesteps: 81_920, seed: 9 });
    const returns: number[] = [];
    while (!t.done) {
      t.runUpdate();
      if (t.update % 10 !== 0) continue;
      returns.push(t.evaluate({ episodes: 4, greedy: true }).meanReturn);
      if (returns.at(-1)! > 0.92) break;
    }
    expect(returns.some((r) => Math.abs(r - 0.8956) < 1e-4)).toBe(true); // passed through the intuitive route
    expect(returns.at(-1)).toBeCloseTo(0.9205, 4);
    expect(t.update * 4 * 128).toBeLessThanOrEqual(81_920);
  });
});
