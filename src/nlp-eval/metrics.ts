/**
 * The harness's multiple-choice metrics and their uncertainty.
 *
 * Per question (ConfigurableTask.process_results, lm_eval/api/task.py, output_type multiple_choice):
 *   completion_len = [float(len(i)) for i in choices]      character (code point) length of doc_to_choice
 *   pred = argmax(lls); pred_norm = argmax(lls / completion_len)
 *   acc = 1.0 if pred == gold; acc_norm = 1.0 if pred_norm == gold
 * `lls` are the summed log-probs of the continuations. np.argmax takes the first of equal maxima; so do we.
 *
 * Per benchmark: acc and acc_norm aggregate by `mean`, and their standard error is the harness's `mean_stderr`
 * (lm_eval/api/metrics.py): sample_stddev(arr) / sqrt(len(arr)), sample_stddev dividing by n - 1. The 95%
 * confidence interval is mean +- 1.96 * stderr (normal approximation; the harness prints the stderr only).
 *
 * Base vs adapter on the same questions: the difference of accuracies is the mean of the per-question
 * differences d_i = correct_adapted_i - correct_base_i, and its stderr is mean_stderr(d), the paired standard
 * error, which is smaller than that of two independent samples when the two models agree on most questions.
 */
import { pyLen } from './python-str';

export interface Predictions {
  pred: number;
  predNorm: number;
}

/** Index of the first maximum (np.argmax). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** pred and pred_norm of one question from its choices' summed log-probs and doc_to_choice strings. */
export function predictions(logprobs: readonly number[], choiceTexts: readonly string[]): Predictions {
  if (logprobs.length !== choiceTexts.length || logprobs.length === 0) {
    throw new RangeError('predictions: one log-prob per choice');
  }
  return { pred: argmax(logprobs), predNorm: argmax(logprobs.map((lp, k) => lp / pyLen(choiceTexts[k]))) };
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of no values');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The harness's mean_stderr: sample standard deviation (n - 1) over sqrt(n); null for fewer than 2 values. */
export function meanStderr(values: readonly number[]): number | null {
  const n = values.length;
  if (n < 2) return null;
  const mu = mean(values);
  const variance = values.reduce((s, v) => s + (v - mu) ** 2, 0) / (n - 1);
  return Math.sqrt(variance) / Math.sqrt(n);
}

/** z for a two-sided 95% normal interval. */
export const Z95 = 1.959963984540054;

/** A mean with its stderr and 95% interval (null where the stderr is). */
export interface Estimate {
  mean: number;
  stderr: number | null;
  ci95: [number, number] | null;
}

export function estimate(values: readonly number[]): Estimate {
  const m = mean(values);
  const se = meanStderr(values);
  return { mean: m, stderr: se, ci95: se === null ? null : [m - Z95 * se, m + Z95 * se] };
}

/** 1 where the prediction is the gold index, else 0 (acc or acc_norm of one question). */
export function correct(pred: number, gold: number): number {
  return pred === gold ? 1 : 0;
}

/** Adapted minus base, per question paired (both arrays in question order). */
export function pairedDifference(base: readonly number[], adapted: readonly number[]): Estimate {
  if (base.length !== adapted.length) throw new RangeError('pairedDifference: both runs must score the same questions');
  return estimate(adapted.map((a, i) => a - base[i]));
}

/**
 * Mean KL(base || adapted) over the scored tokens: every continuation token of every choice counts once (the
 * next-token distribution it is read from is compared), so a context's last row counts once per choice, as
 * its log-probs do. `tokenKl[q][k]` holds choice k of question q's per-token values. Null for no tokens.
 */
export function meanTokenKl(tokenKl: readonly (readonly ArrayLike<number>[])[]): number | null {
  let sum = 0;
  let count = 0;
  for (const question of tokenKl) {
    for (const choice of question) {
      for (let j = 0; j < choice.length; j++) sum += choice[j];
      count += choice.length;
    }
  }
  return count === 0 ? null : sum / count;
}
