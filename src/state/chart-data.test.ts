import { describe, expect, it } from 'vitest';
import type { TrainMetrics } from '../worker/training-protocol';
import { metricsTable, overlayTable, returnPoints, secondsLeft } from './chart-data';

const m = (update: number, globalStep: number, episodicReturn: number | null, extra: Partial<TrainMetrics> = {}): TrainMetrics =>
  ({
    update,
    numUpdates: 10,
    globalStep,
    episodicReturn,
    successRate: episodicReturn === null ? null : episodicReturn > 0.5 ? 1 : 0,
    policyLoss: 0.1 * update,
    valueLoss: null,
    entropy: 1,
    approxKl: 0.01,
    timing: { sps: 10, rolloutSeconds: 1, updateSeconds: 1 },
    ...extra,
  }) as TrainMetrics;

describe('chart tables', () => {
  it('overlays runs on the union of their env steps, null where a run has no point', () => {
    const a = { id: 'a', algo: 'twosome' as const, label: 'A', metrics: [m(1, 64, 0.2), m(2, 128, null), m(3, 192, 0.9)] };
    const b = { id: 'b', algo: 'ppo-mlp' as const, label: 'B', metrics: [m(1, 100, 0.1)] };
    expect(overlayTable([a, b], 'episodicReturn')).toEqual([
      [64, 100, 128, 192],
      [0.2, null, null, 0.9],
      [null, 0.1, null, null],
    ]);
    expect(returnPoints(a.metrics)).toBe(2);
  });

  it('draws SayCan as a flat line over the trained runs\' range, or over [0, 1] alone', () => {
    const say = { id: 's', algo: 'saycan' as const, label: 'S', metrics: [m(1, 0, 0.4)] };
    const a = { id: 'a', algo: 'twosome' as const, label: 'A', metrics: [m(1, 64, 0.2), m(2, 128, 0.3)] };
    expect(overlayTable([say, a], 'episodicReturn')).toEqual([
      [64, 128],
      [0.4, 0.4],
      [0.2, 0.3],
    ]);
    expect(overlayTable([say], 'successRate')).toEqual([[0, 1], [0, 0]]);
  });

  it('puts one run\'s losses side by side and estimates the time left from recent updates', () => {
    const ms = [m(1, 64, 0.2), m(2, 128, null)];
    expect(metricsTable(ms, ['policyLoss', 'valueLoss'])).toEqual([[64, 128], [0.1, 0.2], [null, null]]);
    expect(secondsLeft(ms, 10)).toBe(16);
    expect(secondsLeft([], 10)).toBeNull();
  });
});
