/**
 * Chart tables from runs' metrics, in uPlot's aligned layout ([xs, ys of series 1, ys of series 2, ...]):
 * several runs share one x axis (env steps), each run's y is null at the others' x values (the lines span
 * those gaps). Honest points only: an update in which no episode ended has no return or success (null), and
 * SayCan (no training) is a horizontal line at its evaluation's value across the x range.
 */
import type { TrainAlgo, TrainMetrics } from '../worker/training-protocol';

export interface ChartRun {
  id: string;
  algo: TrainAlgo;
  label: string;
  metrics: readonly TrainMetrics[];
}

export type Table = [number[], ...(number | null)[][]];

export type MetricKey = 'episodicReturn' | 'successRate' | 'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl';

/** One series per run of `key` against env steps. */
export function overlayTable(runs: readonly ChartRun[], key: MetricKey): Table {
  const trained = runs.filter((r) => r.algo !== 'saycan');
  const xs = [...new Set(trained.flatMap((r) => r.metrics.map((m) => m.globalStep)))].sort((a, b) => a - b);
  // A SayCan line needs an x range: the trained runs', or [0, 1] alone.
  const axis = xs.length >= 2 ? xs : xs.length === 1 ? [0, xs[0]] : [0, 1];
  const at = new Map(axis.map((x, i) => [x, i]));
  const columns = runs.map((run) => {
    const ys: (number | null)[] = new Array<number | null>(axis.length).fill(null);
    if (run.algo === 'saycan') {
      const v = run.metrics[0]?.[key];
      return ys.fill(typeof v === 'number' && Number.isFinite(v) ? v : null);
    }
    for (const m of run.metrics) {
      const v = m[key];
      const i = at.get(m.globalStep);
      if (i !== undefined && typeof v === 'number' && Number.isFinite(v)) ys[i] = v;
    }
    return ys;
  });
  return [axis, ...columns];
}

/** Several metrics of one run against env steps (the losses chart). */
export function metricsTable(metrics: readonly TrainMetrics[], keys: readonly MetricKey[]): Table {
  const xs = metrics.map((m) => m.globalStep);
  return [xs, ...keys.map((k) => metrics.map((m) => (typeof m[k] === 'number' && Number.isFinite(m[k]) ? (m[k] as number) : null)))];
}

/** Updates of a run that put a point on the return chart (an episode ended in them). */
export function returnPoints(metrics: readonly TrainMetrics[]): number {
  return metrics.filter((m) => typeof m.episodicReturn === 'number' && Number.isFinite(m.episodicReturn)).length;
}

/** Seconds left at the recent rate: remaining updates times the mean wall time of the last few. */
export function secondsLeft(metrics: readonly TrainMetrics[], numUpdates: number): number | null {
  const last = metrics.slice(-5);
  if (last.length === 0) return null;
  const per = last.reduce((s, m) => s + m.timing.rolloutSeconds + m.timing.updateSeconds, 0) / last.length;
  const remaining = numUpdates - metrics[metrics.length - 1].update;
  return remaining <= 0 ? 0 : per * remaining;
}
