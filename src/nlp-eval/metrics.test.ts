import { describe, expect, it } from 'vitest';
import { argmax, estimate, meanStderr, meanTokenKl, pairedDifference, predictions, Z95 } from './metrics';

describe('metrics (lm_eval/api/task.py process_results, lm_eval/api/metrics.py mean_stderr)', () => {
  it('pred = argmax of log-likelihoods, pred_norm = argmax of log-likelihood / character length', () => {
    // -10/2 = -5 < -12/6 = -2: the longer choice wins once normalized.
    expect(predictions([-10, -12], ['ab', 'abcdef'])).toEqual({ pred: 0, predNorm: 1 });
    // np.argmax takes the first of equal maxima.
    expect(argmax([-1, -1, -2])).toBe(0);
    expect(predictions([-3, -3], ['abc', 'xyz'])).toEqual({ pred: 0, predNorm: 0 });
  });

  it("the length is Python's len (code points), not UTF-16 units", () => {
    // "😀a" is 2 code points (3 UTF-16 units): -4/2 = -2 < -5.5/3 = -1.83, so choice 1; with 3 units it would be 0.
    expect(predictions([-4, -5.5], ['😀a', 'abc']).predNorm).toBe(1);
  });

  it('mean_stderr: sample standard deviation (n - 1) over sqrt(n); 95% interval mean +- 1.96 stderr', () => {
    // [1, 0, 1, 1]: mean 0.75, sample variance (3 * 0.0625 + 0.5625) / 3 = 0.25, stderr 0.5 / 2.
    expect(meanStderr([1, 0, 1, 1])).toBeCloseTo(0.25, 15);
    const e = estimate([1, 0, 1, 1]);
    expect(e.mean).toBe(0.75);
    expect(e.ci95![0]).toBeCloseTo(0.75 - 1.959964 * 0.25, 6);
    expect(e.ci95![1]).toBeCloseTo(0.75 + Z95 * 0.25, 15);
    expect(meanStderr([1])).toBeNull();
    expect(estimate([1]).ci95).toBeNull();
  });

  it('paired difference: mean and stderr of per-question differences', () => {
    // d = [0, 1, 0, 0]: mean 0.25, sample sd 0.5, stderr 0.25.
    const d = pairedDifference([1, 0, 1, 0], [1, 1, 1, 0]);
    expect(d.mean).toBe(0.25);
    expect(d.stderr).toBeCloseTo(0.25, 15);
    expect(() => pairedDifference([1], [1, 0])).toThrow(/same questions/);
  });

  it('mean KL over scored tokens: every token of every choice counts once', () => {
    expect(meanTokenKl([[Float32Array.of(0.1, 0.2), Float32Array.of(0.3)], [Float32Array.of(0.6)]])).toBeCloseTo(
      0.3,
      6,
    );
    expect(meanTokenKl([])).toBeNull();
  });
});
