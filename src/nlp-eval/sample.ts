/**
 * A fixed sample of a benchmark: `size` distinct questions drawn uniformly without replacement, the same ones
 * for the same seed, benchmark and data. The first `size` steps of a Fisher-Yates shuffle of the indices, driven
 * by Rng(seed), pick them; they are returned in benchmark order (so a sample read again lists its questions the
 * same way, and a smaller sample of one seed is not a prefix of a larger one by accident of order).
 */
import { Rng } from '../util/rng';

export function sampleQuestions<T>(questions: readonly T[], size: number, seed: number): T[] {
  const n = questions.length;
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`a sample needs a whole number of questions, not ${size}`);
  if (size > n) throw new RangeError(`a sample of ${size} questions needs at least ${size}; the benchmark has ${n}`);
  const rng = new Rng(seed);
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < size; i++) {
    const j = i + rng.int(n - i);
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices
    .slice(0, size)
    .sort((a, b) => a - b)
    .map((i) => questions[i]);
}
