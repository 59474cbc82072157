import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LlmTokenizer } from '../model/tokenizer';
import type { LlamaWeights } from '../model/weights';
import { loadLlamaModelAndTokenizer } from '../model/weights-node';
import { llamaForward, logSoftmax } from './llama';
import { scoreActions, scoreTokenSequences, softmax, type ScoreResult } from './score';

const MICRO = resolve(process.cwd(), 'public/models/micro');
const DATA = resolve(process.cwd(), '../shared/spec/data');

let weights: LlamaWeights;
let tokenizer: LlmTokenizer;
let overcooked: ScoreResult;
let prompt: string;
let actions: string[];

beforeAll(async () => {
  ({ weights, tokenizer } = await loadLlamaModelAndTokenizer(MICRO));
  const fixture = JSON.parse(readFileSync(resolve(DATA, 'overcooked-optimal.json'), 'utf8'));
  ({ prompt, actions } = fixture.tomato_lettuce_salad.optimal.initial);
  overcooked = scoreActions(weights, tokenizer, prompt, actions);
});

describe('scoreActions on the micro model', () => {
  it('scores every action: its tokens after prompt + " ", token and word counts', () => {
    expect(overcooked.promptIds).toEqual(tokenizer.encodePrompt(prompt));
    expect(overcooked.actions.map((a) => a.text)).toEqual(actions);
    for (const a of overcooked.actions) {
      expect(a.tokenIds).toEqual(tokenizer.encodeAction(prompt, a.text));
      expect(a.nTokens).toBe(a.tokenIds.length);
      expect(a.nWords).toBe(a.text.split(' ').length);
      expect(a.logprob).toBeLessThan(0);
      expect(a.logprob).toBeCloseTo(
        a.tokenLogprobs.reduce((s, v) => s + v, 0),
        10,
      );
    }
    // "pick up the tomato" is 5 tokens for 4 words, as with LLaMA
    expect(overcooked.actions[0]).toMatchObject({ text: 'pick up the tomato', nTokens: 5, nWords: 4 });
  });

  it("each log-prob is the sum of per-token log-probs read from the full sequence's logits", () => {
    const V = weights.config.vocabSize;
    for (const a of overcooked.actions.slice(0, 3)) {
      const sequence = [...overcooked.promptIds, ...a.tokenIds];
      const { logits } = llamaForward(weights, sequence);
      const logp = logSoftmax(logits, sequence.length, V);
      let sum = 0;
      for (let j = overcooked.promptIds.length; j < sequence.length; j++) sum += logp[(j - 1) * V + sequence[j]];
      expect(a.logprob).toBeCloseTo(sum, 4);
      // ... which is the log of the product of next-token probabilities
      const p = a.tokenIds.map((id, j) => {
        const row = Array.from(
          logits.subarray((overcooked.promptIds.length - 1 + j) * V, (overcooked.promptIds.length + j) * V),
        );
        return softmax(row)[id];
      });
      expect(a.logprob).toBeCloseTo(Math.log(p.reduce((x, y) => x * y, 1)), 4);
    }
  });

  it('the critic feature is the final-norm hidden state of the last prompt token', () => {
    const H = weights.config.hidden;
    const n = overcooked.promptIds.length;
    expect(overcooked.critic).toHaveLength(H);
    const { hidden } = llamaForward(weights, overcooked.promptIds);
    expect(Array.from(overcooked.critic)).toEqual(Array.from(hidden.subarray((n - 1) * H, n * H)));
    // the same row of a prompt + action sequence (causality)
    const joint = llamaForward(weights, [...overcooked.promptIds, ...overcooked.actions[0].tokenIds]);
    const row = joint.hidden.subarray((n - 1) * H, n * H);
    overcooked.critic.forEach((v, i) => expect(v).toBeCloseTo(row[i], 5));
  });

  it('scores a VirtualHome prompt too', () => {
    const food = JSON.parse(readFileSync(resolve(DATA, 'virtualhome-food-preparation-states.json'), 'utf8'));
    const state = food.states[food.initial_state];
    const result = scoreActions(weights, tokenizer, state.prompt, state.actions);
    expect(result.actions.map((a) => a.text)).toEqual(state.actions);
    expect(result.actions.every((a) => Number.isFinite(a.logprob) && a.logprob < 0)).toBe(true);
  });

  it('rejects empty inputs', () => {
    expect(() => scoreActions(weights, tokenizer, prompt, [])).toThrow(/no actions/);
    expect(() => scoreTokenSequences(weights, [1], [{ text: 'x', tokenIds: [] }])).toThrow(/at least one token/);
    expect(() => scoreTokenSequences(weights, [1], [{ text: '  ', tokenIds: [5] }])).toThrow(/has no words/);
  });
});
