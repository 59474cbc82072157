import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL } from './models';
import { DEFAULT_NORM, DEFAULT_SEED, DEFAULT_TASK, formatSetup, parseSetup } from './url';

const DEFAULTS = { taskId: DEFAULT_TASK, seed: DEFAULT_SEED, modelId: DEFAULT_MODEL, norm: DEFAULT_NORM };

describe('URL setup', () => {
  it('reads task, seed, model and normalization', () => {
    expect(parseSetup('?task=entertainment&seed=3')).toEqual({
      ...DEFAULTS,
      taskId: 'entertainment',
      seed: 3,
      problems: [],
    });
    expect(parseSetup('?task=pizza&seed=1&model=micro&norm=token')).toEqual({
      taskId: 'pizza',
      seed: 1,
      modelId: 'micro',
      norm: 'token',
      problems: [],
    });
  });

  it('defaults to tomato-salad, seed 0, the micro model and word normalization', () => {
    expect(parseSetup('')).toEqual({ ...DEFAULTS, problems: [] });
    expect(DEFAULT_TASK).toBe('tomato-salad');
    expect(DEFAULT_MODEL).toBe('micro');
    expect(DEFAULT_NORM).toBe('word');
  });

  it('falls back on an unknown task and says so', () => {
    const setup = parseSetup('?task=pasta&seed=2');
    expect(setup.taskId).toBe('tomato-salad');
    expect(setup.seed).toBe(2);
    expect(setup.problems).toHaveLength(1);
    expect(setup.problems[0]).toContain('"pasta"');
    expect(setup.problems[0]).toContain('entertainment');
  });

  it('falls back on an unknown model or normalization and says so', () => {
    const setup = parseSetup('?model=gpt-9&norm=median');
    expect(setup.modelId).toBe('micro');
    expect(setup.norm).toBe('word');
    expect(setup.problems).toHaveLength(2);
    expect(setup.problems[0]).toContain('"gpt-9"');
    expect(setup.problems[0]).toContain('micro');
    expect(setup.problems[1]).toContain('"median"');
    expect(setup.problems[1]).toContain('sum, token, word');
  });

  it('rejects seeds that are not non-negative integers', () => {
    for (const bad of ['-1', '1.5', 'abc', '', '1e400']) {
      const setup = parseSetup(`?seed=${bad}`);
      expect(setup.seed, bad).toBe(0);
      expect(setup.problems, bad).toHaveLength(1);
    }
  });

  it('formats a setup and keeps other parameters', () => {
    const setup = { taskId: 'pizza', seed: 7, modelId: 'micro', norm: 'sum' } as const;
    expect(formatSetup(setup)).toBe('?task=pizza&seed=7&model=micro&norm=sum');
    expect(formatSetup(setup, '?debug=1&task=cheese')).toBe('?debug=1&task=pizza&seed=7&model=micro&norm=sum');
    expect(parseSetup(formatSetup(setup))).toEqual({ ...setup, problems: [] });
  });
});
