/**
 * A categorical distribution over logits, as torch's `Categorical(logits=z)`: log-probs, probabilities,
 * entropy, seeded sampling, greedy argmax, and the gradients of log pi(a) and of the entropy w.r.t. the logits.
 *
 * Float32 semantics: the math runs in float64 and the results are stored as float32 (what torch stores), so a
 * log-prob saved at rollout time and one recomputed later from the same logits are bit-identical and the PPO
 * ratio starts at exactly 1.
 */
import type { Rng } from '../util/rng';

export interface Categorical {
  /** Normalized log-probabilities z_k - logsumexp(z). */
  logProbs: Float32Array;
  probs: Float32Array;
  /** -sum p log p. */
  entropy: number;
}

export function categorical(logits: ArrayLike<number>): Categorical {
  const n = logits.length;
  if (n === 0) throw new RangeError('a categorical needs at least one logit');
  let max = -Infinity;
  for (let k = 0; k < n; k++) {
    const z = logits[k];
    if (Number.isNaN(z)) throw new RangeError(`logit ${k} is NaN`);
    if (z > max) max = z;
  }
  if (max === -Infinity) throw new RangeError('every logit is -Infinity');
  let sum = 0;
  for (let k = 0; k < n; k++) sum += Math.exp(logits[k] - max);
  const lse = max + Math.log(sum);
  const logProbs = new Float32Array(n);
  const probs = new Float32Array(n);
  let entropy = 0;
  for (let k = 0; k < n; k++) {
    const lp = logits[k] - lse;
    logProbs[k] = lp;
    probs[k] = Math.exp(lp);
    // torch clamps -inf log-probs to the most negative finite float, so 0 * log 0 contributes 0.
    if (probs[k] > 0) entropy -= probs[k] * logProbs[k];
  }
  return { logProbs, probs, entropy: Math.fround(entropy) };
}

/** Samples an index with probability probs[k] from one uniform draw of `rng`. */
export function sampleIndex(probs: ArrayLike<number>, rng: Rng): number {
  const u = rng.next();
  let acc = 0;
  let last = -1;
  for (let k = 0; k < probs.length; k++) {
    if (probs[k] <= 0) continue;
    acc += probs[k];
    last = k;
    if (u < acc) return k;
  }
  // Rounding left the cumulative sum just below 1: fall to the last index that has mass.
  if (last < 0) throw new RangeError('no index has positive probability');
  return last;
}

/** Index of the largest value; ties go to the lowest index. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

/** d log pi(a) / d z_k = [k == a] - p_k. */
export function dLogProbDLogits(dist: Categorical, action: number): Float64Array {
  const g = new Float64Array(dist.probs.length);
  for (let k = 0; k < g.length; k++) g[k] = (k === action ? 1 : 0) - dist.probs[k];
  return g;
}

/** d H / d z_k = -p_k (log p_k + H). */
export function dEntropyDLogits(dist: Categorical): Float64Array {
  const g = new Float64Array(dist.probs.length);
  for (let k = 0; k < g.length; k++) {
    const p = dist.probs[k];
    g[k] = p > 0 ? -p * (dist.logProbs[k] + dist.entropy) : 0;
  }
  return g;
}

/** dL/dz for a loss that depends on log pi(a) (weight dLogProb) and on the entropy (weight dEntropy). */
export function logitGradients(dist: Categorical, action: number, dLogProb: number, dEntropy: number): Float64Array {
  const g = new Float64Array(dist.probs.length);
  for (let k = 0; k < g.length; k++) {
    const p = dist.probs[k];
    const dH = p > 0 ? -p * (dist.logProbs[k] + dist.entropy) : 0;
    g[k] = dLogProb * ((k === action ? 1 : 0) - p) + dEntropy * dH;
  }
  return g;
}
