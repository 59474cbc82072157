import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { annealedLr, arange, shuffledMinibatches, shuffleInPlace, splitMinibatches } from './minibatch';

describe('minibatches', () => {
  it('are deterministic given the seed and cover every sample exactly once', () => {
    const a = shuffledMinibatches(128, 32, new Rng(1));
    const b = shuffledMinibatches(128, 32, new Rng(1));
    const c = shuffledMinibatches(128, 32, new Rng(2));
    expect(a.map((m) => Array.from(m))).toEqual(b.map((m) => Array.from(m)));
    expect(a.map((m) => Array.from(m))).not.toEqual(c.map((m) => Array.from(m)));
    expect(a).toHaveLength(32);
    expect(a.every((m) => m.length === 4)).toBe(true);
    const all = a.flatMap((m) => Array.from(m)).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 128 }, (_, i) => i));
    expect(all).not.toEqual(a.flatMap((m) => Array.from(m))); // actually shuffled
  });

  it('refuses a count that does not divide the batch', () => {
    expect(() => shuffledMinibatches(10, 3, new Rng(1))).toThrow(/divide/);
  });

  it("reshuffle the previous epoch's order in place, as np.random.shuffle(b_inds) each epoch", () => {
    const rng = new Rng(4);
    const inds = arange(16);
    const epoch0 = Array.from(shuffleInPlace(inds, rng));
    const epoch1 = Array.from(shuffleInPlace(inds, rng));
    // the second epoch's order is a shuffle of the first's, not of 0..15: replay it from the first
    const replay = new Rng(4);
    shuffleInPlace(arange(16), replay);
    expect(epoch1).toEqual(Array.from(shuffleInPlace(Int32Array.from(epoch0), replay)));
    expect(epoch1).not.toEqual(epoch0);
    // one shuffle cut two ways (TWOSOME's value and policy minibatches) covers the same order
    expect(splitMinibatches(inds, 2).flatMap((m) => Array.from(m))).toEqual(
      splitMinibatches(inds, 8).flatMap((m) => Array.from(m)),
    );
  });
});

describe('annealedLr', () => {
  it('is lr * (1 - (update - 1) / numUpdates)', () => {
    expect(annealedLr(1e-3, 1, 10)).toBe(1e-3);
    expect(annealedLr(1e-3, 2, 10)).toBeCloseTo(9e-4, 15);
    expect(annealedLr(1e-3, 10, 10)).toBeCloseTo(1e-4, 15);
  });

  it('keeps the base LR during the critic warm-up, then anneals from it', () => {
    expect(annealedLr(1e-3, 3, 10, 3)).toBe(1e-3);
    expect(annealedLr(1e-3, 4, 10, 3)).toBe(1e-3);
    expect(annealedLr(1e-3, 5, 10, 3)).toBeCloseTo(9e-4, 15);
  });
});
