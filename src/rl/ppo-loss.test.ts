import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { normalizeAdvantages, policyLoss, valueLoss, type PolicyLossInput, type ValueLossInput } from './ppo-loss';
import { centralDifferenceOf } from '../util/testing';

describe('normalizeAdvantages', () => {
  it('uses the minibatch mean and unbiased std plus 1e-8', () => {
    // mean 2.5, std = sqrt(5/3)
    const s = Math.sqrt(5 / 3);
    const out = normalizeAdvantages([1, 2, 3, 4]);
    [-1.5, -0.5, 0.5, 1.5].forEach((d, i) => expect(out[i]).toBeCloseTo(d / (s + 1e-8), 12));
    expect(Array.from(normalizeAdvantages([3, 3]))).toEqual([0, 0]);
    expect(Array.from(normalizeAdvantages([5]))).toEqual([0]);
  });
});

describe('policyLoss', () => {
  const base = { clipCoef: 0.2, entCoef: 0.01, normAdv: false };

  it('clips both ways and gives zero gradient where the clipped term wins', () => {
    // ratio 1.5 with A = 1: max(-1.5, -1.2) = -1.2 (clipped); ratio 0.5 with A = -1: max(0.5, 0.8) = 0.8 (clipped)
    const out = policyLoss({
      ...base,
      newLogProbs: [Math.log(1.5), Math.log(0.5)],
      oldLogProbs: [0, 0],
      advantages: [1, -1],
      entropies: [1, 2],
    });
    expect(out.pgLoss).toBeCloseTo(-0.2, 12);
    expect(out.entropy).toBe(1.5);
    expect(out.loss).toBeCloseTo(-0.2 - 0.01 * 1.5, 12);
    expect(Array.from(out.dNewLogProbs)).toEqual([0, 0]);
    expect(Array.from(out.dEntropies)).toEqual([-0.005, -0.005]);
    expect(out.clipFrac).toBe(1);
  });

  it('follows the unclipped term inside the range and where it is larger', () => {
    // ratio 1.1, A = 1: tie inside the range -> -A * r / n = -0.55; ratio 0.5, A = 1: max(-0.5, -0.8) -> -0.25
    const out = policyLoss({
      ...base,
      newLogProbs: [Math.log(1.1), Math.log(0.5)],
      oldLogProbs: [0, 0],
      advantages: [1, 1],
      entropies: [0, 0],
    });
    expect(out.pgLoss).toBeCloseTo(-0.8, 12);
    expect(out.dNewLogProbs[0]).toBeCloseTo(-0.55, 12);
    expect(out.dNewLogProbs[1]).toBeCloseTo(-0.25, 12);
    expect(out.approxKl).toBeCloseTo((0.1 - Math.log(1.1) + (-0.5 - Math.log(0.5))) / 2, 12);
    expect(out.oldApproxKl).toBeCloseTo(-(Math.log(1.1) + Math.log(0.5)) / 2, 12);
    expect(out.clipFrac).toBe(0.5);
  });

  it('has ratio 1, zero KL and -mean(A_norm) = 0 at the old policy', () => {
    const out = policyLoss({
      ...base,
      normAdv: true,
      newLogProbs: [-1, -2, -0.5],
      oldLogProbs: [-1, -2, -0.5],
      advantages: [1, 5, -2],
      entropies: [1, 1, 1],
    });
    expect(out.approxKl).toBe(0);
    expect(out.clipFrac).toBe(0);
    expect(out.pgLoss).toBeCloseTo(0, 12);
  });

  it('scales loss and gradients by 1 / accumulation', () => {
    const input = {
      ...base,
      newLogProbs: [Math.log(1.1), Math.log(0.5)],
      oldLogProbs: [0, 0],
      advantages: [1, 1],
      entropies: [0.3, 0.2],
    };
    const a = policyLoss(input);
    const b = policyLoss({ ...input, scale: 1 / 8 });
    expect(b.loss).toBeCloseTo(a.loss / 8, 14);
    expect(b.dNewLogProbs[1]).toBeCloseTo(a.dNewLogProbs[1] / 8, 14);
    expect(b.dEntropies[0]).toBeCloseTo(a.dEntropies[0] / 8, 14);
    expect(b.pgLoss).toBe(a.pgLoss);
  });

  it('matches finite differences (normalized advantages, clipping active)', () => {
    const rng = new Rng(5);
    const h = 1e-6;
    for (let trial = 0; trial < 20; trial++) {
      const n = 6;
      const oldLogProbs = Array.from({ length: n }, () => -3 * rng.next());
      const newLogProbs = oldLogProbs.map((v) => v + 0.6 * (rng.next() - 0.5));
      // keep away from the non-differentiable clip boundaries
      for (let i = 0; i < n; i++) {
        const r = Math.exp(newLogProbs[i] - oldLogProbs[i]);
        if (Math.abs(r - 0.8) < 1e-3 || Math.abs(r - 1.2) < 1e-3) newLogProbs[i] += 0.01;
      }
      const input: PolicyLossInput = {
        newLogProbs,
        oldLogProbs,
        advantages: Array.from({ length: n }, () => rng.normal()),
        entropies: Array.from({ length: n }, () => rng.next()),
        clipCoef: 0.2,
        entCoef: 0.01,
        normAdv: true,
        scale: 0.125,
      };
      const out = policyLoss(input);
      for (let i = 0; i < n; i++) {
        const fd = centralDifferenceOf(newLogProbs, i, (v) => policyLoss({ ...input, newLogProbs: v }).loss, h);
        expect(out.dNewLogProbs[i]).toBeCloseTo(fd, 7);
        const fdE = centralDifferenceOf(input.entropies, i, (v) => policyLoss({ ...input, entropies: v }).loss, h);
        expect(out.dEntropies[i]).toBeCloseTo(fdE, 7);
      }
    }
  });
});

describe('valueLoss', () => {
  const base = { clipCoef: 0.2, clipVloss: true, vfCoef: 0.5 };

  it('is 0.5 * mean(max(unclipped, clipped)) * vf_coef, hand case with the clipped term winning', () => {
    // i0: (1-2)^2 = 1 vs (0.7-2)^2 = 1.69; i1: (0-0.1)^2 = 0.01 vs (0.3-0.1)^2 = 0.04
    const out = valueLoss({ ...base, newValues: [1, 0], oldValues: [0.5, 0.5], returns: [2, 0.1] });
    expect(out.vLoss).toBeCloseTo((0.5 * (1.69 + 0.04)) / 2, 12);
    expect(out.loss).toBeCloseTo((0.5 * 0.5 * (1.69 + 0.04)) / 2, 12);
    // Both clipped terms are outside the clip range: no gradient.
    expect(Array.from(out.dNewValues)).toEqual([0, 0]);
  });

  it('follows the unclipped term where it is larger', () => {
    // (0-2)^2 = 4 > (0.3-2)^2 = 2.89; d/dV = vf * 0.5 * 2 (V - R) / n = 0.5 * 0.5 * 2 * (0 - 2) = -1
    const out = valueLoss({ ...base, newValues: [0], oldValues: [0.5], returns: [2] });
    expect(out.vLoss).toBeCloseTo(2, 12);
    expect(out.dNewValues[0]).toBeCloseTo(-1, 12);
  });

  it('without clipping is 0.5 * mean((V - R)^2) * vf_coef', () => {
    const out = valueLoss({ ...base, clipVloss: false, newValues: [1, 3], oldValues: [100, 100], returns: [0, 1] });
    expect(out.vLoss).toBeCloseTo((0.5 * (1 + 4)) / 2, 12);
    expect(Array.from(out.dNewValues)).toEqual([(0.5 * 0.5 * 2 * 1) / 2, (0.5 * 0.5 * 2 * 2) / 2]);
  });

  it('splits the gradient at a tie like torch.maximum', () => {
    // V = Vold: both terms equal and inside the range: 0.5 + 0.5 of the same gradient.
    const out = valueLoss({ ...base, newValues: [1], oldValues: [1], returns: [0] });
    expect(out.dNewValues[0]).toBeCloseTo(0.5 * 0.5 * 2 * 1, 12);
  });

  it('matches finite differences', () => {
    const rng = new Rng(9);
    const h = 1e-6;
    for (let trial = 0; trial < 20; trial++) {
      const n = 5;
      const oldValues = Array.from({ length: n }, () => rng.normal());
      const newValues = oldValues.map((v) => v + 0.8 * (rng.next() - 0.5));
      for (let i = 0; i < n; i++)
        if (Math.abs(Math.abs(newValues[i] - oldValues[i]) - 0.2) < 1e-3) newValues[i] += 0.01;
      const input: ValueLossInput = {
        ...base,
        newValues,
        oldValues,
        returns: Array.from({ length: n }, () => rng.normal()),
        scale: 0.5,
      };
      const out = valueLoss(input);
      for (let i = 0; i < n; i++) {
        const fd = centralDifferenceOf(newValues, i, (v) => valueLoss({ ...input, newValues: v }).loss, h);
        expect(out.dNewValues[i]).toBeCloseTo(fd, 7);
      }
    }
  });
});
