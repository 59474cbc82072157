import { describe, expect, it } from 'vitest';
import { clipGradNorm, globalGradNorm } from './grad-norm';

describe('clipGradNorm', () => {
  it('scales all gradients together by max / (norm + 1e-6) when over the limit', () => {
    const g = [new Float32Array([3]), new Float32Array([0, 4])];
    const norm = clipGradNorm(g, 1);
    expect(norm).toBe(5);
    const c = 1 / (5 + 1e-6);
    expect(g[0][0]).toBeCloseTo(3 * c, 7);
    expect(g[1][1]).toBeCloseTo(4 * c, 7);
    expect(globalGradNorm(g)).toBeCloseTo(1, 5);
  });

  it('leaves gradients under the limit alone', () => {
    const g = [new Float32Array([0.03, 0.04])];
    expect(clipGradNorm(g, 0.5)).toBeCloseTo(0.05, 7);
    expect(Array.from(g[0])).toEqual([Math.fround(0.03), Math.fround(0.04)]);
  });
});
