import { describe, expect, it } from 'vitest';
import type { TrainAlgo, TrainMetrics } from '../worker/training-protocol';
import {
  type ChartRun,
  metricsTable,
  mixedTasksNote,
  overlayTable,
  recentMeans,
  returnPoints,
  secondsLeft,
} from './chart-data';

const m = (
  update: number,
  globalStep: number,
  episodicReturn: number | null,
  extra: Partial<TrainMetrics> = {},
): TrainMetrics =>
  ({
    update,
    numUpdates: 10,
    globalStep,
    episodicReturn,
    episodes: episodicReturn === null ? 0 : 1,
    successRate: episodicReturn === null ? null : episodicReturn > 0.5 ? 1 : 0,
    policyLoss: 0.1 * update,
    valueLoss: null,
    entropy: 1,
    approxKl: 0.01,
    timing: { sps: 10, rolloutSeconds: 1, updateSeconds: 1 },
    ...extra,
  }) as TrainMetrics;

/** A charted run of Tomato Salad. */
const run = (id: string, algo: TrainAlgo, label: string, metrics: TrainMetrics[]): ChartRun => ({
  id,
  algo,
  taskId: 'tomato-salad',
  label,
  metrics,
});

describe('chart tables', () => {
  it('overlays runs on the union of their env steps; return is the recent mean, so every update has a point', () => {
    const a = run('a', 'twosome', 'A', [m(1, 64, null), m(2, 128, 0.2), m(3, 192, null), m(4, 256, 0.8)]);
    const b = run('b', 'ppo-mlp', 'B', [m(1, 100, 0.1)]);
    expect(overlayTable([a, b], 'episodicReturn')).toEqual([
      [64, 100, 128, 192, 256],
      // Nothing before the first ended episode; then a point at every update of the run.
      [null, null, 0.2, 0.2, 0.5],
      [null, 0.1, null, null, null],
    ]);
    expect(returnPoints(a.metrics)).toBe(2);
  });

  it('the recent mean weighs each update by its ended episodes and covers the last 10 of them', () => {
    const ms = [m(1, 1, 0, { episodes: 8 }), m(2, 2, 1, { episodes: 2 }), m(3, 3, null), m(4, 4, 0.5, { episodes: 4 })];
    expect(recentMeans(ms, 'episodicReturn')).toEqual([0, 0.2, 0.2, (0.5 * 4 + 1 * 2 + 0 * 8) / 14]);
    expect(recentMeans(ms, 'episodicReturn', 4)).toEqual([0, 0.2, 0.2, 0.5]);
    expect(recentMeans([], 'successRate')).toEqual([]);
  });

  it("draws SayCan as a flat line over the trained runs' range, or alone over the steps it played", () => {
    const say = run('s', 'saycan', 'S', [m(1, 500, 0.4)]);
    const a = run('a', 'twosome', 'A', [m(1, 64, 0.2), m(2, 128, 0.3)]);
    expect(overlayTable([say, a], 'episodicReturn')).toEqual([
      [64, 128],
      [0.4, 0.4],
      [0.2, 0.25], // the mean of its two episodes so far
    ]);
    expect(overlayTable([say], 'successRate')).toEqual([
      [0, 500],
      [0, 0],
    ]);
  });

  it("puts one run's losses side by side and estimates the time left from recent updates", () => {
    const ms = [m(1, 64, 0.2), m(2, 128, null)];
    expect(metricsTable(ms, ['policyLoss', 'valueLoss'])).toEqual([
      [64, 128],
      [0.1, 0.2],
      [null, null],
    ]);
    expect(secondsLeft(ms, 10)).toBe(16);
    expect(secondsLeft([], 10)).toBeNull();
  });
});

describe('mixedTasksNote', () => {
  it('warns when the charted runs are of different tasks, and only then', () => {
    expect(mixedTasksNote([{ taskId: 'tomato-salad' }, { taskId: 'tomato-salad' }])).toBeNull();
    expect(mixedTasksNote([])).toBeNull();
    expect(mixedTasksNote([{ taskId: 'tomato-salad' }, { taskId: 'food-preparation' }])).toBe(
      'runs of 2 tasks (tomato-salad, food-preparation): compare within a task',
    );
  });
});
