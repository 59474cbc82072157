/**
 * TWOSOME's policy from the LLM's action scores (twosome.md 1.1 steps 6-8): each offered action k has a summed
 * token log-prob S_k, a token count n_k and a word count W_k; normalization turns them into logits
 *   sum:   z_k = S_k          token: z_k = S_k / n_k          word: z_k = S_k / W_k
 * and pi = softmax(z) (float32, no temperature, no extra mask: the offered list is the mask).
 *
 * Because z_k = S_k / d_k, the gradients the engine backpropagates into the model are the logit gradients
 * divided by d_k: dL/dS_k = (dL/dz_k) / d_k.
 */
import type { ActionScores } from '../llm/scores';
import type { Rng } from '../util/rng';
import {
  argmax,
  categorical,
  dEntropyDLogits,
  dLogProbDLogits,
  logitGradients,
  sampleIndex,
  type Categorical,
} from './categorical';

/** How summed action log-probs become logits (twosome.md 1.1 step 6). */
export type Normalization = 'sum' | 'token' | 'word';
/** Every normalization, in the spec's order (also the order of the keys of `policies`). */
export const NORMALIZATIONS: readonly Normalization[] = ['sum', 'token', 'word'];

export { countWords } from '../util/words';

/** d_k with z_k = S_k / d_k (1 for 'sum'). */
export function normalizationDivisors(scores: ActionScores, mode: Normalization): Float64Array {
  const n = scores.logprobs.length;
  const d = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const v = mode === 'sum' ? 1 : mode === 'token' ? scores.nTokens[k] : scores.nWords[k];
    if (!(Number.isInteger(v) && v > 0)) {
      throw new RangeError(
        `action ${k}: ${mode} normalization needs a positive integer ${mode === 'token' ? 'nTokens' : 'nWords'}, got ${String(v)}`,
      );
    }
    d[k] = v;
  }
  return d;
}

export interface ActionDistribution extends Categorical {
  /** z_k, rounded to float32 as torch's float32 division gives. */
  logits: Float32Array;
  divisors: Float64Array;
}

/** The policy over the offered actions for one observation. */
export function actionDistribution(scores: ActionScores, mode: Normalization): ActionDistribution {
  const divisors = normalizationDivisors(scores, mode);
  const logits = new Float32Array(divisors.length);
  // float64 division then rounding to float32 is the correctly rounded float32 quotient.
  for (let k = 0; k < logits.length; k++) logits[k] = Math.fround(scores.logprobs[k]) / divisors[k];
  return { ...categorical(logits), logits, divisors };
}

/** pi under every normalization (keys in NORMALIZATIONS order), as plain numbers: what the page and the CLI show. */
export function policies(scores: ActionScores): Record<Normalization, number[]> {
  const out = {} as Record<Normalization, number[]>;
  for (const mode of NORMALIZATIONS) out[mode] = Array.from(actionDistribution(scores, mode).probs);
  return out;
}

export function sampleAction(dist: Categorical, rng: Rng): number {
  return sampleIndex(dist.probs, rng);
}

/** Most probable action; ties go to the lowest index. */
export function greedyAction(dist: Categorical): number {
  return argmax(dist.probs);
}

export function logProbOf(dist: Categorical, action: number): number {
  if (!Number.isInteger(action) || action < 0 || action >= dist.logProbs.length) {
    throw new RangeError(`action ${String(action)} is not one of the ${dist.logProbs.length} offered`);
  }
  return dist.logProbs[action];
}

/** d log pi(a) / d S_k = ([k == a] - p_k) / d_k. */
export function dLogProbDScores(dist: ActionDistribution, action: number): Float64Array {
  const g = dLogProbDLogits(dist, action);
  for (let k = 0; k < g.length; k++) g[k] /= dist.divisors[k];
  return g;
}

/** d H / d S_k = -p_k (log p_k + H) / d_k. */
export function dEntropyDScores(dist: ActionDistribution): Float64Array {
  const g = dEntropyDLogits(dist);
  for (let k = 0; k < g.length; k++) g[k] /= dist.divisors[k];
  return g;
}

/**
 * dL/dS_k for one sample whose loss depends on its log pi(a) and its entropy, given dL/dlogpi and dL/dH
 * (what `policyLoss` returns per sample): what the engine backpropagates into the action tokens' log-probs.
 */
export function scoreGradients(
  dist: ActionDistribution,
  action: number,
  dLogProb: number,
  dEntropy: number,
): Float64Array {
  const g = logitGradients(dist, action, dLogProb, dEntropy);
  for (let k = 0; k < g.length; k++) g[k] /= dist.divisors[k];
  return g;
}
