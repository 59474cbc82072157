/**
 * The JSON lines of `twosome nlp-eval --json` (issue 15), one per question then one summary per benchmark:
 *   {"bench","index","gold","pred","predNorm","contextTokenIds","choices":[{"text","tokenIds","logprob","nChars"}]}
 *   {"bench","n","acc","accNorm","baseAcc","baseAccNorm","meanKl"}
 * - contextTokenIds: BOS + the context's tokens. Where the choices have different contexts (Winogrande, or a
 *   choice truncated to fit the context window) it is left out of the question and given in each choice instead.
 * - choices[k]: text = doc_to_choice's string (Winogrande: the choice's context), tokenIds = the continuation's
 *   tokens (the harness's " " + choice, or Winogrande's shared " " + target), logprob = their summed log-prob,
 *   nChars = the character length that normalizes acc_norm.
 * - pred / predNorm / logprob are the evaluated model's: the adapter's when there is one, with `"base"` holding
 *   the same fields (bench, index, gold, pred, predNorm, contextTokenIds, choices) for the base model.
 * - Summary: acc / accNorm of the evaluated model; accNorm is null for the benchmarks whose harness task does not
 *   report acc_norm (BoolQ, WinoGrande, SIQA, MMLU); baseAcc / baseAccNorm are the base model's, null without an
 *   adapter; meanKl = mean KL(base || adapted) of the next-token distributions over every scored token (each
 *   continuation token of each choice), computed on the GPU (LlamaEngine.forwardPairedTokenLogprobs); null
 *   without an adapter.
 */
import type { BenchSummary, EvaluatedQuestion, ModelScores } from './evaluate';

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function questionFields(r: EvaluatedQuestion, scores: ModelScores): Record<string, unknown> {
  const shared = r.contextTokenIds.every((ids) => sameIds(ids, r.contextTokenIds[0]));
  return {
    bench: r.question.bench,
    index: r.question.index,
    gold: r.question.gold,
    pred: scores.pred,
    predNorm: scores.predNorm,
    ...(shared ? { contextTokenIds: r.contextTokenIds[0] } : {}),
    choices: r.question.choices.map((c, k) => ({
      text: c.text,
      ...(shared ? {} : { contextTokenIds: r.contextTokenIds[k] }),
      tokenIds: r.continuationTokenIds[k],
      logprob: scores.logprobs[k],
      nChars: r.nChars[k],
    })),
  };
}

export function questionRecord(r: EvaluatedQuestion): Record<string, unknown> {
  if (!r.adapted) return questionFields(r, r.base);
  return { ...questionFields(r, r.adapted), base: questionFields(r, r.base) };
}

export function summaryRecord(s: BenchSummary): Record<string, unknown> {
  return {
    bench: s.bench,
    n: s.n,
    acc: s.model.acc.mean,
    accNorm: s.model.accNorm?.mean ?? null,
    baseAcc: s.base?.acc.mean ?? null,
    baseAccNorm: s.base?.accNorm?.mean ?? null,
    meanKl: s.meanKl,
  };
}
