import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { derivePpo, paperPpoConfig } from './config';
import {
  annealedLr,
  cleanRlUpdatePlan,
  runUpdate,
  runUpdateAsync,
  shuffledMinibatches,
  twosomeUpdatePlan,
  updateCommands,
  type Phase,
  type UpdateCommand,
  type UpdatePlan,
} from './minibatch';

describe('minibatches', () => {
  it('are deterministic given the seed and cover every sample exactly once', () => {
    const a = shuffledMinibatches(128, 32, new Rng(1));
    const b = shuffledMinibatches(128, 32, new Rng(1));
    const c = shuffledMinibatches(128, 32, new Rng(2));
    expect(a.map((m) => Array.from(m))).toEqual(b.map((m) => Array.from(m)));
    expect(a.map((m) => Array.from(m))).not.toEqual(c.map((m) => Array.from(m)));
    expect(a).toHaveLength(32);
    expect(a.every((m) => m.length === 4)).toBe(true);
    const all = a.flatMap((m) => Array.from(m)).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 128 }, (_, i) => i));
    expect(all).not.toEqual(a.flatMap((m) => Array.from(m))); // actually shuffled
  });

  it('refuses a count that does not divide the batch', () => {
    expect(() => shuffledMinibatches(10, 3, new Rng(1))).toThrow(/divide/);
  });
});

describe('annealedLr', () => {
  it('is lr * (1 - (update - 1) / numUpdates)', () => {
    expect(annealedLr(1e-3, 1, 10)).toBe(1e-3);
    expect(annealedLr(1e-3, 2, 10)).toBeCloseTo(9e-4, 15);
    expect(annealedLr(1e-3, 10, 10)).toBeCloseTo(1e-4, 15);
  });

  it('keeps the base LR during the critic warm-up, then anneals from it', () => {
    expect(annealedLr(1e-3, 3, 10, 3)).toBe(1e-3);
    expect(annealedLr(1e-3, 4, 10, 3)).toBe(1e-3);
    expect(annealedLr(1e-3, 5, 10, 3)).toBeCloseTo(9e-4, 15);
  });
});

/** Runs a plan with fake handlers: a scalar "parameter" per phase, each minibatch's gradient = lossScale. */
function fakeRun(plan: UpdatePlan, kls: (phase: Phase, call: number) => number) {
  const log: string[] = [];
  const param: Record<Phase, number> = { value: 0, policy: 0, joint: 0 };
  const grad: Record<Phase, number> = { value: 0, policy: 0, joint: 0 };
  const calls: Record<Phase, number> = { value: 0, policy: 0, joint: 0 };
  const seen: number[][] = [];
  const summary = runUpdate(plan, new Rng(1), {
    zeroGrad: (p) => {
      grad[p] = 0;
      log.push(`zero:${p}`);
    },
    accumulate: (p, indices, lossScale) => {
      grad[p] += lossScale;
      seen.push(Array.from(indices));
      log.push(`acc:${p}`);
      return { approxKl: kls(p, calls[p]++) };
    },
    step: (p) => {
      param[p] -= grad[p];
      log.push(`step:${p}`);
    },
    onKlStop: (p, kl) => log.push(`klStop:${p}:${kl.toFixed(4)}`),
  });
  return { log, param, summary, seen };
}

describe('TWOSOME update schedule (spec 2.2)', () => {
  const config = { ...paperPpoConfig('tomato-salad'), updateEpochs: 2 };
  const plan = twosomeUpdatePlan(config, derivePpo(config));

  it('runs value minibatches first, then accumulates 8 policy minibatches per step', () => {
    const { log, param, summary, seen } = fakeRun(plan, () => 0);
    // value: zero, then (backward, step, zero) per minibatch; policy: zero, then per window 8 backwards, step, zero.
    const expectedEpoch = [
      'zero:value',
      ...Array.from({ length: 4 }, () => ['acc:value', 'step:value', 'zero:value']).flat(),
      'zero:policy',
      ...Array.from({ length: 4 }, () => [...Array<string>(8).fill('acc:policy'), 'step:policy', 'zero:policy']).flat(),
    ];
    expect(log).toEqual([...expectedEpoch, ...expectedEpoch]);
    expect(summary.steps).toEqual({ value: 8, policy: 8, joint: 0 });
    expect(summary.klStopped).toBe(false);
    // Each accumulated step applies the window's mean gradient (8 x 1/8).
    expect(param.policy).toBeCloseTo(-8, 12);
    expect(param.value).toBeCloseTo(-8, 12);
    // Both phases of an epoch see the same shuffle; every sample once per phase.
    const valueEpoch0 = seen.slice(0, 4).flat();
    const policyEpoch0 = seen.slice(4, 36).flat();
    expect(policyEpoch0).toEqual(valueEpoch0);
    expect(valueEpoch0.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 128 }, (_, i) => i));
    const valueEpoch1 = seen.slice(36, 40).flat();
    expect(valueEpoch1).not.toEqual(valueEpoch0);
  });

  it('stops at a window boundary when the window mean KL exceeds target_kl and discards that window', () => {
    // window 1: KL 0.01 each (mean 0.01) -> step; window 2: mean 0.03 -> stop.
    const { log, param, summary } = fakeRun(plan, (p, call) => (p === 'policy' ? (call < 8 ? 0.01 : 0.03) : 0));
    expect(summary.klStopped).toBe(true);
    expect(summary.klStopEpoch).toBe(0);
    expect(summary.klStopValue).toBeCloseTo(0.03, 12);
    expect(summary.steps.policy).toBe(1);
    expect(summary.minibatches.policy).toBe(16);
    expect(param.policy).toBeCloseTo(-1, 12); // only the first window was applied
    expect(log.slice(-3)).toEqual(['acc:policy', 'klStop:policy:0.0300', 'zero:policy']);
    // The stop ends the whole update: the second epoch's value phase never runs.
    expect(summary.steps.value).toBe(4);
  });

  it('averages KL over the window: one large minibatch KL alone does not stop', () => {
    // 0.1 once in 8 -> mean 0.0125 < 0.02
    const { summary } = fakeRun(plan, (p, call) => (p === 'policy' && call % 8 === 3 ? 0.1 : 0));
    expect(summary.klStopped).toBe(false);
    expect(summary.steps.policy).toBe(8);
  });

  it('never stops with targetKl null, and runs critic only during warm-up', () => {
    const noKl = twosomeUpdatePlan({ ...config, targetKl: null }, derivePpo(config));
    expect(fakeRun(noKl, () => 1).summary.steps.policy).toBe(8);
    const warm = twosomeUpdatePlan(config, derivePpo(config), { warmUp: true });
    const { summary } = fakeRun(warm, () => 1);
    expect(summary.steps).toEqual({ value: 8, policy: 0, joint: 0 });
  });

  it('drives async handlers identically', async () => {
    const sync = fakeRun(plan, (p, call) => (p === 'policy' ? (call < 8 ? 0.01 : 0.03) : 0));
    const log: string[] = [];
    let calls = 0;
    const summary = await runUpdateAsync(plan, new Rng(1), {
      zeroGrad: async (p) => void log.push(`zero:${p}`),
      accumulate: async (p) => {
        log.push(`acc:${p}`);
        return { approxKl: p === 'policy' ? (calls++ < 8 ? 0.01 : 0.03) : 0 };
      },
      step: async (p) => void log.push(`step:${p}`),
      onKlStop: async (p, kl) => void log.push(`klStop:${p}:${kl.toFixed(4)}`),
    });
    expect(log).toEqual(sync.log);
    expect(summary).toEqual(sync.summary);
  });
});

describe('CleanRL update schedule', () => {
  it('zeroes, computes and steps per minibatch; 4 epochs x 4 minibatches', () => {
    const plan = cleanRlUpdatePlan(512, 4, 4, null);
    const { summary, log } = fakeRun(plan, () => 1);
    expect(summary.steps.joint).toBe(16);
    expect(log.slice(0, 4)).toEqual(['zero:joint', 'acc:joint', 'step:joint', 'zero:joint']);
  });

  it('checks the last minibatch KL after each epoch and keeps that epoch', () => {
    const plan = cleanRlUpdatePlan(512, 4, 4, 0.02);
    // epoch 0 last minibatch 0.01, epoch 1 last minibatch 0.05 -> stop after epoch 1
    const { summary } = fakeRun(plan, (_p, call) => (call === 7 ? 0.05 : 0.01));
    expect(summary.klStopped).toBe(true);
    expect(summary.klStopEpoch).toBe(1);
    expect(summary.steps.joint).toBe(8);
  });

  it('is a pure generator: the same seed yields the same commands', () => {
    const plan = cleanRlUpdatePlan(64, 4, 2, null);
    const collect = (seed: number) => {
      const out: UpdateCommand[] = [];
      const it = updateCommands(plan, new Rng(seed));
      for (let r = it.next(); !r.done; r = it.next({ approxKl: 0 })) out.push(r.value);
      return out.map((c) => (c.type === 'accumulate' ? Array.from(c.indices) : c.type));
    };
    expect(collect(3)).toEqual(collect(3));
    expect(collect(3)).not.toEqual(collect(4));
  });
});
