// The TWOSOME trainer's control flow on the CPU: a fake LLM actor (hashed table of score offsets) and the CPU
// critic stand in for the GPU engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { makeCheckpoint } from './checkpoint';
import { loadCheckpoint, saveCheckpoint } from './checkpoint-node';
import { quickPpoConfig, type PpoConfig } from './config';
import { expectFiniteFigures } from './testing';
import { FakeTwosomeActor, type FakeActorOptions } from './twosome-fake';
import { CpuCritic } from './twosome-model';
import {
  trainTwosome,
  TwosomeTrainer,
  twosomeSeeds,
  type TwosomeRunOptions,
  type TwosomeUpdateMetrics,
} from './twosome-trainer';

const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5 };

const small = (overrides: Partial<PpoConfig> = {}): PpoConfig => ({
  ...quickPpoConfig('tomato-salad'),
  policyLr: 0.3,
  valueLr: 3e-3,
  critic: { hiddenSizes: [32, 16], bias: false },
  totalTimesteps: 64 * 6,
  ...overrides,
});

function models(config: PpoConfig, options: FakeActorOptions = {}) {
  const actor = new FakeTwosomeActor(options);
  const critic = CpuCritic.init(
    actor.featureDim,
    config.critic.hiddenSizes,
    new Rng(twosomeSeeds(config.seed).critic),
    { ...ADAM, eps: config.adamEps },
  );
  return { actor, critic };
}

function trainer(config: PpoConfig, run: TwosomeRunOptions = {}, options: FakeActorOptions = {}) {
  return new TwosomeTrainer(config, models(config, options), run);
}

/** Metrics without the wall-clock fields. */
function det(m: TwosomeUpdateMetrics) {
  const { timing: _t, tokensPerSecond: _s, ...rest } = m;
  return rest;
}

/** Deep equality with numbers compared to a relative 1e-9. */
function expectClose(actual: unknown, expected: unknown, path = ''): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (actual !== expected)
      expect(Math.abs(actual - expected), path).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  } else if (expected && typeof expected === 'object') {
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected))
      expectClose((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
  } else expect(actual, path).toEqual(expected);
}

/** The model's calls that shape an update, as `actor.step`, `critic.zeroGrad`, ... (scoring and values left out). */
function logCalls<T extends object>(target: T, name: string, log: string[]): T {
  const logged = new Set(['accumulate', 'zeroGrad', 'step']);
  return new Proxy(target, {
    get(t, key, receiver) {
      const value = Reflect.get(t, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (logged.has(String(key))) log.push(`${name}.${String(key)}`);
        return value.apply(t, args);
      };
    },
  });
}

/** A trainer on `config` whose actor and critic calls that shape an update are appended to `log` (logCalls). */
function loggedTrainer(config: PpoConfig, log: string[]): TwosomeTrainer {
  const m = models(config);
  return new TwosomeTrainer(config, {
    actor: logCalls(m.actor, 'actor', log),
    critic: logCalls(m.critic, 'critic', log),
  });
}

async function updates(t: TwosomeTrainer, n: number) {
  const out: TwosomeUpdateMetrics[] = [];
  for (let i = 0; i < n; i++) out.push(await t.runUpdate());
  return out;
}

describe('TwosomeTrainer (fake actor, CPU critic)', () => {
  it('reports every metric per update and is deterministic given the seed', async () => {
    const a = await updates(trainer(small()), 3);
    const b = await updates(trainer(small()), 3);
    expect(a.map(det)).toEqual(b.map(det));
    const c = await updates(trainer(small({ seed: 2 })), 3);
    expect(c.map(det)).not.toEqual(a.map(det));
    const m = a[2];
    expect(m.update).toBe(3);
    expect(m.numUpdates).toBe(6);
    expect(m.globalStep).toBe(3 * 64);
    expect(m.primitiveSteps).toBeGreaterThanOrEqual(m.globalStep);
    expect(m.policySteps).toBe(2);
    expect(m.valueSteps).toBe(2);
    expectFiniteFigures(m);
    expect(m.tokens).toBeGreaterThan(0);
    expect(m.timing.sps).toBeGreaterThan(0);
    expect(m.gpuMemoryBytes).toBeNull();
    // linear annealing of both learning rates (1 - (update - 1) / numUpdates)
    expect(a.map((x) => x.policyLr)).toEqual([0.3, 0.3 * (1 - 1 / 6), 0.3 * (1 - 2 / 6)]);
    expect(a[1].valueLr).toBeCloseTo(3e-3 * (1 - 1 / 6), 15);
  });

  it('one scoring call and one feature call per rollout step, the schedule of 16 minibatches and 2 steps', async () => {
    const log: string[] = [];
    const t = trainer(small(), {}, { log });
    await t.runUpdate();
    const firstAccumulate = log.findIndex((l) => l.startsWith('accumulate'));
    const rollout = log.slice(0, firstAccumulate);
    // 16 steps: one feature call each plus the bootstrap; scoring calls only for pairs new to this rollout.
    expect(rollout.filter((l) => l.startsWith('features')).length).toBe(17);
    const scoreCalls = rollout.filter((l) => l.startsWith('score'));
    expect(scoreCalls.length).toBeGreaterThan(0);
    expect(scoreCalls.length).toBeLessThanOrEqual(16);
    // 16 minibatches of 4 samples (identical prompts in a minibatch share a forward), a step after every 8
    const update = log.slice(firstAccumulate).map((l) => (l.startsWith('accumulate') ? 'accumulate' : l));
    expect(update).toEqual([...Array(8).fill('accumulate'), 'step', ...Array(8).fill('accumulate'), 'step']);
    expect(log.slice(firstAccumulate).every((l) => l === 'step' || /^accumulate [1-4]$/.test(l))).toBe(true);
  });

  it('promptsPerPass shares one pass between the minibatches of a window: same metrics, 2 passes instead of 16', async () => {
    const logA: string[] = [];
    const logB: string[] = [];
    const a = await updates(trainer(small(), {}, { log: logA }), 3);
    const b = await updates(trainer(small(), { promptsPerPass: 32 }, { log: logB }), 3);
    // the same losses and gradients, summed in another order (tokens differ: fewer, larger passes share more)
    const learning = (m: TwosomeUpdateMetrics) => ({ ...det(m), tokens: 0 });
    expectClose(b.map(learning), a.map(learning));
    expect(b[2].tokens).toBeLessThan(a[2].tokens);
    expect(logA.filter((l) => l.startsWith('accumulate')).length).toBe(48);
    expect(logB.filter((l) => l.startsWith('accumulate')).length).toBe(6);
    // a pass never spans two windows, whatever is asked
    const c = trainer(small(), { promptsPerPass: 1000 });
    expect(c.options.promptsPerPass).toBe(32);
  });

  it('resumes exactly from its state (structured clone and a checkpoint file)', async () => {
    const whole = trainer(small());
    const all = await updates(whole, 4);

    const first = trainer(small());
    await updates(first, 2);
    const state = await first.getState();
    // through the structured-clone serializer, as a checkpoint file and as IndexedDB would store it
    const dir = mkdtempSync(join(tmpdir(), 'twosome-ckpt-'));
    try {
      saveCheckpoint(
        dir,
        makeCheckpoint('twosome', { task: 'tomato-salad', model: 'fake', preset: 'quick', startedAt: 'now' }, state),
      );
      const loaded = await loadCheckpoint(dir);
      expect(loaded.algo).toBe('twosome');
      const cloned = deserialize(serialize(loaded.state));
      const second = trainer(small());
      await second.setState(cloned);
      expect(second.update).toBe(2);
      const rest = await updates(second, 2);
      expect(rest.map(det)).toEqual(all.slice(2).map(det));
      expect(second.history.map(det)).toEqual(whole.history.map(det));
      const [s1, s2] = [await whole.getState(), await second.getState()];
      expect(s2.actor.tensors[0]).toEqual(s1.actor.tensors[0]);
      expect(s2.critic.weights).toEqual(s1.critic.weights);
      expect(s2.actor.optimizer).toEqual(s1.actor.optimizer);
      expect(s2.rng).toEqual(s1.rng);
      expect(s2.envs).toEqual(s1.envs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('trainTwosome() runs to the end, honours maxUpdates and the abort signal, and continues from a state', async () => {
    const config = small({ totalTimesteps: 64 * 3 });
    const seen: number[] = [];
    const t = await trainTwosome(config, models(config), { maxUpdates: 2, onUpdate: (m) => void seen.push(m.update) });
    expect(seen).toEqual([1, 2]);
    const cont = await trainTwosome(config, models(config), { state: await t.getState() });
    expect(cont.done).toBe(true);
    expect(cont.history.map((m) => m.update)).toEqual([1, 2, 3]);
    const controller = new AbortController();
    const stopped = await trainTwosome(config, models(config), {
      signal: controller.signal,
      onUpdate: () => controller.abort(),
    });
    expect(stopped.update).toBe(1);
  });

  it('refuses a state saved with another config', async () => {
    const t = trainer(small());
    await t.runUpdate();
    const state = await t.getState();
    await expect(trainer(small({ policyLr: 0.1 })).setState(state)).rejects.toThrow(/different config/);
  });

  it('the window KL early stop ends the policy phase and discards the window', async () => {
    const t = trainer(small({ policyLr: 50, targetKl: 0.02 }));
    const ms = await updates(t, 4);
    const stopped = ms.filter((m) => m.klStopped);
    expect(stopped.length).toBeGreaterThan(0);
    for (const m of stopped) expect(m.policySteps).toBeLessThan(2);
    const never = await updates(trainer(small({ policyLr: 50, targetKl: null })), 4);
    expect(never.every((m) => !m.klStopped && m.policySteps === 2)).toBe(true);
  });

  it('per epoch: a critic step per value minibatch, then a policy step per window of 8 minibatches', async () => {
    const config = small({ updateEpochs: 2, targetKl: null });
    const log: string[] = [];
    const t = loggedTrainer(config, log);
    const metrics = await t.runUpdate();
    const value = ['critic.zeroGrad', 'critic.accumulate', 'critic.step'];
    const window = [...Array<string>(8).fill('actor.accumulate'), 'actor.step', 'actor.zeroGrad'];
    const epoch = [...value, ...value, 'actor.zeroGrad', ...window, ...window];
    expect(log).toEqual([...epoch, ...epoch]);
    expect([metrics.valueSteps, metrics.policySteps, metrics.klStopped]).toEqual([4, 4, false]);
  });

  it('the window KL stop discards the window (no step) and ends the update, later epochs included', async () => {
    const config = small({ policyLr: 20, updateEpochs: 3, totalTimesteps: 64 * 8 });
    const log: string[] = [];
    const t = loggedTrainer(config, log);
    const first = await t.runUpdate();
    expect([first.valueSteps, first.policySteps, first.klStopped]).toEqual([2, 1, true]);
    // epoch 1: two value steps, a stepped window, then the stopping window: its gradients zeroed, nothing after
    expect(log.slice(-10)).toEqual(['actor.zeroGrad', ...Array<string>(8).fill('actor.accumulate'), 'actor.zeroGrad']);
    expect(log.filter((l) => l === 'critic.step')).toHaveLength(2);
    // with 4 windows of 4 minibatches: nothing runs after the stopping window, however many windows are left
    log.length = 0;
    const short = small({ policyLr: 20, gradientAccumulationSteps: 4 });
    const ms = models(short);
    const stopped = await new TwosomeTrainer(short, {
      actor: logCalls(ms.actor, 'actor', log),
      critic: ms.critic,
    }).runUpdate();
    expect(stopped.klStopped).toBe(true);
    expect(stopped.policySteps).toBeLessThan(3);
    expect(log.filter((l) => l === 'actor.accumulate')).toHaveLength(4 * (stopped.policySteps + 1));
    expect(log.at(-1)).toBe('actor.zeroGrad');
    // Pinned on what the update's predecessor (a generator schedule) made of the same seeds. In `two`, the first
    // update stops in its second epoch: 4 value steps, 3 policy steps (epoch 1's two windows, epoch 2's first).
    const rest = await updates(t, 5);
    expect([first, ...rest].map((x) => `${x.policySteps}/${x.valueSteps}${x.klStopped ? 'S' : ''}`)).toEqual([
      '1/2S',
      '1/2S',
      '6/6',
      '6/6',
      '6/6',
      '6/6',
    ]);
    const two = await updates(trainer(small({ updateEpochs: 2, totalTimesteps: 64 * 8 }), { promptsPerPass: 16 }), 6);
    expect(two.map((x) => `${x.policySteps}/${x.valueSteps}${x.klStopped ? 'S' : ''}`)).toEqual([
      '3/4S',
      '4/4',
      '4/4',
      '4/4',
      '4/4',
      '4/4',
    ]);
  });

  it('a GPU lost mid-update fails the update once: the reads it left pending raise no unhandled rejection', async () => {
    // A lost device rejects every pending read (here the first value step's info, awaited only after the
    // update) and fails the next GPU call (the next zeroGrad). The update must fail with that error alone:
    // in a worker an unhandled rejection is an uncaught error beside it.
    const config = small();
    const { actor, critic } = models(config);
    const lost = new Error('Device was destroyed');
    let steps = 0;
    const failing: typeof critic = Object.create(critic);
    failing.step = () => (steps++, Promise.reject(lost));
    failing.zeroGrad = async () => {
      if (steps > 0) throw lost;
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(new TwosomeTrainer(config, { actor, critic: failing }).runUpdate()).rejects.toBe(lost);
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(steps).toBe(1);
    expect(unhandled).toEqual([]);
  });

  it('critic warm-up: critic-only updates first, at the base learning rates', async () => {
    const ms = await updates(trainer(small({ criticWarmUpSteps: 128 })), 3);
    expect(ms.map((m) => m.policySteps)).toEqual([0, 0, 2]);
    expect(ms.map((m) => m.valueSteps)).toEqual([2, 2, 2]);
    expect(ms[0].policyLoss).toBeNull();
    expect(ms[1].valueLr).toBe(3e-3);
    expect(ms[2].policyLr).toBe(0.3);
  });

  it('learns Tomato Salad with the fake actor (PPO signs and plumbing end to end)', async () => {
    const config = small({ annealLr: false, totalTimesteps: 64 * 60 });
    const t = trainer(config, { promptsPerPass: 32 });
    const before = await t.evaluate({ episodes: 40, seed: 3 });
    while (!t.done) await t.runUpdate();
    const after = await t.evaluate({ episodes: 40, seed: 3 });
    expect(after.successRate).toBeGreaterThanOrEqual(0.85);
    expect(after.meanReturn).toBeGreaterThan(before.meanReturn + 0.4);
    // evaluation on another task (crossover) uses the same actor
    const other = await t.evaluate({ taskId: 'food-preparation', episodes: 4 });
    expect(other.taskId).toBe('food-preparation');
    expect(other.episodes).toBe(4);
  });
});
