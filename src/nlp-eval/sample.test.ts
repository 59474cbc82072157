import { describe, expect, it } from 'vitest';
import { sampleQuestions } from './sample';

const items = Array.from({ length: 50 }, (_, i) => i);

describe('sampleQuestions', () => {
  it('draws `size` distinct questions in benchmark order, the same for the same seed', () => {
    const sample = sampleQuestions(items, 20, 7);
    expect(sample).toHaveLength(20);
    expect(new Set(sample).size).toBe(20);
    expect(sample).toEqual([...sample].sort((a, b) => a - b));
    expect(sampleQuestions(items, 20, 7)).toEqual(sample);
    // Not simply the first 20, and another seed draws others.
    expect(sample).not.toEqual(items.slice(0, 20));
    expect(sampleQuestions(items, 20, 8)).not.toEqual(sample);
  });

  it('takes every question uniformly: each index about equally often over many seeds', () => {
    const counts = new Array<number>(items.length).fill(0);
    const seeds = 2000;
    for (let seed = 0; seed < seeds; seed++) for (const i of sampleQuestions(items, 10, seed)) counts[i]++;
    // Expected 2000 * 10 / 50 = 400 per index; binomial sd = sqrt(2000 * 0.2 * 0.8) ~ 17.9: within 5 sd.
    for (const c of counts) expect(Math.abs(c - 400)).toBeLessThan(90);
  });

  it('the whole benchmark when the size is its length; a size it cannot fill or no size is an error', () => {
    expect(sampleQuestions(items, 50, 1)).toEqual(items);
    expect(() => sampleQuestions(items, 51, 1)).toThrow(
      'a sample of 51 questions needs at least 51; the benchmark has 50',
    );
    expect(() => sampleQuestions(items, 0, 1)).toThrow('a sample needs a whole number of questions, not 0');
    expect(() => sampleQuestions(items, 2.5, 1)).toThrow(RangeError);
  });
});
