// RMSNorm's forward, its residual-add fusion and its backward (with and without the residual branch) on Dawn,
// every variant this adapter runs (thread, workgroup, subgroup), against reference/rmsnorm.ts.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { rmsnormBackward, rmsnormForward } from '../../reference/rmsnorm';
import { addRmsnormForwardCall, rmsnormBackwardCall, rmsnormForwardCall } from './rmsnorm';
import { expectClose, kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();
const eps = 1e-5;
// Rows and widths below and above the thread variant's limit (256), not multiples of the workgroup (64) or a
// subgroup (4 .. 128).
const shapes = [
  [1, 8],
  [5, 64],
  [3, 100],
  [17, 257],
  [4, 1000],
] as const;

describe('rmsnorm.wgsl on Dawn', () => {
  it('finds an adapter with the limits we asked for', () => {
    expect(gpu.ctx.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(gpu.ctx.limits.maxBufferSize).toBeGreaterThanOrEqual(256 * 1024 * 1024);
  });

  for (const [rows, dim] of shapes) {
    it(`forward and add-forward match the reference for T=${rows}, D=${dim} (every variant)`, async () => {
      const rng = new Rng(rows * 1000 + dim);
      const residual = random(rng, rows * dim, 2);
      const branch = random(rng, rows * dim, 2);
      const weight = Float32Array.from({ length: dim }, () => 1 + 0.5 * rng.normal());
      const x = residual.map((v, i) => v + branch[i]);
      const expected = rmsnormForward(x, weight, rows, dim, eps);
      for (const variant of gpu.variants()) {
        const b = { x: gpu.upload(x), weight: gpu.upload(weight), y: gpu.upload(rows * dim), rstd: gpu.upload(rows) };
        expectClose(
          await gpu.run(await rmsnormForwardCall(gpu.kernels, b, rows, dim, eps, variant), b.y, rows * dim),
          expected.y,
          1e-5,
        );
        expectClose(await gpu.run([], b.rstd, rows), expected.rstd, 1e-5);
        // Fused: the sum written, then normalized; the same bits as the add then the norm.
        const f = {
          residual: gpu.upload(residual),
          branch: gpu.upload(branch),
          sum: gpu.upload(rows * dim),
          weight: b.weight,
          y: gpu.upload(rows * dim),
          rstd: gpu.upload(rows),
        };
        const y = await gpu.run(await addRmsnormForwardCall(gpu.kernels, f, rows, dim, eps, variant), f.y, rows * dim);
        expect(await gpu.run([], f.sum, rows * dim)).toEqual(x);
        expect(y).toEqual(await gpu.run([], b.y, rows * dim));
        expect(await gpu.run([], f.rstd, rows)).toEqual(await gpu.run([], b.rstd, rows));
      }
    });

    it(`backward matches the reference for T=${rows}, D=${dim}, with and without the residual`, async () => {
      const rng = new Rng(rows * 77 + dim);
      const x = random(rng, rows * dim, 2);
      const w = random(rng, dim);
      const dy = random(rng, rows * dim);
      const dres = random(rng, rows * dim);
      const { rstd } = rmsnormForward(x, w, rows, dim, eps);
      const alone = rmsnormBackward(x, w, rstd, dy, rows, dim);
      for (const variant of gpu.variants()) {
        const inputs = {
          x: gpu.upload(x),
          weight: gpu.upload(w),
          dy: gpu.upload(dy),
          rstd: gpu.upload(Float32Array.from(rstd)),
        };
        const dx = gpu.upload(rows * dim);
        expectClose(
          await gpu.run(await rmsnormBackwardCall(gpu.kernels, { ...inputs, dx }, rows, dim, variant), dx, rows * dim),
          alone,
        );
        const dx2 = gpu.upload(rows * dim);
        const withResidual = await gpu.run(
          await rmsnormBackwardCall(
            gpu.kernels,
            { ...inputs, dx: dx2, dresidual: gpu.upload(dres) },
            rows,
            dim,
            variant,
          ),
          dx2,
          rows * dim,
        );
        expectClose(
          withResidual,
          alone.map((v, i) => v + dres[i]),
        );
      }
    });
  }
});
