// The capability check's scoring on the WebGPU engine (Dawn), micro model, real questions: per-choice
// log-likelihoods equal the CPU reference (one full sequence per choice, src/llm/reference/) within 1e-4, the
// shared-context pass equals one sequence per choice, and so with a LoRA adapter on; meanKl is 0 for a fresh
// adapter and the CPU reference's for a trained one.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { destroyLora, uploadLora } from '../llm/train/gpu-lora';
import { scoreWithLora } from '../llm/reference/backward';
import { actionTokenKl } from '../llm/reference/kl-rows';
import { initLoraAdapter, type LoraConfig } from '../llm/train/lora';
import { Rng } from '../util/rng';
import { llamaForward, logSoftmax } from '../llm/reference/llama';
import type { LlamaWeights } from '../llm/model/weights';
import { directoryDataSource } from './data-source-node';
import { benchmark, loadBenchmark } from './benchmarks';
import { enginePairedScorer, engineScorer } from './engine-scorer';
import { evaluateQuestions, summarize, type EvaluatedQuestion } from './evaluate';
import { meanTokenKl } from './metrics';
import { encodeQuestion } from './requests';
import type { Question } from './question';
import { MICRO, trainedAdapter } from '../share/testing';
import { directorySource, loadLlamaModelFromDir } from '../llm/model/weights-node';
import { NEEDS_DATA, NLP_EVAL_DATA } from './test-data';

const MICRO_DIR = resolve(process.cwd(), 'public/models/micro');
const TOLERANCE = 1e-4;

let gpu: GpuContext;
let engine: LlamaEngine;
let weights: LlamaWeights;
let questions: Question[];

/** A few real questions of every kind of request: shared context, per-choice contexts, truncated contexts. */
async function sampleQuestions(): Promise<Question[]> {
  const source = directoryDataSource(NLP_EVAL_DATA!);
  const take = async (id: string, n: number) => loadBenchmark(source, id, n);
  // The first BoolQ question whose passage, in the micro model's byte-heavy tokens, overflows its 1024-token
  // window, so that its choices are truncated (and scored as separate requests).
  const boolq = (await take('boolq', 300)).find((q) =>
    encodeQuestion(engine.tokenizer, q, engine.config.contextWindow).choices.some((c) => c.truncated),
  );
  expect(boolq).toBeDefined();
  return [
    ...(await take('arc-easy', 2)),
    ...(await take('piqa', 1)),
    ...(await take('winogrande', 2)),
    ...(await take('siqa', 1)),
    ...(await take('mmlu-computer_security', 2)),
    boolq!,
  ];
}

beforeAll(async () => {
  if (!NLP_EVAL_DATA) return;
  gpu = await requestNodeGpuContext();
  engine = await LlamaEngine.load(gpu, directorySource(MICRO_DIR));
  weights = (await loadLlamaModelFromDir(MICRO_DIR)).weights;
  questions = await sampleQuestions();
});
afterAll(() => {
  engine?.dispose();
  gpu?.device.destroy();
});

/**
 * The harness's log-likelihood on the CPU reference: the model reads (context + continuation)[:-1] (at most the
 * context window: a truncated question fills it exactly) and the continuation's tokens are read from its last
 * len(continuation) rows' log-softmax (HFLM._loglikelihood_tokens).
 */
function harnessLoglikelihood(contextIds: readonly number[], continuationIds: readonly number[]): number {
  const input = [...contextIds, ...continuationIds].slice(0, -1);
  const first = contextIds.length - 1;
  const V = weights.config.vocabSize;
  const { logits } = llamaForward(weights, input, { skipLogitsBefore: first });
  const rows = input.length - first;
  const logp = logSoftmax(logits.subarray(first * V, input.length * V), rows, V);
  return continuationIds.reduce((sum, id, j) => sum + logp[j * V + id], 0);
}

/** The largest |log-likelihood - expected(question i, choice k)| over every choice, for the base or adapted model. */
function worstDifference(
  results: readonly EvaluatedQuestion[],
  expected: (r: EvaluatedQuestion, i: number, k: number) => number,
  which: 'base' | 'adapted' = 'base',
): number {
  let worst = 0;
  results.forEach((r, i) =>
    r[which]!.logprobs.forEach((lp, k) => (worst = Math.max(worst, Math.abs(lp - expected(r, i, k))))),
  );
  return worst;
}

describe.skipIf(!NLP_EVAL_DATA)(`nlp-eval on the WebGPU engine (micro model)${NEEDS_DATA}`, () => {
  it('per-choice log-likelihoods equal the CPU reference within 1e-4, all questions in one call', async () => {
    const options = { contextWindow: engine.config.contextWindow, questionsPerPass: questions.length };
    const results = await evaluateQuestions(questions, engine.tokenizer, { base: engineScorer(engine) }, options);
    const truncated = results.filter((r) => r.contextTokenIds.some((ids) => ids[0] !== engine.tokenizer.bosId));
    expect(truncated.map((r) => r.question.bench)).toEqual(['boolq']);
    // The harness's truncation: the model reads exactly its context window (the last token only as a target).
    const [long] = truncated;
    long.contextTokenIds.forEach((ids, k) =>
      expect(ids.length + long.continuationTokenIds[k].length - 1).toBe(engine.config.contextWindow),
    );
    const reference = (r: EvaluatedQuestion, _: number, k: number) =>
      harnessLoglikelihood(r.contextTokenIds[k], r.continuationTokenIds[k]);
    expect(worstDifference(results, reference)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('the shared-context pass equals one sequence per choice (engine, separate layout)', async () => {
    const options = { contextWindow: engine.config.contextWindow, questionsPerPass: 4 };
    const shared = await evaluateQuestions(questions, engine.tokenizer, { base: engineScorer(engine) }, options);
    const separate = await evaluateQuestions(
      questions,
      engine.tokenizer,
      { base: engineScorer(engine, null, 'separate') },
      options,
    );
    expect(worstDifference(shared, (_, i, k) => separate[i].base.logprobs[k])).toBeLessThanOrEqual(TOLERANCE);
    shared.forEach((r, i) => expect(r.base.pred).toBe(separate[i].base.pred));
  });

  it("with a LoRA adapter: the adapted model's log-likelihoods equal the CPU reference with that adapter", async () => {
    const adapter = trainedAdapter(MICRO, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, 3, 0.5);
    const lora = uploadLora(gpu.device, adapter);
    try {
      const some = questions.slice(0, 5);
      const options = { contextWindow: engine.config.contextWindow };
      const results = await evaluateQuestions(
        some,
        engine.tokenizer,
        { base: engineScorer(engine), adapted: engineScorer(engine, lora) },
        options,
      );
      const reference = (r: EvaluatedQuestion, _: number, k: number) =>
        scoreWithLora(weights, adapter, [{ promptIds: r.contextTokenIds[k], actions: [r.continuationTokenIds[k]] }], {
          precision: 'float32',
        }).logprobs[0][0];
      expect(worstDifference(results, reference, 'adapted')).toBeLessThanOrEqual(TOLERANCE);
      // The adapter moves the scores: the comparison above is not the base model's.
      expect(worstDifference(results, (r, _, k) => r.base.logprobs[k], 'adapted')).toBeGreaterThan(1e-3);
    } finally {
      destroyLora(lora);
    }
  });

  it("meanKl: 0 for a fresh adapter (B = 0), the CPU reference's mean for a trained one", async () => {
    const some = questions.slice(0, 5);
    const options = { contextWindow: engine.config.contextWindow };
    const config: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] };
    const fresh = initLoraAdapter(MICRO, config, new Rng(5));
    const trained = trainedAdapter(MICRO, config, 3, 0.5);
    const meanKl = async (adapter: typeof fresh) => {
      const lora = uploadLora(gpu.device, adapter);
      try {
        const paired = { paired: enginePairedScorer(engine, lora) };
        const results = await evaluateQuestions(some, engine.tokenizer, paired, options);
        // One summary over the mixed benchmarks: meanKl does not depend on the metrics.
        return { results, meanKl: summarize('mixed', results, benchmark('arc-easy').metrics).meanKl };
      } finally {
        destroyLora(lora);
      }
    };
    const zero = await meanKl(fresh);
    expect(zero.meanKl).not.toBeNull();
    expect(Math.abs(zero.meanKl!)).toBeLessThanOrEqual(1e-6);
    const moved = await meanKl(trained);
    // The reference: both models' full logits at every continuation token of every choice, KL in float64.
    const reference = meanTokenKl(
      moved.results.map((r) =>
        r.continuationTokenIds.map((ids, k) =>
          actionTokenKl(weights, trained, r.contextTokenIds[k], ids, { precision: 'float32' }),
        ),
      ),
    )!;
    expect(reference).toBeGreaterThan(1e-3);
    // Each token's KL is within 1e-4 relative of the reference's (llm/engine/kl-pass.gpu.test.ts says why), so
    // their mean is too.
    expect(Math.abs(moved.meanKl! - reference) / reference).toBeLessThanOrEqual(1e-4);
    // The paired scorer's log-probs are the adapted model's (the reference's of the test above).
    moved.results.forEach((r) => expect(r.adapted!.logprobs).not.toEqual(r.base.logprobs));
  });
});
