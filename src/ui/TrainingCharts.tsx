/**
 * The training charts: episodic return and success rate against env steps with every shown run overlaid (as
 * the paper's figures: TWOSOME, PPO-MLP, and SayCan as a flat line), and the current run's losses, entropy
 * and approx KL. `data-points` on the return chart counts the current run's plotted returns (updates in which
 * an episode ended): the end-to-end tests read it. Runs of different tasks on one chart are named in its caption.
 */
import { useMemo } from 'react';
import { metricsTable, mixedTasksNote, overlayTable, returnPoints, type ChartRun } from '../state/chart-data';
import { chartRun } from '../state/training';
import type { TrainAlgo } from '../worker/training-protocol';
import { UPlotChart, type SeriesSpec } from './UPlotChart';
import { useSlice } from './useSlice';

/** One hue per algorithm (as the paper's legends), lighter for each further run of it. */
const PALETTE: Record<TrainAlgo, string[]> = {
  twosome: ['#7aa2f7', '#a5c0ff', '#4f78d0', '#c9d8ff'],
  'ppo-mlp': ['#f7a26a', '#ffc59a', '#d07a3f', '#ffe0c7'],
  saycan: ['#4ade80', '#86efac', '#22a55a', '#bbf7d0'],
};

function seriesOf(runs: readonly ChartRun[]): SeriesSpec[] {
  const used: Record<TrainAlgo, number> = { twosome: 0, 'ppo-mlp': 0, saycan: 0 };
  return runs.map((r) => {
    const colours = PALETTE[r.algo];
    const stroke = colours[used[r.algo]++ % colours.length];
    return { label: r.label, stroke, dash: r.algo === 'saycan' ? [6, 4] : undefined };
  });
}

const LOSS_KEYS = ['policyLoss', 'valueLoss', 'entropy', 'approxKl'] as const;
const LOSS_SERIES: SeriesSpec[] = [
  { label: 'policy loss', stroke: '#7aa2f7' },
  { label: 'value loss', stroke: '#f7a26a' },
  { label: 'entropy', stroke: '#4ade80' },
  { label: 'approx KL', stroke: '#f87171' },
];

export function TrainingCharts() {
  const { run, metrics, overlays } = useSlice('training', 'run', 'metrics', 'overlays');
  const runs = useMemo<ChartRun[]>(() => {
    const current = run && run.algo !== 'saycan' ? [chartRun(run, metrics)] : [];
    return [...overlays.filter((o) => o.id !== run?.id), ...current];
  }, [run, metrics, overlays]);
  const series = useMemo(() => seriesOf(runs), [runs]);
  const returns = useMemo(() => overlayTable(runs, 'episodicReturn'), [runs]);
  const success = useMemo(() => overlayTable(runs, 'successRate'), [runs]);
  const losses = useMemo(() => metricsTable(run?.algo === 'saycan' ? [] : metrics, LOSS_KEYS), [run, metrics]);
  const points = returnPoints(run?.algo === 'saycan' ? [] : metrics);
  const mixed = mixedTasksNote(runs);
  const note = mixed && (
    <span className="card-hint" data-testid="mixed-tasks">
      {' '}
      · {mixed}
    </span>
  );

  return (
    <div className="training-charts">
      <figure className="chart" data-testid="return-chart" data-points={points} data-series={runs.length}>
        <figcaption>Episodic return{note}</figcaption>
        <UPlotChart table={returns} series={series} yLabel="return" unitRange />
      </figure>
      <figure className="chart" data-testid="success-chart">
        <figcaption>Success rate{note}</figcaption>
        <UPlotChart table={success} series={series} yLabel="success" unitRange />
      </figure>
      <figure className="chart" data-testid="loss-chart">
        <figcaption>Losses, entropy, KL (this run)</figcaption>
        <UPlotChart table={losses} series={LOSS_SERIES} yLabel="value" />
      </figure>
    </div>
  );
}
