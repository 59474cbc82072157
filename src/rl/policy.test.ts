import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { scoreActions } from '../llm/reference/score';
import { Rng } from '../util/rng';
import { argmax, categorical, sampleIndex } from './categorical';
import type { ActionScores } from '../llm/scores';
import {
  actionDistribution,
  dEntropyDScores,
  dLogProbDScores,
  greedyAction,
  logProbOf,
  normalizationDivisors,
  sampleAction,
  policies,
  scoreGradients,
  type Normalization,
} from './policy';

/** One action's score (S, n, W) as a row: how the tests write them. */
type Row = { logprob: number; nTokens: number; nWords: number };
const scoresOf = (rows: readonly Row[]): ActionScores => ({
  logprobs: rows.map((r) => r.logprob),
  nTokens: rows.map((r) => r.nTokens),
  nWords: rows.map((r) => r.nWords),
});

// Token/word counts of spec 1.1 (LLaMA tokenizer): pick up the tomato 5/4, take the bowl 4/3, serve nothing 2/2.
const ROWS: Row[] = [
  { logprob: -6.0, nTokens: 5, nWords: 4 },
  { logprob: -3.0, nTokens: 4, nWords: 3 },
  { logprob: -4.5, nTokens: 2, nWords: 2 },
];
const SCORES = scoresOf(ROWS);

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('normalization (spec 1.1 step 6)', () => {
  it('divides S_k by 1, n_k or W_k', () => {
    expect(Array.from(normalizationDivisors(SCORES, 'sum'))).toEqual([1, 1, 1]);
    expect(Array.from(normalizationDivisors(SCORES, 'token'))).toEqual([5, 4, 2]);
    expect(Array.from(normalizationDivisors(SCORES, 'word'))).toEqual([4, 3, 2]);
    expect(Array.from(actionDistribution(SCORES, 'sum').logits)).toEqual([-6, -3, -4.5]);
    expect(Array.from(actionDistribution(SCORES, 'token').logits)).toEqual([-1.2, -0.75, -2.25].map(Math.fround));
    expect(Array.from(actionDistribution(SCORES, 'word').logits)).toEqual([-1.5, -1, -2.25]);
  });

  it('gives softmax probabilities, log-probs and entropy (float32 storage)', () => {
    for (const mode of ['sum', 'token', 'word'] as Normalization[]) {
      const d = actionDistribution(SCORES, mode);
      const p = softmax(Array.from(d.logits));
      p.forEach((pk, k) => {
        expect(d.probs[k]).toBeCloseTo(pk, 6);
        expect(d.logProbs[k]).toBeCloseTo(Math.log(pk), 6);
        expect(logProbOf(d, k)).toBe(d.logProbs[k]);
      });
      expect(d.probs).toBeInstanceOf(Float32Array);
      expect(d.entropy).toBeCloseTo(-p.reduce((s, pk) => s + pk * Math.log(pk), 0), 6);
      expect(Math.fround(d.entropy)).toBe(d.entropy);
    }
  });

  it('word normalization equals P(a)^(1/W) renormalized', () => {
    const d = actionDistribution(SCORES, 'word');
    const w = ROWS.map((s) => Math.exp(s.logprob / s.nWords));
    const total = w.reduce((a, b) => a + b, 0);
    w.forEach((v, k) => expect(d.probs[k]).toBeCloseTo(v / total, 6));
  });

  it('recomputing from the same scores gives bit-identical log-probs (PPO ratio starts at 1)', () => {
    const a = actionDistribution(SCORES, 'word');
    const b = actionDistribution(scoresOf(ROWS.map((s) => ({ ...s }))), 'word');
    expect(Array.from(a.logProbs)).toEqual(Array.from(b.logProbs));
  });

  it('is stable for very negative scores', () => {
    const rows = [
      { logprob: -2000, nTokens: 3, nWords: 1 },
      { logprob: -2001, nTokens: 3, nWords: 1 },
    ];
    const d = actionDistribution(scoresOf(rows), 'sum');
    expect(d.probs[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it('rejects zero counts', () => {
    expect(() => actionDistribution(scoresOf([{ logprob: -1, nTokens: 0, nWords: 1 }]), 'token')).toThrow(/nTokens/);
    expect(() => actionDistribution(scoresOf([{ logprob: -1, nTokens: 1, nWords: 0 }]), 'word')).toThrow(/nWords/);
  });

  it('policies: the probabilities of every normalization, keyed sum, token, word', () => {
    const all = policies(SCORES);
    expect(Object.keys(all)).toEqual(['sum', 'token', 'word']);
    for (const mode of ['sum', 'token', 'word'] as Normalization[]) {
      expect(all[mode]).toEqual(Array.from(actionDistribution(SCORES, mode).probs));
    }
  });
});

describe('sampling and greedy', () => {
  it('samples with the right frequencies, reproducibly from the seed', () => {
    const d = categorical([Math.log(0.2), Math.log(0.5), Math.log(0.3)]);
    const counts = [0, 0, 0];
    const rng = new Rng(7);
    const first: number[] = [];
    for (let i = 0; i < 20000; i++) {
      const a = sampleAction(d, rng);
      counts[a]++;
      if (i < 50) first.push(a);
    }
    expect(counts[0] / 20000).toBeCloseTo(0.2, 1);
    expect(counts[1] / 20000).toBeCloseTo(0.5, 1);
    expect(counts[2] / 20000).toBeCloseTo(0.3, 1);
    const again = new Rng(7);
    expect(Array.from({ length: 50 }, () => sampleAction(d, again))).toEqual(first);
  });

  it('never samples a zero-probability index', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 1000; i++) expect(sampleIndex([0.5, 0.5, 0], rng)).not.toBe(2);
  });

  it('greedy takes the argmax, ties to the lowest index', () => {
    expect(argmax([0.1, 0.4, 0.4, 0.1])).toBe(1);
    expect(greedyAction(categorical([0, 0, 0]))).toBe(0);
    expect(greedyAction(actionDistribution(SCORES, 'sum'))).toBe(1);
    // Normalization changes the choice: the short action has the larger joint log-prob...
    const long = scoresOf([
      { logprob: -4, nTokens: 8, nWords: 4 },
      { logprob: -3, nTokens: 2, nWords: 2 },
    ]);
    expect(greedyAction(actionDistribution(long, 'sum'))).toBe(1);
    // ...while a long action with a higher per-token log-prob wins under token normalization.
    expect(greedyAction(actionDistribution(long, 'token'))).toBe(0);
  });
});

describe('gradients w.r.t. the summed scores S_k (finite differences)', () => {
  const h = 1e-5;
  function logpAndEntropy(scores: Row[], mode: Normalization, action: number): [number, number] {
    // float64 reference (the float32 stored values would swamp a finite difference)
    const z = scores.map((s) => s.logprob / normalizationDivisors(scoresOf([s]), mode)[0]);
    const p = softmax(z);
    return [Math.log(p[action]), -p.reduce((a, pk) => a + pk * Math.log(pk), 0)];
  }

  for (const mode of ['sum', 'token', 'word'] as Normalization[]) {
    it(`matches for ${mode} normalization`, () => {
      const rng = new Rng(3);
      for (let trial = 0; trial < 5; trial++) {
        const scores = Array.from({ length: 4 }, () => ({
          logprob: -1 - 8 * rng.next(),
          nTokens: 1 + rng.int(9),
          nWords: 1 + rng.int(6),
        }));
        const action = rng.int(4);
        const d = actionDistribution(scoresOf(scores), mode);
        const gLogp = dLogProbDScores(d, action);
        const gEnt = dEntropyDScores(d);
        const a = 0.7;
        const b = -0.3;
        const combined = scoreGradients(d, action, a, b);
        for (let k = 0; k < scores.length; k++) {
          const plus = scores.map((s, j) => (j === k ? { ...s, logprob: s.logprob + h } : s));
          const minus = scores.map((s, j) => (j === k ? { ...s, logprob: s.logprob - h } : s));
          const [lp1, e1] = logpAndEntropy(plus, mode, action);
          const [lp0, e0] = logpAndEntropy(minus, mode, action);
          expect(gLogp[k]).toBeCloseTo((lp1 - lp0) / (2 * h), 5);
          expect(gEnt[k]).toBeCloseTo((e1 - e0) / (2 * h), 5);
          expect(combined[k]).toBeCloseTo(a * gLogp[k] + b * gEnt[k], 9);
        }
      }
    });
  }
});

describe("the three policies of the micro model's scores (CPU reference, spec 1.1)", () => {
  const DATA = resolve(process.cwd(), '../shared/spec/data');
  async function scored(): Promise<{ rows: Row[]; scores: ActionScores }> {
    const { weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
    const fixture = JSON.parse(readFileSync(resolve(DATA, 'overcooked-optimal.json'), 'utf8'));
    const { prompt, actions } = fixture.tomato_lettuce_salad.optimal.initial;
    const rows = scoreActions(weights, tokenizer, prompt, actions).actions;
    return { rows, scores: scoresOf(rows) };
  }

  it('are distributions, softmax of S, S / tokens and S / words', async () => {
    const { rows, scores } = await scored();
    for (const mode of ['sum', 'token', 'word'] as Normalization[]) {
      const d = actionDistribution(scores, mode);
      expect(d.probs).toHaveLength(rows.length);
      expect(d.probs.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
      d.probs.forEach((v) => expect(v).toBeGreaterThan(0));
      // log(pi_1 / pi_0) = z_1 - z_0, in float32
      expect(d.logProbs[1] - d.logProbs[0]).toBeCloseTo(d.logits[1] - d.logits[0], 5);
    }
    expect(actionDistribution(scores, 'token').logits[0]).toBeCloseTo(rows[0].logprob / 5, 5);
    expect(actionDistribution(scores, 'word').logits[0]).toBeCloseTo(rows[0].logprob / 4, 5);
  });

  it('token and word normalizations differ where token and word counts differ', async () => {
    const { rows, scores } = await scored();
    expect(rows.filter((a) => a.nTokens !== a.nWords).length).toBeGreaterThan(0);
    expect(policies(scores).token).not.toEqual(policies(scores).word);
    // With equal counts for every action, the two would coincide:
    const same = scoresOf(rows.map((a) => ({ ...a, nTokens: a.nWords })));
    expect(policies(same).token).toEqual(policies(same).word);
    // Normalizing by length shrinks the spread of the sum policy (longer actions are no longer penalized as much).
    const spread = (z: Float32Array) => Math.max(...z) - Math.min(...z);
    const logits = (mode: Normalization) => actionDistribution(scores, mode).logits;
    expect(spread(logits('word'))).toBeLessThan(spread(logits('sum')));
  });
});
