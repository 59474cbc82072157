import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { centralDifference } from '../../util/testing';
import { Mlp } from './mlp';
import { orthogonalMatrix } from './orthogonal';

/** W W^T (rows) or W^T W (cols), whichever is the smaller Gram matrix. */
function gram(w: Float32Array, rows: number, cols: number): number[][] {
  const byRows = rows <= cols;
  const n = byRows ? rows : cols;
  const m = byRows ? cols : rows;
  const at = (i: number, k: number) => (byRows ? w[i * cols + k] : w[k * cols + i]);
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let k = 0; k < m; k++) s += at(i, k) * at(j, k);
      return s;
    }),
  );
}

describe('orthogonal init', () => {
  for (const [rows, cols, gain] of [
    [64, 18, Math.SQRT2],
    [64, 64, Math.SQRT2],
    [5, 64, 0.01],
    [1, 64, 1],
  ] as const) {
    it(`[${rows}, ${cols}] gain ${gain.toFixed(2)} has orthonormal ${rows <= cols ? 'rows' : 'columns'} times gain`, () => {
      const w = orthogonalMatrix(rows, cols, gain, new Rng(1));
      const g = gram(w, rows, cols);
      g.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? gain * gain : 0, 5)));
    });
  }

  it('is reproducible from the seed and differs across seeds', () => {
    expect(Array.from(orthogonalMatrix(8, 4, 1, new Rng(2)))).toEqual(
      Array.from(orthogonalMatrix(8, 4, 1, new Rng(2))),
    );
    expect(Array.from(orthogonalMatrix(8, 4, 1, new Rng(2)))).not.toEqual(
      Array.from(orthogonalMatrix(8, 4, 1, new Rng(3))),
    );
  });

  it('CleanRL layer_init: orthogonal weights, zero biases, per-layer gains', () => {
    const mlp = Mlp.orthogonal([18, 64, 64, 5], { hiddenGain: Math.SQRT2, outputGain: 0.01 }, new Rng(1));
    expect(mlp.params.map((p) => p.length)).toEqual([64 * 18, 64, 64 * 64, 64, 5 * 64, 5]);
    expect([mlp.params[1], mlp.params[3], mlp.params[5]].every((b) => b.every((v) => v === 0))).toBe(true);
    const head = gram(mlp.params[4], 5, 64);
    expect(head[0][0]).toBeCloseTo(1e-4, 8);
  });
});

describe('Mlp forward/backward', () => {
  function setup() {
    const rng = new Rng(4);
    const mlp = Mlp.orthogonal([3, 5, 4, 2], { hiddenGain: Math.SQRT2, outputGain: 0.5 }, rng);
    // non-zero biases so their gradients are exercised through tanh
    for (const j of [1, 3, 5]) for (let i = 0; i < mlp.params[j].length; i++) mlp.params[j][i] = 0.3 * rng.normal();
    const batch = 3;
    const x = Float32Array.from({ length: batch * 3 }, () => rng.normal());
    const r = Float64Array.from({ length: batch * 2 }, () => rng.normal());
    // loss = sum(out * r): dLoss/dOut = r
    const loss = () => Mlp.output(mlp.forward(x, batch)).reduce((s, v, i) => s + v * r[i], 0);
    return { mlp, x, r, batch, loss };
  }

  it('computes tanh hidden layers and a linear output', () => {
    const mlp = new Mlp([2, 2, 1]);
    mlp.params[0].set([1, 0, 0, 1]);
    mlp.params[1].set([0, 0.5]);
    mlp.params[2].set([2, -1]);
    mlp.params[3].set([0.25]);
    const out = Mlp.output(mlp.forward([0.3, -0.2], 1));
    expect(out[0]).toBeCloseTo(2 * Math.tanh(0.3) - Math.tanh(0.3) + 0.25, 6);
  });

  it('parameter gradients match finite differences', () => {
    const { mlp, x, r, batch, loss } = setup();
    mlp.zeroGrad();
    mlp.backward(mlp.forward(x, batch), r);
    for (let j = 0; j < mlp.params.length; j++) {
      const p = mlp.params[j];
      for (let i = 0; i < p.length; i++) {
        expect(mlp.grads[j][i]).toBeCloseTo(centralDifference(p, i, loss, 1e-3), 4);
      }
    }
  });

  it('input gradients match finite differences, and gradients accumulate until zeroGrad', () => {
    const { mlp, x, r, batch, loss } = setup();
    mlp.zeroGrad();
    const dx = mlp.backward(mlp.forward(x, batch), r);
    for (let i = 0; i < x.length; i++) {
      expect(dx[i]).toBeCloseTo(centralDifference(x, i, loss, 1e-3), 4);
    }
    const once = mlp.grads.map((g) => Array.from(g));
    mlp.backward(mlp.forward(x, batch), r);
    mlp.grads.forEach((g, j) => g.forEach((v, i) => expect(v).toBeCloseTo(2 * once[j][i], 5)));
    mlp.zeroGrad();
    expect(mlp.grads.every((g) => g.every((v) => v === 0))).toBe(true);
  });
});
