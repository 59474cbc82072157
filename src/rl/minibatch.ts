/**
 * The pieces of a PPO update's optimization phase that both trainers share: each epoch's minibatch indices
 * (one in-place shuffle of the batch indices, cut into consecutive slices, as CleanRL's
 * `np.random.shuffle(b_inds)`), linear LR annealing and global gradient-norm clipping. The loops themselves
 * (value minibatches and policy windows in TWOSOME, joint minibatches in PPO-MLP) are written out in each
 * trainer's `runUpdate`: twosome-trainer.ts and ppo-mlp.ts.
 */
import type { Rng } from '../util/rng';

// ---------------------------------------------------------------------------------------------------------
// Minibatches

/** In-place Fisher-Yates shuffle (np.random.shuffle's role) driven by `rng`. */
export function shuffleInPlace(indices: Int32Array, rng: Rng): Int32Array {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = indices[i];
    indices[i] = indices[j];
    indices[j] = t;
  }
  return indices;
}

export function arange(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Consecutive slices of a permutation: minibatch m = perm[m*size, (m+1)*size). */
export function splitMinibatches(perm: Int32Array, numMinibatches: number): Int32Array[] {
  if (perm.length % numMinibatches !== 0)
    throw new RangeError(`${numMinibatches} minibatches do not divide ${perm.length} samples`);
  const size = perm.length / numMinibatches;
  return Array.from({ length: numMinibatches }, (_, m) => perm.slice(m * size, (m + 1) * size));
}

/** A fresh shuffled split of 0..batchSize-1. */
export function shuffledMinibatches(batchSize: number, numMinibatches: number, rng: Rng): Int32Array[] {
  return splitMinibatches(shuffleInPlace(arange(batchSize), rng), numMinibatches);
}

// ---------------------------------------------------------------------------------------------------------
// Learning rate (gradient clipping: llm/reference/grad-norm.ts)

/**
 * Linear annealing: lr * (1 - (update - 1 - warmUp) / numUpdates) for update = 1, 2, ... (1-based), after
 * `warmUpUpdates` critic-only updates that keep the base LR (as the original, which does not touch the LR then).
 */
export function annealedLr(baseLr: number, update: number, numUpdates: number, warmUpUpdates = 0): number {
  if (update <= warmUpUpdates) return baseLr;
  return baseLr * (1 - (update - 1 - warmUpUpdates) / numUpdates);
}
