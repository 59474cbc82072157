// gemm_f32.wgsl on Dawn: every transpose combination, strided sub-matrices, offsets, alpha and accumulation,
// against reference/gemm.ts.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { gemm } from '../../reference/gemm';
import { gemmCall } from './gemm';
import { kernelTestGpu } from './test-gpu';

const gpu = kernelTestGpu();

describe('gemm_f32 on Dawn', () => {
  for (const [transA, transB, beta] of [
    [false, false, 1],
    [false, true, 1],
    [true, false, 1],
    [true, true, 1],
    [false, true, 0],
  ] as const) {
    for (const variant of ['workgroup', 'thread'] as const) {
      it(`transA=${transA} transB=${transB}, strided, offset, alpha 0.5, beta ${beta} (${variant} variant)`, async () => {
        const rng = new Rng(Number(transA) * 2 + Number(transB) + 1);
        const [m, n, k] = [19, 23, 37];
        // A and B are sub-matrices of larger stored ones (leading dims > their widths, non-zero offsets).
        const [aRows, aCols] = transA ? [k, m] : [m, k];
        const [bRows, bCols] = transB ? [n, k] : [k, n];
        const lda = aCols + 3;
        const ldb = bCols + 5;
        const ldc = n + 7;
        const aOff = 2;
        const bOff = 4;
        const cOff = 1;
        const A = Float32Array.from({ length: aOff + aRows * lda }, () => rng.normal());
        const B = Float32Array.from({ length: bOff + bRows * ldb }, () => rng.normal());
        const C = Float32Array.from({ length: cOff + m * ldc }, () => rng.normal());
        const expected = C.slice();
        gemm(
          { data: A, ld: lda, offset: aOff, transpose: transA },
          { data: B, ld: ldb, offset: bOff, transpose: transB },
          { data: expected, ld: ldc, offset: cOff },
          { m, n, k, alpha: 0.5, beta },
        );
        const [a, b, c] = [gpu.upload(A), gpu.upload(B), gpu.upload(C)];
        const call = await gemmCall(
          gpu.kernels,
          'test',
          { buffer: a, ld: lda, offset: aOff, transpose: transA },
          { buffer: b, ld: ldb, offset: bOff, transpose: transB },
          { buffer: c, ld: ldc, offset: cOff },
          { m, n, k, alpha: 0.5, beta },
          variant,
        );
        const actual = await gpu.run(call, c, C.length);
        for (let i = 0; i < C.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(1e-4);
      });
    }
  }
});
