import { describe, expect, it } from 'vitest';
import type { ProbeResult, TrainMetrics } from '../worker/training-protocol';
import { probeAccuracyTable, probeKlTable, probePoints } from './chart-data';
import { PROBE_SEED, requestOf, type TrainForm } from './training';

const probe = (acc: number, meanKl: number): ProbeResult => ({
  bench: 'boolq',
  n: 20,
  acc,
  accNorm: null,
  baseAcc: 0.5,
  baseAccNorm: null,
  meanKl,
  seconds: 1,
});
const m = (update: number, p?: ProbeResult) => ({ update, globalStep: 64 * update, ...(p ? { probe: p } : {}) });

describe('the probe on the Training card', () => {
  it('charts the updates that have a probe, against updates; acc_norm null where the benchmark has none', () => {
    const metrics = [m(1), m(2, probe(0.55, 0.01)), m(3), m(4, probe(0.6, 0.03))] as TrainMetrics[];
    expect(probePoints(metrics).map((p) => p.update)).toEqual([2, 4]);
    expect(probeAccuracyTable(metrics)).toEqual([
      [2, 4],
      [0.55, 0.6],
      [null, null],
      [0.5, 0.5],
      [null, null],
    ]);
    expect(probeKlTable(metrics)).toEqual([
      [2, 4],
      [0.01, 0.03],
    ]);
    expect(probeAccuracyTable([m(1)] as TrainMetrics[])).toEqual([[], [], [], [], []]);
  });

  it("the form's probe goes to the worker for TWOSOME when it is on, with the data and the fixed seed", () => {
    const form: TrainForm = {
      algo: 'twosome',
      taskId: 'tomato-salad',
      preset: 'quick',
      seed: 5,
      steps: 128,
      episodes: 10,
      probe: { on: true, bench: 'piqa', size: 30, every: 2 },
    };
    const data = { kind: 'hub' as const, endpoint: null };
    expect(requestOf(form, data).probe).toEqual({ bench: 'piqa', size: 30, every: 2, seed: PROBE_SEED, data });
    expect(requestOf(form).probe).toBeUndefined(); // the time estimate's request
    expect(requestOf({ ...form, probe: { ...form.probe, on: false } }, data).probe).toBeUndefined();
    expect(requestOf({ ...form, algo: 'ppo-mlp' }, data).probe).toBeUndefined();
  });
});
