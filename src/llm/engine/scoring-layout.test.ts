import { describe, expect, it } from 'vitest';
import { planScoring } from './scoring-layout';

const request = { promptTokens: [1, 10, 11], actionTokens: [[20, 21], [30]] };

describe('planScoring', () => {
  it('shared: the prompt once, each action attends to the prompt and its own earlier tokens', () => {
    const plan = planScoring([request], 'shared');
    expect([...plan.tokens]).toEqual([1, 10, 11, 20, 21, 30]);
    expect([...plan.positions]).toEqual([0, 1, 2, 3, 4, 3]);
    expect([...plan.segments]).toEqual([0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3, 3, 1, 0, 3, 3, 2, 0, 3, 5, 1]);
    // Token 20 is predicted by the last prompt row (2), 21 by row 3 (token 20), 30 by row 2.
    expect([...plan.logitRows]).toEqual([2, 3, 2]);
    expect([...plan.targets]).toEqual([20, 21, 30]);
    expect(plan.actionLogitRanges).toEqual([
      [
        { first: 0, count: 2 },
        { first: 2, count: 1 },
      ],
    ]);
    expect([...plan.lastPromptRows]).toEqual([2]);
  });

  it('separate: every prompt + action is its own causal sequence', () => {
    const plan = planScoring([request], 'separate');
    expect([...plan.tokens]).toEqual([1, 10, 11, 20, 21, 1, 10, 11, 30]);
    expect([...plan.positions]).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3]);
    expect([...plan.segments.slice(3 * 4, 5 * 4)]).toEqual([0, 4, 0, 0, 0, 5, 0, 0]);
    expect([...plan.segments.slice(8 * 4)]).toEqual([5, 4, 0, 0]);
    expect([...plan.logitRows]).toEqual([2, 3, 7]);
    expect([...plan.lastPromptRows]).toEqual([2]);
  });

  it('lays several prompts (parallel envs) one after another', () => {
    const plan = planScoring([request, { promptTokens: [1, 12], actionTokens: [[40, 41, 42]] }]);
    expect(plan.tokens.length).toBe(6 + 5);
    expect([...plan.lastPromptRows]).toEqual([2, 7]);
    expect([...plan.logitRows.slice(3)]).toEqual([7, 8, 9]);
    expect(plan.actionLogitRanges[1]).toEqual([{ first: 3, count: 3 }]);
  });

  it('rejects empty prompts and actions', () => {
    expect(() => planScoring([{ promptTokens: [], actionTokens: [[1]] }])).toThrow(/prompt/);
    expect(() => planScoring([{ promptTokens: [1], actionTokens: [[]] }])).toThrow(/action/);
  });
});
