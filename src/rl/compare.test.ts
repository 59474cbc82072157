import { describe, expect, it } from 'vitest';
import { aggregateCsv, aggregateCurves, curvesCsv, learningCurveSvg, type AlgorithmCurves } from './compare';

const CURVES: AlgorithmCurves[] = [
  {
    name: 'TWOSOME',
    seeds: [
      {
        seed: 1,
        points: [
          { x: 64, y: null },
          { x: 128, y: 0.2 },
          { x: 192, y: null },
          { x: 256, y: 0.8 },
        ],
      },
      {
        seed: 2,
        points: [
          { x: 64, y: 0.1 },
          { x: 128, y: 0.4 },
          { x: 192, y: 0.6 },
          { x: 256, y: 0.9 },
        ],
      },
    ],
  },
  {
    name: 'PPO (MLP)',
    seeds: [
      {
        seed: 1,
        points: [
          { x: 100, y: -0.1 },
          { x: 300, y: 0 },
        ],
      },
    ],
  },
  {
    name: 'SayCan',
    seeds: [],
    constant: [
      { seed: 1, value: -0.087 },
      { seed: 2, value: -0.087 },
    ],
  },
];

describe('learning curves', () => {
  it('aligns seeds on x with their last value, then mean/min/max over the seeds that have one', () => {
    expect(aggregateCurves(CURVES[0].seeds)).toEqual([
      { x: 64, mean: 0.1, min: 0.1, max: 0.1, n: 1 },
      { x: 128, mean: (0.2 + 0.4) / 2, min: 0.2, max: 0.4, n: 2 },
      { x: 192, mean: (0.2 + 0.6) / 2, min: 0.2, max: 0.6, n: 2 },
      { x: 256, mean: (0.8 + 0.9) / 2, min: 0.8, max: 0.9, n: 2 },
    ]);
    expect(aggregateCurves([])).toEqual([]);
  });

  it('writes raw and aggregated CSV', () => {
    const raw = curvesCsv(CURVES).trim().split('\n');
    expect(raw[0]).toBe('algorithm,seed,env_steps,episodic_return');
    expect(raw).toContain('TWOSOME,1,64,');
    expect(raw).toContain('TWOSOME,2,256,0.9');
    expect(raw).toContain('SayCan,2,,-0.087');
    const agg = aggregateCsv(CURVES).trim().split('\n');
    expect(agg[0]).toBe('algorithm,env_steps,mean_return,min_return,max_return,seeds');
    expect(agg).toContain('TWOSOME,256,0.8500000000000001,0.8,0.9,2');
    expect(agg).toContain('SayCan,,-0.087,-0.087,-0.087,2');
  });

  it('draws an SVG: one mean line and one band per learning algorithm, a flat line for SayCan, the optimum dashed', () => {
    const svg = learningCurveSvg(CURVES, {
      title: 'Tomato Salad <test>',
      references: [{ label: 'optimal 0.921', value: 0.9205 }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<polygon /g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray');
    expect(svg).toContain('Tomato Salad &lt;test&gt;');
    for (const name of ['TWOSOME', 'PPO (MLP)', 'SayCan', 'environment steps', 'episodic return'])
      expect(svg).toContain(name);
    // every number in the drawing is finite
    expect(svg).not.toMatch(/NaN|Infinity/);
    // tags balance
    const open = (svg.match(/<(svg|text)\b/g) ?? []).length;
    const close = (svg.match(/<\/(svg|text)>/g) ?? []).length;
    expect(open).toBe(close);
  });

  it('copes with a single point and with nothing to draw', () => {
    const one = learningCurveSvg([{ name: 'A', seeds: [{ seed: 1, points: [{ x: 10, y: 0.5 }] }] }], { title: 't' });
    expect(one).toContain('<circle');
    expect(
      learningCurveSvg([{ name: 'A', seeds: [{ seed: 1, points: [{ x: 10, y: null }] }] }], { title: 't' }),
    ).not.toMatch(/NaN/);
  });
});
