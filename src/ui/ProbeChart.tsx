/**
 * The training probe's results (issue 15) beside the training curves: the adapter's accuracy and acc_norm on the
 * probe's fixed questions after every N updates, the base model's on the same questions, the mean KL(base ||
 * adapted) per scored token, and a table of every probe (the end-to-end tests read its data-* attributes).
 * Shown for a run with a probe, stored runs after a reload included (the results are in its metrics).
 */
import { useMemo } from 'react';
import { probeAccuracyTable, probeKlTable, probePoints } from '../state/chart-data';
import { TableHead } from './parts';
import { UPlotChart, type SeriesSpec } from './UPlotChart';
import { useSlice } from './useSlice';

const ACCURACY_SERIES: SeriesSpec[] = [
  { label: 'acc (adapter)', stroke: '#7aa2f7' },
  { label: 'acc_norm (adapter)', stroke: '#c084fc' },
  { label: 'acc (base)', stroke: '#7aa2f7', dash: [6, 4] },
  { label: 'acc_norm (base)', stroke: '#c084fc', dash: [6, 4] },
];
const KL_SERIES: SeriesSpec[] = [{ label: 'mean KL(base || adapter)', stroke: '#f87171' }];

const percent = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

export function ProbeChart() {
  const { run, metrics } = useSlice('training', 'run', 'metrics');
  const accuracy = useMemo(() => probeAccuracyTable(metrics), [metrics]);
  const kl = useMemo(() => probeKlTable(metrics), [metrics]);
  const points = useMemo(() => probePoints(metrics), [metrics]);
  const probe = run?.probe;
  if (!probe) return null;
  const every = probe.every === 1 ? 'every update' : `every ${probe.every} updates`;
  const caption = `${probe.title}, ${probe.size} fixed questions, ${every}`;
  return (
    <div className="probe-results" data-testid="probe-results" data-bench={probe.bench} data-points={points.length}>
      <div className="training-charts">
        <figure className="chart" data-testid="probe-chart">
          <figcaption>Probe accuracy: {caption}</figcaption>
          <UPlotChart table={accuracy} series={ACCURACY_SERIES} yLabel="accuracy" xLabel="updates" unitRange />
        </figure>
        <figure className="chart" data-testid="probe-kl-chart">
          <figcaption>Probe: mean KL(base || adapter) per scored token, nats</figcaption>
          <UPlotChart table={kl} series={KL_SERIES} yLabel="KL" xLabel="updates" />
        </figure>
      </div>
      {points.length === 0 ? (
        <p className="card-hint" data-testid="probe-waiting">
          The first probe runs after update {probe.every}.
        </p>
      ) : (
        <table className="eval-table probe-table" data-testid="probe-table">
          <TableHead columns={['Update', 'acc', 'acc_norm', 'base acc', 'base acc_norm', 'mean KL', 'Time']} />
          <tbody>
            {points.map(({ update, probe: p }) => (
              <tr
                key={update}
                data-testid="probe-row"
                data-update={update}
                data-n={p.n}
                data-acc={p.acc}
                data-acc-norm={p.accNorm ?? ''}
                data-base-acc={p.baseAcc}
                data-base-acc-norm={p.baseAccNorm ?? ''}
                data-kl={p.meanKl ?? ''}
              >
                <td>{update}</td>
                <td>{percent(p.acc)}</td>
                <td>{percent(p.accNorm)}</td>
                <td>{percent(p.baseAcc)}</td>
                <td>{percent(p.baseAccNorm)}</td>
                <td>{p.meanKl === null ? '–' : p.meanKl.toPrecision(3)}</td>
                <td>{p.seconds.toFixed(1)} s</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
