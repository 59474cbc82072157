/**
 * Runs questions through a scorer, base model and adapter in the same run, and puts the results together per
 * question (pred, pred_norm, per-choice log-probs) and per benchmark (acc, acc_norm with stderr and 95%
 * intervals, paired adapter - base differences, mean KL).
 *
 * The scorer is the model: for scoring requests (requests.ts) it returns, per request and action, the log-prob of
 * each continuation token. engine-scorer.ts makes one of LlamaEngine.forwardTokenLogprobs (WebGPU, with or
 * without a LoRA adapter), and a paired one, base and adapter in one call with the KL between them, of
 * LlamaEngine.forwardPairedTokenLogprobs; the tests also make them of the CPU reference. Questions go
 * `questionsPerPass` at a time into one call; the engine splits a call that exceeds the GPU's limits into passes
 * itself.
 */
import type { ScoringRequest } from '../llm/engine/scoring-layout';
import type { Metric } from './benchmarks';
import type { PairTokenizer } from './encode';
import { correct, estimate, meanTokenKl, pairedDifference, predictions, type Estimate } from './metrics';
import { pyLen } from './python-str';
import type { Question } from './question';
import { encodeQuestion, perChoice, planRequests } from './requests';

/** Per request, per action: the log-prob of each of the action's (continuation's) tokens. */
export type TokenLogprobScorer = (requests: readonly ScoringRequest[]) => Promise<Float32Array[][]>;

/** Per request, per action, both models at once: each token's log-prob, and KL(base || adapted) at it. */
export interface PairedTokenScores {
  base: Float32Array[][];
  adapted: Float32Array[][];
  /**
   * KL(base || adapted) between the two models' next-token distributions at each logit row of the action (the
   * rows its token log-probs are read from), the same shape as the log-probs.
   */
  kl: Float32Array[][];
}

/**
 * The base model and the adapter scored in one call, with the per-token KL: engine-scorer.ts makes one of
 * LlamaEngine.forwardPairedTokenLogprobs (the KL computed on the GPU, where both models' logits are).
 */
export type PairedScorer = (requests: readonly ScoringRequest[]) => Promise<PairedTokenScores>;

/**
 * The model: the base model alone, or beside an adapter (`adapted`: log-probs only, meanKl null), or both models
 * with the KL between them (`paired`).
 */
export type Scorers = { base: TokenLogprobScorer; adapted?: TokenLogprobScorer } | { paired: PairedScorer };

/** A PairedScorer of three separate scorers (the CPU reference's, tests'): the KL's takes the place of log-probs. */
export function pairedScorer(
  base: TokenLogprobScorer,
  adapted: TokenLogprobScorer,
  tokenKl: TokenLogprobScorer,
): PairedScorer {
  return async (requests) => ({
    base: await base(requests),
    adapted: await adapted(requests),
    kl: await tokenKl(requests),
  });
}

/** One model's scores of a question. */
export interface ModelScores {
  /** Per choice, each continuation token's log-prob. */
  tokenLogprobs: Float32Array[];
  /** Per choice, the sum: the harness's log-likelihood. */
  logprobs: number[];
  pred: number;
  predNorm: number;
}

export interface EvaluatedQuestion {
  question: Question;
  /** Per choice, the tokens scored: context (BOS first unless truncated) and continuation. */
  contextTokenIds: number[][];
  continuationTokenIds: number[][];
  /** Per choice, the character length that normalizes acc_norm. */
  nChars: number[];
  base: ModelScores;
  adapted: ModelScores | null;
  /** Per choice, KL(base || adapted) per continuation token; null without a paired scorer. */
  tokenKl: Float32Array[] | null;
}

export interface EvaluateOptions {
  /** The model's context window: longer requests are truncated from the left as the harness does. */
  contextWindow: number;
  /** Questions per scorer call (default 8). */
  questionsPerPass?: number;
  /** After each call: questions done, of all, and the call's results (to stream them out). */
  onProgress?: (done: number, total: number, batch: readonly EvaluatedQuestion[]) => void;
  signal?: AbortSignal;
}

function modelScores(tokenLogprobs: Float32Array[], question: Question): ModelScores {
  const logprobs = tokenLogprobs.map((lps) => lps.reduce((a, b) => a + b, 0));
  const texts = question.choices.map((c) => c.text);
  return { tokenLogprobs, logprobs, ...predictions(logprobs, texts) };
}

export async function evaluateQuestions(
  questions: readonly Question[],
  tokenizer: PairTokenizer,
  scorers: Scorers,
  options: EvaluateOptions,
): Promise<EvaluatedQuestion[]> {
  const perPass = Math.max(1, options.questionsPerPass ?? 8);
  const { contextWindow } = options;
  const results: EvaluatedQuestion[] = [];
  for (let start = 0; start < questions.length; start += perPass) {
    options.signal?.throwIfAborted();
    const batch = questions.slice(start, start + perPass).map((q) => encodeQuestion(tokenizer, q, contextWindow));
    const plan = planRequests(batch);
    const regroup = (values: Float32Array[][]) => perChoice(plan, values, batch.length);
    let base: Float32Array[][];
    let adapted: Float32Array[][] | null = null;
    let kl: Float32Array[][] | null = null;
    if ('paired' in scorers) {
      const paired = await scorers.paired(plan.requests);
      [base, adapted, kl] = [regroup(paired.base), regroup(paired.adapted), regroup(paired.kl)];
    } else {
      base = regroup(await scorers.base(plan.requests));
      if (scorers.adapted) adapted = regroup(await scorers.adapted(plan.requests));
    }
    const evaluated = batch.map(({ question, choices }, q): EvaluatedQuestion => ({
      question,
      contextTokenIds: choices.map((c) => c.contextIds),
      continuationTokenIds: choices.map((c) => c.continuationIds),
      nChars: question.choices.map((c) => pyLen(c.text)),
      base: modelScores(base[q], question),
      adapted: adapted ? modelScores(adapted[q], question) : null,
      tokenKl: kl ? kl[q] : null,
    }));
    results.push(...evaluated);
    options.onProgress?.(results.length, questions.length, evaluated);
  }
  return results;
}

/** One model's accuracy on a benchmark. */
export interface Accuracy {
  acc: Estimate;
  /** Null where the harness's task does not report acc_norm. */
  accNorm: Estimate | null;
}

export interface BenchSummary {
  bench: string;
  n: number;
  /** The model evaluated: the adapter when there is one, else the base model. */
  model: Accuracy;
  /** The base model, when an adapter was evaluated beside it. */
  base: Accuracy | null;
  /** Adapted - base, paired per question; null without an adapter. */
  difference: Accuracy | null;
  /** Mean KL(base || adapted) over the scored tokens; null without an adapter or KL values (a paired scorer's). */
  meanKl: number | null;
}

/** Per question, 1 where correct: acc, and acc_norm where the task reports it. */
interface Correctness {
  acc: number[];
  accNorm: number[] | null;
}

function correctness(
  results: readonly EvaluatedQuestion[],
  which: 'base' | 'adapted',
  metrics: readonly Metric[],
): Correctness {
  const scores = results.map((r) => (which === 'base' ? r.base : r.adapted!));
  return {
    acc: scores.map((s, i) => correct(s.pred, results[i].question.gold)),
    accNorm: metrics.includes('acc_norm') ? scores.map((s, i) => correct(s.predNorm, results[i].question.gold)) : null,
  };
}

function toAccuracy(c: Correctness): Accuracy {
  return { acc: estimate(c.acc), accNorm: c.accNorm ? estimate(c.accNorm) : null };
}

export function summarize(
  bench: string,
  results: readonly EvaluatedQuestion[],
  metrics: readonly Metric[],
): BenchSummary {
  if (results.length === 0) throw new RangeError(`${bench}: no questions to summarize`);
  const n = results.length;
  const base = correctness(results, 'base', metrics);
  if (results[0].adapted === null) {
    return { bench, n, model: toAccuracy(base), base: null, difference: null, meanKl: null };
  }
  const adapted = correctness(results, 'adapted', metrics);
  const kl = results.every((r) => r.tokenKl !== null) ? meanTokenKl(results.map((r) => r.tokenKl!)) : null;
  return {
    bench,
    n,
    model: toAccuracy(adapted),
    base: toAccuracy(base),
    difference: {
      acc: pairedDifference(base.acc, adapted.acc),
      accNorm: base.accNorm && adapted.accNorm ? pairedDifference(base.accNorm, adapted.accNorm) : null,
    },
    meanKl: kl,
  };
}
