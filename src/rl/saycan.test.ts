import { describe, expect, it } from 'vitest';
import { OPTIMAL_PLANS } from '../envs/testing';
import { createEnv } from '../envs/registry';
import { Rng } from '../util/rng';
import type { ActionScores } from '../llm/scores';
import { countWords } from './policy';
import { evaluateSayCan, runSayCanEpisode, SayCanPolicy, type ActionScorer } from './saycan';

/** A fake LLM: per-word log-prob -1 for preferred texts, -3 otherwise; one token per word plus one. */
function fakeScorer(
  prefer: (prompt: string, action: string, call: number) => boolean,
): ActionScorer & { calls: number } {
  const s = {
    calls: 0,
    score(prompt: string, actions: readonly string[]): ActionScores {
      const call = s.calls++;
      const words = actions.map(countWords);
      const logprobs = actions.map((a, k) => (prefer(prompt, a, call) ? -1 : -3) * words[k]);
      return { logprobs, nTokens: words.map((w) => w + 1), nWords: words };
    },
  };
  return s;
}

describe('SayCan', () => {
  it('acts greedily on the scores and completes the task when the scorer knows the plan', async () => {
    const scorer = fakeScorer((_p, a, call) => a === OPTIMAL_PLANS['tomato-salad'][call]);
    const ep = await runSayCanEpisode(createEnv('tomato-salad'), new SayCanPolicy(scorer));
    expect(ep.actions).toEqual(OPTIMAL_PLANS['tomato-salad']);
    expect(ep.success).toBe(true);
    expect(ep.return).toBeCloseTo(0.9205, 4);
  });

  it('uses the normalization: word (default) vs sum pick different actions', async () => {
    // 'serve nothing' (2 words, -2.2 each = -4.4) vs 'walk to the cutting board' (5 words, -1 each = -5)
    const scorer: ActionScorer = {
      score: (_p, actions) => ({
        logprobs: actions.map((a) => (a === 'serve nothing' ? -4.4 : a === 'walk to the cutting board' ? -5 : -50)),
        nTokens: actions.map(() => 4),
        nWords: actions.map(countWords),
      }),
    };
    const obs = createEnv('tomato-salad').reset();
    const word = await new SayCanPolicy(scorer).act(obs);
    const sum = await new SayCanPolicy(scorer, { normalization: 'sum' }).act(obs);
    expect(obs.actions[word.action]).toBe('walk to the cutting board');
    expect(obs.actions[sum.action]).toBe('serve nothing');
  });

  it('is deterministic without training, and accepts an async scorer', async () => {
    const sync = fakeScorer((p, a) => (p.length + a.length) % 3 === 0);
    const asyncScorer: ActionScorer = {
      score: async (p, a) => fakeScorer((pp, aa) => (pp.length + aa.length) % 3 === 0).score(p, a),
    };
    const a = await evaluateSayCan(createEnv('food-preparation'), new SayCanPolicy(sync), 3);
    const b = await evaluateSayCan(createEnv('food-preparation'), new SayCanPolicy(asyncScorer), 3);
    expect(b).toEqual(a);
    expect(a.episodes).toBe(3);
    expect(a.meanLength).toBeGreaterThan(0);
  });

  it('can sample instead (seeded) and checks the scorer output', async () => {
    const scorer = fakeScorer(() => true);
    const obs = createEnv('tomato-salad').reset();
    const p1 = new SayCanPolicy(scorer, { greedy: false, rng: new Rng(1) });
    const p2 = new SayCanPolicy(scorer, { greedy: false, rng: new Rng(1) });
    const seq1 = [];
    const seq2 = [];
    for (let i = 0; i < 20; i++) {
      seq1.push((await p1.act(obs)).action);
      seq2.push((await p2.act(obs)).action);
    }
    expect(seq2).toEqual(seq1);
    expect(new Set(seq1).size).toBeGreaterThan(1);
    expect(() => new SayCanPolicy(scorer, { greedy: false })).toThrow(/rng/);
    const bad: ActionScorer = { score: () => ({ logprobs: [-1], nTokens: [1], nWords: [1] }) };
    await expect(new SayCanPolicy(bad).act(obs)).rejects.toThrow(/1 scores for 5 actions/);
  });
});
