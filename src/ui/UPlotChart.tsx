/**
 * A uPlot chart as a React component. The plot is built once, when the panel mounts (the page is idle then);
 * later a changed set of series (a run added or removed) is swapped in with delSeries/addSeries and new data
 * with setData, so nothing is rebuilt while training: on a CPU shared with the trainer, building three
 * plots at the first update was the one main-thread task over 200 ms.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Table } from '../state/chart-data';

export interface SeriesSpec {
  label: string;
  stroke: string;
  dash?: number[];
}

const HEIGHT = 180;

const seriesOptions = (s: SeriesSpec): uPlot.Series => ({
  label: s.label,
  stroke: s.stroke,
  width: 1.5,
  dash: s.dash,
  spanGaps: true,
  points: { show: true, size: 4 },
});

/**
 * `unitRange`: the y axis spans at least [0, 1] (returns and success rates), so a flat run at 0 is drawn as
 * such instead of on an axis scaled to nothing.
 */
export function UPlotChart({
  table,
  series,
  yLabel,
  xLabel = 'env steps',
  unitRange = false,
}: {
  table: Table;
  series: SeriesSpec[];
  yLabel: string;
  xLabel?: string;
  unitRange?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  /** The series the plot has now (index 0, x, excluded). */
  const shown = useRef<string[]>([]);
  const latest = useRef({ table, series });
  latest.current = { table, series };

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const { table: t, series: s } = latest.current;
    const p = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: HEIGHT,
        scales: {
          x: { time: false },
          ...(unitRange
            ? {
                y: {
                  range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [
                    Math.min(0, min),
                    Math.max(1, max),
                  ],
                },
              }
            : {}),
        },
        axes: [
          { label: xLabel, size: 36 },
          { label: yLabel, size: 56 },
        ],
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        series: [{ label: xLabel }, ...s.map(seriesOptions)],
      },
      t as uPlot.AlignedData,
      el,
    );
    plot.current = p;
    shown.current = s.map(keyOf);
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== p.width) p.setSize({ width, height: HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [xLabel, yLabel, unitRange]);

  useEffect(() => {
    const p = plot.current;
    if (!p) return;
    const keys = series.map(keyOf);
    if (keys.join(';') !== shown.current.join(';')) {
      // Data first with the old series count is not allowed by uPlot: clear, swap series, then set.
      p.setData([[]] as unknown as uPlot.AlignedData, false);
      for (let i = shown.current.length; i >= 1; i--) p.delSeries(i);
      series.forEach((s, i) => p.addSeries(seriesOptions(s), i + 1));
      shown.current = keys;
    }
    p.setData(table as uPlot.AlignedData);
  }, [table, series]);

  return <div ref={box} className="uplot-box" />;
}

function keyOf(s: SeriesSpec): string {
  return `${s.label}|${s.stroke}|${s.dash?.join(',') ?? ''}`;
}
