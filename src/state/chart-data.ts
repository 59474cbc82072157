/**
 * Chart tables from runs' metrics, in uPlot's aligned layout ([xs, ys of series 1, ys of series 2, ...]):
 * several runs share one x axis (env steps), each run's y is null at the others' x values (the lines span
 * those gaps). Return and success are the mean over the last RECENT_EPISODES episodes that ended (as the
 * paper's curves are smoothed), so every update after the first ended episode has a point, not only the
 * updates in which one ended; before any episode ended there is nothing to show (null). SayCan (no training)
 * is a horizontal line at its evaluation's value across the x range.
 */
import type { TaskId } from '../envs/types';
import type { ProbeResult, TrainAlgo, TrainMetrics } from '../worker/training-protocol';

export interface ChartRun {
  id: string;
  algo: TrainAlgo;
  /** The task it ran on: runs of different tasks on one chart are not comparable (mixedTasksNote). */
  taskId: TaskId;
  label: string;
  metrics: readonly TrainMetrics[];
}

export type Table = [number[], ...(number | null)[][]];

export type MetricKey = 'episodicReturn' | 'successRate' | 'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl';

/** Return and success are plotted as the mean over this many most recent ended episodes. */
export const RECENT_EPISODES = 10;

export type EpisodeKey = 'episodicReturn' | 'successRate';

/**
 * The mean of `key` over the last `window` episodes that ended by each update (at least `window`, whole updates:
 * an update reports the mean of its episodes), one value per update; null until an episode has ended.
 */
export function recentMeans(
  metrics: readonly TrainMetrics[],
  key: EpisodeKey,
  window = RECENT_EPISODES,
): (number | null)[] {
  const out: (number | null)[] = [];
  for (let i = 0; i < metrics.length; i++) {
    let sum = 0;
    let n = 0;
    for (let j = i; j >= 0 && n < window; j--) {
      const v = metrics[j][key];
      const count = metrics[j].episodes;
      if (count > 0 && typeof v === 'number' && Number.isFinite(v)) {
        sum += v * count;
        n += count;
      }
    }
    out.push(n > 0 ? sum / n : null);
  }
  return out;
}

/** One series per run of `key` against env steps (for return and success: the recent mean, recentMeans). */
export function overlayTable(runs: readonly ChartRun[], key: MetricKey): Table {
  const trained = runs.filter((r) => r.algo !== 'saycan');
  const xs = [...new Set(trained.flatMap((r) => r.metrics.map((m) => m.globalStep)))].sort((a, b) => a - b);
  // A SayCan line needs an x range: the trained runs', or alone the env steps its evaluation played.
  const played = Math.max(1, ...runs.map((r) => (r.algo === 'saycan' ? (r.metrics[0]?.globalStep ?? 0) : 0)));
  const axis = xs.length >= 2 ? xs : xs.length === 1 ? [0, xs[0]] : [0, played];
  const at = new Map(axis.map((x, i) => [x, i]));
  const columns = runs.map((run) => {
    const ys: (number | null)[] = new Array<number | null>(axis.length).fill(null);
    if (run.algo === 'saycan') {
      const v = run.metrics[0]?.[key];
      return ys.fill(typeof v === 'number' && Number.isFinite(v) ? v : null);
    }
    const values =
      key === 'episodicReturn' || key === 'successRate'
        ? recentMeans(run.metrics, key)
        : run.metrics.map((m) => m[key]);
    run.metrics.forEach((m, k) => {
      const v = values[k];
      const i = at.get(m.globalStep);
      if (i !== undefined && typeof v === 'number' && Number.isFinite(v)) ys[i] = v;
    });
    return ys;
  });
  return [axis, ...columns];
}

/** Several metrics of one run against env steps (the losses chart). */
export function metricsTable(metrics: readonly TrainMetrics[], keys: readonly MetricKey[]): Table {
  const xs = metrics.map((m) => m.globalStep);
  return [
    xs,
    ...keys.map((k) =>
      metrics.map((m) => (typeof m[k] === 'number' && Number.isFinite(m[k]) ? (m[k] as number) : null)),
    ),
  ];
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

/** A caption's warning when the charted runs are of different tasks (their returns are not comparable), or null. */
export function mixedTasksNote(runs: readonly Pick<ChartRun, 'taskId'>[]): string | null {
  const tasks = [...new Set(runs.map((r) => r.taskId))];
  return tasks.length > 1 ? `runs of ${tasks.length} tasks (${tasks.join(', ')}): compare within a task` : null;
}

/** The updates after which the run's probe was scored, with its results, in update order. */
export function probePoints(metrics: readonly TrainMetrics[]): { update: number; probe: ProbeResult }[] {
  return metrics.flatMap((m) => (m.probe ? [{ update: m.update, probe: m.probe }] : []));
}

/**
 * The probe's accuracies against updates: the adapter's acc and acc_norm, and the base model's (the same
 * questions, scored beside it; flat unless the engine changed). acc_norm columns are null where the benchmark
 * does not report it.
 */
export function probeAccuracyTable(metrics: readonly TrainMetrics[]): Table {
  const points = probePoints(metrics);
  return [
    points.map((p) => p.update),
    points.map((p) => p.probe.acc),
    points.map((p) => p.probe.accNorm),
    points.map((p) => p.probe.baseAcc),
    points.map((p) => p.probe.baseAccNorm),
  ];
}

/** The probe's mean KL(base || adapted) per scored token against updates. */
export function probeKlTable(metrics: readonly TrainMetrics[]): Table {
  const points = probePoints(metrics);
  return [points.map((p) => p.update), points.map((p) => p.probe.meanKl)];
}
