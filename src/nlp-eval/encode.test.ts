// _encode_pair as lm_eval/api/model.py does it, with BOS: on the micro model's tokenizer (a LLaMA-like
// SentencePiece BPE) for real requests, and on a toy tokenizer where each rule can be seen on its own.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LlmTokenizer } from '../llm/model/tokenizer';
import { encodePair, RequestTokenError, type PairTokenizer } from './encode';
import { pyCapitalize, pyLen, pyRstrip, pyStrip } from './python-str';
import { encodeQuestion, planRequests, perChoice } from './requests';
import type { Question } from './question';

let micro: LlmTokenizer;
beforeAll(async () => {
  micro = await LlmTokenizer.fromJSON(readFileSync(resolve(process.cwd(), 'public/models/micro/tokenizer.json')));
});

/** One token per character (its code), except that "ab" is one token (1000); BOS 0. */
const toy: PairTokenizer = {
  bosId: 0,
  encode: (text) => {
    const ids: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text.startsWith('ab', i)) {
        ids.push(1000);
        i++;
      } else ids.push(text.charCodeAt(i));
    }
    return ids;
  },
};
const codes = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('encodePair on the micro tokenizer', () => {
  it("a real PIQA request: BOS + context tokens, then the whole string's remaining tokens", () => {
    // Token ids read off the tokenizer's vocabulary: "▁" 259, "Q" 308, .. ":" 285; "▁r" 383 .. "▁" 259.
    const { contextIds, continuationIds, truncated } = encodePair(
      micro,
      'Question: dresser\nAnswer:',
      ' replace drawer with bobby pin ',
    );
    expect(contextIds).toEqual([
      1, 259, 308, 344, 328, 342, 343, 696, 285, 410, 341, 328, 342, 342, 328, 341, 13, 292, 337, 342, 346, 328, 341,
      285,
    ]);
    expect(continuationIds).toEqual([
      383, 328, 339, 335, 324, 326, 328, 410, 341, 324, 346, 328, 341, 463, 375, 325, 325, 348, 524, 337, 259,
    ]);
    expect(truncated).toBe(false);
  });

  it('trailing spaces of the context move to the continuation (else "Answer: " would end in a bare "▁")', () => {
    const moved = encodePair(micro, 'Answer: ', 'no');
    expect(moved).toEqual({ contextIds: [1, 521, 342, 346, 328, 341, 285], continuationIds: [396], truncated: false });
    expect(moved).toEqual(encodePair(micro, 'Answer:', ' no'));
    // Encoding the two strings apart would score the stray "▁" (259) as part of the context:
    expect(micro.encode('Answer: ')).toEqual([521, 342, 346, 328, 341, 285, 259]);
  });
});

describe('encodePair rules (toy tokenizer)', () => {
  it("the continuation is the whole string's tokens after as many as the context has, prefix or not", () => {
    // "xa" + "bc" is x, ab, c: the context's "a" merged with the continuation's "b"; the harness still
    // splits at the context's 2 tokens, scoring "c" only.
    expect(encodePair(toy, 'xa', 'bc')).toEqual({ contextIds: [0, 120, 97], continuationIds: [99], truncated: false });
    expect(() => encodePair(toy, 'xa', 'b')).toThrow(RequestTokenError);
    expect(() => encodePair(toy, 'xa', 'b')).toThrow(/the continuation "b" has no tokens after its context's/);
  });

  it("moves all of Python's trailing whitespace (newlines, NBSP), not U+FEFF", () => {
    expect(encodePair(toy, 'q:\n\u00a0', 'z')).toEqual({
      contextIds: [0, ...codes('q:')],
      continuationIds: codes('\n\u00a0z'),
      truncated: false,
    });
    expect(encodePair(toy, 'q\ufeff', 'z').contextIds).toEqual([0, ...codes('q\ufeff')]);
  });

  it('too long: context tokens dropped from the left (BOS first) until context + continuation = window + 1', () => {
    // Window 5: the harness feeds (ctx + cont)[-6:][:-1], 5 tokens; the context keeps 6 - 2 = 4 tokens.
    expect(encodePair(toy, 'cdefgh', 'ij', 5)).toEqual({
      contextIds: codes('efgh'),
      continuationIds: codes('ij'),
      truncated: true,
    });
    expect(encodePair(toy, 'cde', 'ij', 5)).toEqual({
      contextIds: [0, ...codes('cde')],
      continuationIds: codes('ij'),
      truncated: false,
    });
    expect(encodePair(toy, 'cdef', 'ij', 5).contextIds).toEqual(codes('cdef'));
    expect(() => encodePair(toy, 'c', 'ijklmn', 5)).toThrow(
      /the continuation is 6 tokens, longer than the model's context window of 5/,
    );
  });
});

describe('requests: one per distinct context, choices as its actions', () => {
  /** Question 7 of benchmark "t" with these (context, continuation) choices, encoded with the toy tokenizer. */
  const encoded = (choices: [string, string][], contextWindow?: number) => {
    const question: Question = {
      bench: 't',
      index: 7,
      gold: 0,
      choices: choices.map(([context, continuation]) => ({ text: continuation.trim(), context, continuation })),
    };
    return encodeQuestion(toy, question, contextWindow);
  };

  it('a standard question is one request, Winogrande-style contexts one each; results return per choice', () => {
    const standard = encoded([
      ['Q?', ' yes'],
      ['Q?', ' no'],
    ]);
    const partial = encoded([
      ['Sam', ' ran.'],
      ['Kim', ' ran.'],
    ]);
    const plan = planRequests([standard, partial]);
    expect(plan.requests).toEqual([
      { promptTokens: [0, ...codes('Q?')], actionTokens: [codes(' yes'), codes(' no')] },
      { promptTokens: [0, ...codes('Sam')], actionTokens: [codes(' ran.')] },
      { promptTokens: [0, ...codes('Kim')], actionTokens: [codes(' ran.')] },
    ]);
    expect(plan.owners).toEqual([
      [
        { question: 0, choice: 0 },
        { question: 0, choice: 1 },
      ],
      [{ question: 1, choice: 0 }],
      [{ question: 1, choice: 1 }],
    ]);
    expect(perChoice(plan, [['y', 'n'], ['s'], ['k']], 2)).toEqual([
      ['y', 'n'],
      ['s', 'k'],
    ]);
    expect(() => perChoice(plan, [['y'], ['s'], ['k']], 2)).toThrow(
      /scoring returned 1 actions for request 0, expected 2/,
    );
  });

  it('choices truncated differently get requests of their own', () => {
    const q = encoded(
      [
        ['abcdefgh', ' i'],
        ['abcdefgh', ' jklm'],
      ],
      8,
    );
    expect(q.choices.map((c) => c.contextIds)).toEqual([[1000, ...codes('cdefgh')], codes('efgh')]);
    expect(planRequests([q]).requests).toHaveLength(2);
  });

  it('errors name the benchmark, the question and the choice', () => {
    expect(() => encoded([['xa', 'b']])).toThrow(/^t question 7, choice 0: the continuation "b" has no tokens/);
  });
});

describe('Python string semantics', () => {
  it('len counts code points, strip uses str.isspace, capitalize lower-cases the rest', () => {
    expect(pyLen('a😀b')).toBe(3);
    expect('a😀b'.length).toBe(4);
    expect(pyStrip('\u3000\x1c a b\u2029\n')).toBe('a b');
    expect(pyRstrip('x\ufeff')).toBe('x\ufeff');
    expect(pyCapitalize('hELLO World')).toBe('Hello world');
    expect(pyCapitalize('')).toBe('');
  });
});
