// The evaluation runner on real questions with scorers whose results can be worked out by hand, and with the
// micro model's CPU reference as the scorer; and the CLI's JSON records.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { llamaForward, logSoftmax } from '../llm/reference/llama';
import { actionTokenLogprobs } from '../llm/reference/score';
import type { LlmTokenizer } from '../llm/model/tokenizer';
import type { LlamaWeights } from '../llm/model/weights';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { benchmark, loadBenchmark } from './benchmarks';
import { directoryDataSource } from './data-source-node';
import { encodePair, type PairTokenizer } from './encode';
import { evaluateQuestions, pairedScorer, summarize, type TokenLogprobScorer } from './evaluate';
import { questionRecord, summaryRecord } from './output';
import { NEEDS_DATA, NLP_EVAL_DATA } from './test-data';

/** One token per character; BOS 0. */
const chars: PairTokenizer = { bosId: 0, encode: (text) => [...text].map((c) => c.codePointAt(0)!) };

/** Every token's log-prob is `perToken(action index)`. */
const constantScorer =
  (perToken: (action: number) => number): TokenLogprobScorer =>
  async (requests) =>
    requests.map((r) => r.actionTokens.map((tokens, a) => Float32Array.from(tokens, () => perToken(a))));

describe.skipIf(!NLP_EVAL_DATA)(`evaluateQuestions on real questions${NEEDS_DATA}`, () => {
  it("ARC-Easy 0-3 with log-prob -1 per character: worked out by hand from the choices' lengths", async () => {
    const questions = await loadBenchmark(directoryDataSource(NLP_EVAL_DATA!), 'arc-easy', 4);
    // Choice lengths: [59, 54, 50, 43], [14, 14, 13, 10], [11, 10, 12, 11], [4, 4, 4, 4]; gold 0, 1, 3, 3.
    // ll = -(1 + L) (the space and each character), so pred = the shortest choice, and ll / L = -1 - 1 / L
    // makes pred_norm the longest (the first of equal ones).
    const progress: number[] = [];
    const results = await evaluateQuestions(
      questions,
      chars,
      { base: constantScorer(() => -1) },
      {
        contextWindow: 4096,
        questionsPerPass: 3,
        onProgress: (done) => progress.push(done),
      },
    );
    expect(progress).toEqual([3, 4]);
    expect(results.map((r) => r.nChars)).toEqual([
      [59, 54, 50, 43],
      [14, 14, 13, 10],
      [11, 10, 12, 11],
      [4, 4, 4, 4],
    ]);
    expect(results[0].base.logprobs).toEqual([-60, -55, -51, -44]);
    expect(results.map((r) => [r.base.pred, r.base.predNorm])).toEqual([
      [3, 0],
      [3, 0],
      [1, 2],
      [0, 0],
    ]);
    const summary = summarize('arc-easy', results, benchmark('arc-easy').metrics);
    expect(summary.model.acc.mean).toBe(0);
    // acc_norm: correct only on question 0 -> [1, 0, 0, 0]: 0.25 +- 0.25.
    expect(summary.model.accNorm!.mean).toBe(0.25);
    expect(summary.model.accNorm!.stderr).toBeCloseTo(0.25, 15);
    expect(summary.base).toBeNull();
    expect(summaryRecord(summary)).toEqual({
      bench: 'arc-easy',
      n: 4,
      acc: 0,
      accNorm: 0.25,
      baseAcc: null,
      baseAccNorm: null,
      meanKl: null,
    });
  });

  it('an adapter that favours the first choice: paired differences and the mean KL per scored token', async () => {
    const questions = await loadBenchmark(directoryDataSource(NLP_EVAL_DATA!), 'arc-easy', 4);
    const results = await evaluateQuestions(
      questions,
      chars,
      {
        paired: pairedScorer(
          constantScorer(() => -1),
          constantScorer((a) => (a === 0 ? -0.1 : -1)),
          constantScorer((a) => a), // KL = the choice's index at each of its tokens
        ),
      },
      { contextWindow: 4096 },
    );
    expect(results.map((r) => r.adapted!.pred)).toEqual([0, 0, 0, 0]);
    const s = summarize('arc-easy', results, benchmark('arc-easy').metrics);
    // Adapted acc [1, 0, 0, 0] vs base [0, 0, 0, 0]; acc_norm [1, 0, 0, 0] for both.
    expect([s.model.acc.mean, s.base!.acc.mean, s.difference!.acc.mean]).toEqual([0.25, 0, 0.25]);
    expect(s.difference!.acc.stderr).toBeCloseTo(0.25, 15);
    expect([s.difference!.accNorm!.mean, s.difference!.accNorm!.stderr]).toEqual([0, 0]);
    // Tokens per choice 1 + L; sum of index * tokens = 289 + 76 + 73 + 30 = 468 over 210 + 55 + 48 + 20 = 333.
    expect(s.meanKl).toBeCloseTo(468 / 333, 6);
    expect(summaryRecord(s)).toMatchObject({
      acc: 0.25,
      accNorm: 0.25,
      baseAcc: 0,
      baseAccNorm: 0.25,
      meanKl: s.meanKl,
    });
  });

  it('JSON records: the issue\'s fields; contexts per choice for WinoGrande; "base" beside the adapter', async () => {
    const source = directoryDataSource(NLP_EVAL_DATA!);
    const [arc] = await evaluateQuestions(
      await loadBenchmark(source, 'arc-easy', 1),
      chars,
      { base: constantScorer(() => -1) },
      { contextWindow: 4096 },
    );
    const record = questionRecord(arc);
    expect(Object.keys(record)).toEqual(['bench', 'index', 'gold', 'pred', 'predNorm', 'contextTokenIds', 'choices']);
    expect(record.contextTokenIds).toEqual([0, ...chars.encode(arc.question.choices[0].context)]);
    expect((record.choices as object[])[0]).toEqual({
      text: 'Sunlight is the source of energy for nearly all ecosystems.',
      tokenIds: chars.encode(' Sunlight is the source of energy for nearly all ecosystems.'),
      logprob: -60,
      nChars: 59,
    });
    const [wino] = await evaluateQuestions(
      await loadBenchmark(source, 'winogrande', 1),
      chars,
      { base: constantScorer(() => -1), adapted: constantScorer(() => -2) },
      { contextWindow: 4096 },
    );
    const w = questionRecord(wino) as { choices: Record<string, unknown>[]; base: Record<string, unknown> };
    expect(Object.keys(w)).toEqual(['bench', 'index', 'gold', 'pred', 'predNorm', 'choices', 'base']);
    expect(Object.keys(w.choices[1])).toEqual(['text', 'contextTokenIds', 'tokenIds', 'logprob', 'nChars']);
    expect(w.choices[1].contextTokenIds).toEqual([
      0,
      ...chars.encode('Sarah was a much better surgeon than Maria so Maria'),
    ]);
    expect(w.choices[1].tokenIds).toEqual(chars.encode(' always got the easier cases.'));
    expect(w.choices[1].logprob).toBe(-2 * 29);
    expect(Object.keys(w.base)).toEqual(['bench', 'index', 'gold', 'pred', 'predNorm', 'choices']);
    expect((w.base.choices as { logprob: number }[])[1].logprob).toBe(-29);
    // Two separate scorers give log-probs only: no KL between the models.
    expect(summarize('winogrande', [wino], benchmark('winogrande').metrics).meanKl).toBeNull();
  });
});

describe.skipIf(!NLP_EVAL_DATA)(`the micro model's CPU reference as the scorer${NEEDS_DATA}`, () => {
  let weights: LlamaWeights;
  let tokenizer: LlmTokenizer;
  beforeAll(async () => {
    ({ weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro')));
  });

  it("each choice's log-likelihood is log p(continuation | BOS + context) of its own full sequence", async () => {
    const source = directoryDataSource(NLP_EVAL_DATA!);
    const questions = [
      ...(await loadBenchmark(source, 'arc-easy', 1)),
      ...(await loadBenchmark(source, 'winogrande', 1)),
    ];
    const reference: TokenLogprobScorer = async (requests) =>
      requests.map((r) =>
        r.actionTokens.map((action) => Float32Array.from(actionTokenLogprobs(weights, r.promptTokens, action))),
      );
    const results = await evaluateQuestions(
      questions,
      tokenizer,
      { base: reference },
      { contextWindow: weights.config.contextWindow },
    );
    const V = weights.config.vocabSize;
    for (const r of results) {
      r.question.choices.forEach(({ context, continuation }, k) => {
        // The harness's way, written out: one sequence per request, sum of log-softmax at the continuation.
        const { contextIds, continuationIds } = encodePair(tokenizer, context, continuation);
        const sequence = [...contextIds, ...continuationIds];
        const logp = logSoftmax(llamaForward(weights, sequence).logits, sequence.length, V);
        let ll = 0;
        for (let j = contextIds.length; j < sequence.length; j++) ll += logp[(j - 1) * V + sequence[j]];
        expect(r.contextTokenIds[k]).toEqual(contextIds);
        expect(r.base.logprobs[k]).toBeCloseTo(ll, 4);
      });
    }
  });
});
