/**
 * CPU reference of the scored tokens' log-probabilities (kernels/logsoftmax-gather.ts):
 * logp[j] = logits[j, target_j] - logsumexp(logits[j, :]) for logits [J, V].
 */
import type { Precision } from './precision';

/** The max of the row at `base` and the sum of exp(logit - max) over it, in float64 (the log-softmax's pieces). */
export function rowMaxAndSumExp(logits: ArrayLike<number>, base: number, vocab: number): { max: number; sum: number } {
  let max = -Infinity;
  for (let v = 0; v < vocab; v++) max = Math.max(max, logits[base + v]);
  let sum = 0;
  for (let v = 0; v < vocab; v++) sum += Math.exp(logits[base + v] - max);
  return { max, sum };
}

/** Forward: float64 math; rounded to float32 in float32 mode. */
export function logSoftmaxGatherForward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  vocab: number,
  precision: Precision = 'float64',
): number[] {
  const out: number[] = [];
  for (let j = 0; j < targets.length; j++) {
    const base = j * vocab;
    const { max, sum } = rowMaxAndSumExp(logits, base, vocab);
    const value = logits[base + targets[j]] - (max + Math.log(sum));
    out.push(precision === 'float32' ? Math.fround(value) : value);
  }
  return out;
}

/** Backward: dlogits[j, v] = dlogp[j] * ([v == target_j] - softmax(logits[j])[v]). Returns [J, V]. */
export function logSoftmaxGatherBackward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  dlogp: ArrayLike<number>,
  vocab: number,
): Float64Array {
  const J = targets.length;
  const d = new Float64Array(J * vocab);
  for (let j = 0; j < J; j++) {
    const base = j * vocab;
    const { max, sum } = rowMaxAndSumExp(logits, base, vocab);
    for (let v = 0; v < vocab; v++) d[base + v] = -dlogp[j] * (Math.exp(logits[base + v] - max) / sum);
    d[base + targets[j]] += dlogp[j];
  }
  return d;
}
