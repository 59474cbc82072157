/**
 * Learning curves of several algorithms over several seeds, as the paper's figures draw them: the logged
 * episodic return against environment steps (macro-steps summed over envs), the mean over seeds as a line and
 * the min-max over seeds as a band, one colour per algorithm; plus CSV files of the points.
 *
 * A seed's curve is a step function: at each update it takes the mean return of the episodes that ended in
 * that update's rollout, and keeps its last value when none ended. Seeds of one algorithm are aligned on the
 * union of their x values (each seed's last value at or before x). A constant (non-learning) baseline such as
 * SayCan is a horizontal line over the whole x range.
 */

export interface CurvePoint {
  /** Environment steps so far. */
  x: number;
  /** Mean logged return of the episodes finished in that update, or null if none finished. */
  y: number | null;
}

export interface SeedCurve {
  seed: number;
  points: CurvePoint[];
}

export interface AlgorithmCurves {
  name: string;
  /** Learning runs; or `constant` for a baseline that does not learn (one value per seed). */
  seeds: SeedCurve[];
  constant?: { seed: number; value: number }[];
}

export interface AggregatePoint {
  x: number;
  mean: number;
  min: number;
  max: number;
  /** Seeds that had a value at x. */
  n: number;
}

/** Last value at or before each x, per seed; then mean/min/max over the seeds that have one. */
export function aggregateCurves(seeds: readonly SeedCurve[]): AggregatePoint[] {
  const xs = [...new Set(seeds.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const filled = seeds.map((s) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    let i = 0;
    let last: number | null = null;
    return xs.map((x) => {
      while (i < pts.length && pts[i].x <= x) {
        if (pts[i].y !== null && Number.isFinite(pts[i].y)) last = pts[i].y;
        i++;
      }
      return last;
    });
  });
  const out: AggregatePoint[] = [];
  xs.forEach((x, j) => {
    const ys = filled.map((f) => f[j]).filter((v): v is number => v !== null);
    if (ys.length === 0) return;
    out.push({
      x,
      mean: ys.reduce((a, b) => a + b, 0) / ys.length,
      min: Math.min(...ys),
      max: Math.max(...ys),
      n: ys.length,
    });
  });
  return out;
}

/** Every seed's raw points: algorithm,seed,x,return (empty where no episode ended). */
export function curvesCsv(algorithms: readonly AlgorithmCurves[]): string {
  const rows = ['algorithm,seed,env_steps,episodic_return'];
  for (const a of algorithms) {
    for (const s of a.seeds)
      for (const p of s.points) rows.push(`${a.name},${s.seed},${p.x},${p.y === null ? '' : p.y}`);
    for (const c of a.constant ?? []) rows.push(`${a.name},${c.seed},,${c.value}`);
  }
  return `${rows.join('\n')}\n`;
}

/** The aggregated curves: algorithm,x,mean,min,max,seeds. */
export function aggregateCsv(algorithms: readonly AlgorithmCurves[]): string {
  const rows = ['algorithm,env_steps,mean_return,min_return,max_return,seeds'];
  for (const a of algorithms) {
    if (a.constant?.length) {
      const v = a.constant.map((c) => c.value);
      rows.push(
        `${a.name},,${v.reduce((x, y) => x + y, 0) / v.length},${Math.min(...v)},${Math.max(...v)},${v.length}`,
      );
      continue;
    }
    for (const p of aggregateCurves(a.seeds)) rows.push(`${a.name},${p.x},${p.mean},${p.min},${p.max},${p.n}`);
  }
  return `${rows.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// SVG

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function niceStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
}

function ticks(lo: number, hi: number, target: number): number[] {
  const step = niceStep(hi - lo || 1, target);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function label(v: number): string {
  if (Math.abs(v) >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface PlotOptions {
  title: string;
  /** Dashed reference lines, e.g. the optimal return. */
  references?: { label: string; value: number }[];
  width?: number;
  height?: number;
}

/** A small self-contained SVG: mean lines, min-max bands, axes with ticks, legend. */
export function learningCurveSvg(algorithms: readonly AlgorithmCurves[], options: PlotOptions): string {
  const W = options.width ?? 720;
  const H = options.height ?? 440;
  const m = { left: 64, right: 170, top: 40, bottom: 52 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const series = algorithms.map((a, i) => ({
    name: a.name,
    color: COLORS[i % COLORS.length],
    points: a.constant?.length ? [] : aggregateCurves(a.seeds),
    constant: a.constant,
  }));
  const allX = series.flatMap((s) => s.points.map((p) => p.x));
  const xMax = Math.max(1, ...allX);
  const xMin = 0;
  const ys = [
    ...series.flatMap((s) => s.points.flatMap((p) => [p.min, p.max])),
    ...series.flatMap((s) => (s.constant ?? []).map((c) => c.value)),
    ...(options.references ?? []).map((r) => r.value),
  ];
  let yMin = ys.length ? Math.min(...ys) : 0;
  let yMax = ys.length ? Math.max(...ys) : 1;
  if (yMax - yMin < 1e-6) {
    yMin -= 0.5;
    yMax += 0.5;
  }
  const pad = 0.05 * (yMax - yMin);
  yMin -= pad;
  yMax += pad;
  const sx = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * pw;
  const sy = (y: number) => m.top + (1 - (y - yMin) / (yMax - yMin)) * ph;
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  );
  // grid and ticks
  for (const t of ticks(yMin, yMax, 6)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${m.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of ticks(xMin, xMax, 6)) {
    parts.push(`<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${m.top + ph + 18}" text-anchor="middle">${label(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${H - 12}" text-anchor="middle">environment steps</text>`);
  parts.push(
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">episodic return (discounted)</text>`,
  );
  // references
  for (const r of options.references ?? []) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${f(sy(r.value))}" y2="${f(sy(r.value))}" stroke="#555" stroke-dasharray="6 4"/>`,
    );
    parts.push(
      `<text x="${m.left + pw - 4}" y="${f(sy(r.value) - 5)}" text-anchor="end" fill="#555">${esc(r.label)}</text>`,
    );
  }
  // bands, then lines
  for (const s of series) {
    if (s.constant?.length) {
      const v = s.constant.map((c) => c.value);
      const lo = Math.min(...v);
      const hi = Math.max(...v);
      if (hi > lo)
        parts.push(
          `<rect x="${m.left}" y="${f(sy(hi))}" width="${pw}" height="${f(sy(lo) - sy(hi))}" fill="${s.color}" fill-opacity="0.18"/>`,
        );
      continue;
    }
    if (s.points.length < 1) continue;
    const upper = s.points.map((p) => `${f(sx(p.x))},${f(sy(p.max))}`);
    const lower = [...s.points].reverse().map((p) => `${f(sx(p.x))},${f(sy(p.min))}`);
    parts.push(
      `<polygon points="${[...upper, ...lower].join(' ')}" fill="${s.color}" fill-opacity="0.18" stroke="none"/>`,
    );
  }
  for (const s of series) {
    if (s.constant?.length) {
      const mean = s.constant.reduce((a, c) => a + c.value, 0) / s.constant.length;
      parts.push(
        `<line x1="${m.left}" x2="${m.left + pw}" y1="${f(sy(mean))}" y2="${f(sy(mean))}" stroke="${s.color}" stroke-width="2"/>`,
      );
      continue;
    }
    if (s.points.length === 1)
      parts.push(`<circle cx="${f(sx(s.points[0].x))}" cy="${f(sy(s.points[0].mean))}" r="3" fill="${s.color}"/>`);
    else if (s.points.length > 1)
      parts.push(
        `<polyline points="${s.points.map((p) => `${f(sx(p.x))},${f(sy(p.mean))}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
      );
  }
  // legend
  series.forEach((s, i) => {
    const y = m.top + 14 + i * 20;
    const x = m.left + pw + 14;
    parts.push(`<rect x="${x}" y="${y - 9}" width="18" height="10" fill="${s.color}" fill-opacity="0.18"/>`);
    parts.push(`<line x1="${x}" x2="${x + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${x + 24}" y="${y}">${esc(s.name)}</text>`);
  });
  const seedsNote = algorithms.map((a) => (a.constant?.length ?? a.seeds.length) || 0);
  parts.push(
    `<text x="${m.left + pw + 14}" y="${m.top + 14 + series.length * 20 + 8}" fill="#666" font-size="11">mean, min-max over ${Math.max(0, ...seedsNote)} seeds</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
