import { describe, expect, it } from 'vitest';
import { OPTIMAL_PLANS } from '../envs/testing';
import { createEnv } from '../envs/registry';
import { countWords } from '../util/words';
import { evaluatePolicy, memoizedScorer, type BatchScorer } from './evaluate';
import type { TaskId } from '../envs/types';

/** A fixed policy that prefers the actions listed (by text), with made-up scores otherwise. */
function scorerPreferring(preferred: string[], calls: number[] = []): BatchScorer {
  return async (requests) => {
    calls.push(requests.length);
    return requests.map(({ actions }) => ({
      logprobs: actions.map((a) => (preferred.includes(a) ? -1 - preferred.indexOf(a) * 0.01 : -8 - (a.length % 5))),
      nTokens: actions.map(() => 2),
      nWords: actions.map(countWords),
    }));
  };
}

/** A scorer that knows a plan: replays it once to map each prompt on the way to the planned action text. */
function plannedScorer(task: TaskId, plan: string[]): BatchScorer {
  const env = createEnv(task);
  let obs = env.reset();
  const next = new Map<string, string>();
  for (const text of plan) {
    next.set(obs.prompt, text);
    env.step(obs.actions.indexOf(text));
    obs = env.observe();
  }
  return async (requests) =>
    requests.map(({ prompt, actions }) => ({
      logprobs: actions.map((a) => (a === next.get(prompt) ? -1 : -5)),
      nTokens: actions.map(() => 2),
      nWords: actions.map(countWords),
    }));
}

describe('evaluatePolicy', () => {
  it('greedy: success rate and mean logged return; every episode of a deterministic env is the same', async () => {
    const r = await evaluatePolicy('tomato-salad', plannedScorer('tomato-salad', OPTIMAL_PLANS['tomato-salad']), {
      episodes: 5,
      greedy: true,
    });
    expect(r).toMatchObject({ taskId: 'tomato-salad', episodes: 5, greedy: true, successRate: 1 });
    expect(r.meanReturn).toBeCloseTo(0.9205, 4);
    expect(r.meanLength).toBe(6);
    const food = await evaluatePolicy(
      'food-preparation',
      plannedScorer('food-preparation', OPTIMAL_PLANS['food-preparation']),
      {
        episodes: 2,
        greedy: true,
      },
    );
    expect(food.successRate).toBe(1);
    expect(food.meanReturn).toBeCloseTo(0.95 ** 5, 10);
    expect(r.outcomes.map((o) => o.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('stochastic: seeded, and crossovers are just another task', async () => {
    const scorer = scorerPreferring([]);
    const a = await evaluatePolicy('entertainment', scorer, { episodes: 6, seed: 4, parallel: 3 });
    const b = await evaluatePolicy('entertainment', scorer, { episodes: 6, seed: 4, parallel: 3 });
    expect(a).toEqual(b);
    expect(a.greedy).toBe(false);
    expect(a.outcomes.every((o) => o.length === 50 || o.success)).toBe(true);
    const unseen = await evaluatePolicy(
      'pizza',
      plannedScorer(
        'pizza',
        OPTIMAL_PLANS['food-preparation'].map((t) => t.replace('pancake', 'pizza')),
      ),
      { episodes: 2, greedy: true },
    );
    expect(unseen.successRate).toBe(1);
  });

  it('memoizes a fixed policy: each distinct (prompt, actions) is scored once, duplicates in a call are sent once', async () => {
    const calls: number[] = [];
    const base = scorerPreferring(['serve nothing'], calls);
    const scorer = memoizedScorer(base);
    const env = createEnv('tomato-salad');
    const obs = env.reset();
    const first = await scorer([obs, obs, obs]);
    expect(calls).toEqual([1]);
    expect(first[0]).toBe(first[2]);
    await scorer([obs]);
    expect(calls).toEqual([1]);
    // greedy evaluation of 8 identical episodes costs about one episode's distinct prompts
    calls.length = 0;
    const r = await evaluatePolicy('tomato-salad', base, { episodes: 8, greedy: true, parallel: 8 });
    expect(r.outcomes.every((o) => o.return === r.outcomes[0].return)).toBe(true);
    expect(calls.every((n) => n === 1)).toBe(true);
  });

  it('rejects a bad episode count and mismatched scorer output', async () => {
    await expect(evaluatePolicy('tomato-salad', scorerPreferring([]), { episodes: 0 })).rejects.toThrow(/episodes/);
    const none: BatchScorer = async (rs) => rs.map(() => ({ logprobs: [], nTokens: [], nWords: [] }));
    await expect(evaluatePolicy('tomato-salad', none, { episodes: 1 })).rejects.toThrow(/scores for 5 actions/);
  });
});
