import { describe, expect, it } from 'vitest';
import { DEFAULT_SEED, DEFAULT_TASK, formatSetup, parseSetup } from './url';

describe('URL setup', () => {
  it('reads task and seed', () => {
    expect(parseSetup('?task=entertainment&seed=3')).toEqual({ taskId: 'entertainment', seed: 3, problems: [] });
  });

  it('defaults to tomato-salad, seed 0', () => {
    expect(parseSetup('')).toEqual({ taskId: DEFAULT_TASK, seed: DEFAULT_SEED, problems: [] });
    expect(DEFAULT_TASK).toBe('tomato-salad');
  });

  it('falls back on an unknown task and says so', () => {
    const setup = parseSetup('?task=pasta&seed=2');
    expect(setup.taskId).toBe('tomato-salad');
    expect(setup.seed).toBe(2);
    expect(setup.problems).toHaveLength(1);
    expect(setup.problems[0]).toContain('"pasta"');
    expect(setup.problems[0]).toContain('entertainment');
  });

  it('rejects seeds that are not non-negative integers', () => {
    for (const bad of ['-1', '1.5', 'abc', '', '1e400']) {
      const setup = parseSetup(`?seed=${bad}`);
      expect(setup.seed, bad).toBe(0);
      expect(setup.problems, bad).toHaveLength(1);
    }
  });

  it('formats a setup and keeps other parameters', () => {
    expect(formatSetup({ taskId: 'pizza', seed: 7 })).toBe('?task=pizza&seed=7');
    expect(formatSetup({ taskId: 'pizza', seed: 7 }, '?debug=1&task=cheese')).toBe('?debug=1&task=pizza&seed=7');
  });
});
