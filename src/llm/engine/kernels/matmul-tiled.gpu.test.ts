// The tiled matrix products (matmul_tiled.wgsl: the GEMM and its input gradient, with the sum over N split or
// not) and the matrix-vector kernels (matmul_gemv.wgsl, with the subgroup and the workgroup reduction) on Dawn,
// every weight format, against the CPU product with the decoded matrix: at shapes that are not multiples of the
// tiles, K = 32, many rows, weights split in row chunks (y_col0 / y_stride), f32 and, where the adapter has
// shader-f16, f16. The f32 kernels are held to the legacy kernels' 1e-4; the f16 ones to F16_TOLERANCE.
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../../gpu/buffers';
import { disposeCalls } from '../../../gpu/kernel';
import { PipelineCache } from '../../../gpu/pipelines';
import { requireShaderF16 } from '../../../gpu/test-adapter';
import { Rng } from '../../../util/rng';
import * as ref from '../../reference/ops';
import { inputGradSplits, linearCall, linearInputGradCall, type GpuLinear } from './linear';
import { fileKernelGpu, pipelineLabel, random, WorstErrors } from './test-gpu';
import { randomLinear } from './test-weights';

/** Worst errors seen per kernel and precision, printed at the end (what f16 costs, measured). */
const worst = new WorstErrors<{ elementwise: number; norm: number }>();
const {
  ctx,
  device,
  upload: up,
  run,
} = await fileKernelGpu(() =>
  worst.print(
    `tiled and matrix-vector kernels on ${ctx.adapterInfo.description || ctx.adapterKind}, against the CPU product`,
    (k, e) =>
      `  ${k.padEnd(34)} max |a - b| / max(1, |b|) ${e.elementwise.toExponential(2)}, ` +
      `||a - b|| / ||b|| ${e.norm.toExponential(2)}`,
  ),
);

/**
 * f16 kernels: ||a - b|| / ||b|| within this of the CPU product. x and the dequantized weights are rounded to f16
 * (2^-11 relative each) and 32-term partial sums run in f16 (include/matmul_tile.wgsl), so a dot product of random
 * terms carries a relative error of ~1e-3 whatever K: the worst seen on lavapipe is 7.2e-4. (Elementwise, an
 * output near 0 of a sum of large terms can be off by 0.1 of max(1, |b|): the norm is the meaningful measure.)
 */
const F16_TOLERANCE = 4e-3;

const caches = {
  f32: new PipelineCache(device, { subgroups: false }),
  f32Subgroups: new PipelineCache(device, { subgroups: true }),
  f16: new PipelineCache(device, { subgroups: false, f16: true }),
  f16Subgroups: new PipelineCache(device, { subgroups: true, f16: true }),
};
type CacheName = keyof typeof caches;

/** Records and checks the error of `got` against `expected`: 1e-4 elementwise in f32, F16_TOLERANCE in norm for f16. */
function expectClose(kernel: string, f16: boolean, got: Float32Array, expected: ArrayLike<number>): void {
  expect(got.length).toBe(expected.length);
  let elementwise = 0;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < got.length; i++) {
    expect(Number.isFinite(got[i])).toBe(true);
    elementwise = Math.max(elementwise, Math.abs(got[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
    diff += (got[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  const relative = Math.sqrt(diff / Math.max(norm, 1e-30));
  const key = `${kernel} ${f16 ? 'f16' : 'f32'}`;
  worst.record(key, { elementwise, norm: relative });
  if (f16) expect(relative).toBeLessThanOrEqual(F16_TOLERANCE);
  else expect(elementwise).toBeLessThanOrEqual(1e-4);
  expect(norm).toBeGreaterThan(0);
}

/** A random weight [N, K] of `format`, uploaded whole or in row chunks of `split` rows (randomLinear). */
function weight(
  rng: Rng,
  format: 'q4' | 'dense',
  outDim: number,
  inDim: number,
  f16: boolean,
  split?: number[],
): { w: GpuLinear; dense: Float32Array } {
  const { dense, linear } = randomLinear(rng, format, outDim, inDim, f16);
  return { w: linear(up, split), dense };
}

/** "T=5 N=70 K=32", and the row chunks of a split weight. */
const shape = (tokens: number, outDim: number, inDim: number, split?: readonly number[]) =>
  `T=${tokens} N=${outDim} K=${inDim}${split ? ` in row chunks ${split.join('+')}` : ''}`;

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

const precisions: [CacheName, CacheName][] = [
  ['f32', 'f32Subgroups'],
  ['f16', 'f16Subgroups'],
];

describe('tiled GEMM and matrix-vector kernels on Dawn', () => {
  for (const [format, tokens, outDim, inDim, f16Weights, split] of [
    ['q4', 5, 70, 32, false, undefined],
    ['q4', 64, 64, 64, true, undefined],
    ['q4', 150, 130, 320, true, undefined],
    ['q4', 65, 257, 1024, false, undefined],
    ['q4', 9, 200, 4096, true, undefined],
    ['q4', 70, 70, 128, true, [30, 30, 10]],
    ['dense', 7, 67, 300, false, undefined],
    ['dense', 130, 65, 290, true, undefined],
    ['dense', 66, 70, 33, false, [30, 30, 10]],
  ] as const) {
    for (const [precision] of precisions) {
      const f16 = precision === 'f16';
      const name = `${format === 'q4' ? 'matmul_q4_gemm' : 'matmul_dense_gemm'}`;
      it(`${name} ${shape(tokens, outDim, inDim, split)} (${precision})`, async (test) => {
        if (f16) requireShaderF16(ctx, test);
        const rng = new Rng(tokens * 31 + outDim + inDim);
        const { w, dense } = weight(rng, format, outDim, inDim, f16Weights, split ? [...split] : undefined);
        const x = random(rng, tokens * inDim);
        const y = up(tokens * outDim);
        const calls = await linearCall({ device, pipelines: caches[precision] }, up(x), w, y, tokens, 'gemm');
        expect(calls.map((c) => c.pipeline.label)).toEqual(
          calls.map(() => pipelineLabel('matmul_tiled.wgsl', 'matmul_gemm', { F16: f16, Q4: format === 'q4' })),
        );
        expectClose(name, f16, await run(calls, y, tokens * outDim), ref.matmul(x, dense, tokens, outDim, inDim));
      });
    }
  }

  // Row counts chosen so that each compiles few pipelines (one per row count: the ROWS override constant).
  for (const [format, outDim, inDim, f16Weights, split, rowCounts] of [
    ['q4', 67, 32, true, undefined, [1, 4]],
    ['q4', 300, 320, false, undefined, [3]],
    ['q4', 129, 4096, true, undefined, [1]],
    ['q4', 70, 128, false, [30, 30, 10], [4]],
    ['dense', 67, 301, false, undefined, [2]],
    ['dense', 33, 2050, true, [20, 13], [2]],
  ] as const) {
    for (const [precision, withSubgroups] of precisions) {
      for (const tokens of rowCounts) {
        const f16 = precision === 'f16';
        const name = format === 'q4' ? 'matmul_q4_gemv' : 'matmul_dense_gemv';
        const what = `${name} ${shape(tokens, outDim, inDim, split)} (${precision}; workgroup and subgroup reductions)`;
        it(what, async (test) => {
          if (f16) requireShaderF16(ctx, test);
          const rng = new Rng(tokens * 17 + outDim + inDim);
          const { w, dense } = weight(rng, format, outDim, inDim, f16Weights, split ? [...split] : undefined);
          const x = up(random(rng, tokens * inDim));
          const expected = ref.matmul(await readFloat32(device, x, tokens * inDim), dense, tokens, outDim, inDim);
          // The dense matrix-vector kernel has no f16 variant: f32 arithmetic on either cache.
          const f16Kernel = f16 && format === 'q4';
          for (const cache of ctx.features.subgroups ? [precision, withSubgroups] : [precision]) {
            const y = up(tokens * outDim);
            const calls = await linearCall({ device, pipelines: caches[cache] }, x, w, y, tokens, 'gemv');
            const defines = { F16: f16Kernel, Q4: format === 'q4', SUBGROUPS: caches[cache].subgroups };
            expect(calls[0].pipeline.label).toBe(pipelineLabel('matmul_gemv.wgsl', 'matmul_gemv', defines));
            expectClose(
              `${name}${caches[cache].subgroups ? ' (subgroups)' : ''}`,
              f16Kernel,
              await run(calls, y, tokens * outDim),
              expected,
            );
          }
        });
      }
    }
  }

  for (const [format, tokens, outDim, inDim, f16Weights, splits, split] of [
    ['q4', 7, 300, 96, false, 1, undefined],
    ['q4', 70, 97, 32, true, 1, undefined],
    ['q4', 5, 1100, 320, true, 3, undefined],
    ['q4', 130, 260, 256, false, 2, undefined],
    ['q4', 9, 2000, 64, true, 'auto', undefined],
    ['q4', 6, 200, 128, true, 2, [100, 64, 36]],
    ['dense', 7, 301, 300, false, 1, undefined],
    ['dense', 66, 500, 34, true, 4, undefined],
    ['dense', 6, 70, 64, false, 1, [30, 30, 10]],
  ] as const) {
    for (const [precision] of precisions) {
      for (const accumulate of [false, true]) {
        const f16 = precision === 'f16';
        const sum = splits === 'auto' ? 'splits by shape' : `${splits} split${splits > 1 ? 's' : ''}`;
        const what = `${shape(tokens, outDim, inDim, split)}, ${sum}${accumulate ? ', accumulating' : ''}`;
        it(`matmul_${format}_input_grad_gemm ${what} (${precision}): dx = dy W`, async (test) => {
          if (f16) requireShaderF16(ctx, test);
          const rng = new Rng(tokens * 13 + outDim + inDim + (accumulate ? 1 : 0));
          const { w, dense } = weight(rng, format, outDim, inDim, f16Weights, split ? [...split] : undefined);
          const dy = random(rng, tokens * outDim);
          const prior = random(rng, tokens * inDim);
          const dx = up(prior);
          const calls = await linearInputGradCall(
            { device, pipelines: caches[precision] },
            up(dy),
            w,
            dx,
            tokens,
            accumulate,
            {
              variant: 'gemm',
              split: splits === 'auto' ? true : splits,
            },
          );
          // One GEMM per chunk, and a partial sum after each that was split.
          const sums = calls.filter((c) => c.label.includes('partial_sum')).length;
          if (splits === 'auto' || splits > 1) expect(sums).toBe(w.chunks.length);
          else expect(sums).toBe(0);
          const expected = ref.matmul(dy, transpose(dense, outDim, inDim), tokens, inDim, outDim);
          if (accumulate) expected.forEach((v, i) => (expected[i] = v + prior[i]));
          expectClose(`matmul_${format}_input_grad_gemm`, f16, await run(calls, dx, tokens * inDim), expected);
        });
      }
    }
  }

  it("writes a split input gradient's partial sums into the caller's buffer (the workspace's)", async () => {
    const [tokens, outDim, inDim, splits] = [5, 1100, 320, 3];
    const rng = new Rng(7);
    const { w, dense } = weight(rng, 'q4', outDim, inDim, true);
    const dy = random(rng, tokens * outDim);
    const dx = up(tokens * inDim);
    // Stale values in the scratch must not leak into dx: each split overwrites its own slice.
    const partials = up(random(rng, splits * tokens * inDim));
    const ctx32 = { device, pipelines: caches.f32 };
    const calls = await linearInputGradCall(ctx32, up(dy), w, dx, tokens, false, { split: splits, partials });
    expect(calls.flatMap((c) => c.owned)).not.toContain(partials);
    const expected = ref.matmul(dy, transpose(dense, outDim, inDim), tokens, inDim, outDim);
    expectClose('matmul_q4_input_grad_gemm', false, await run(calls, dx, tokens * inDim), expected);
    expect(partials.size).toBe(splits * tokens * inDim * 4); // still the caller's: not destroyed with the calls
    const small = up(splits * tokens * inDim - 1);
    await expect(
      linearInputGradCall(ctx32, up(dy), w, dx, tokens, false, { split: splits, partials: small }),
    ).rejects.toThrow(/the partial sums need 19200 bytes, the buffer has 19196/);
  });

  it('splits the input gradient of a vocabulary-sized weight and of nothing else by default', async () => {
    expect(inputGradSplits(40, 32000, 4096)).toBe(7); // Llama-2-7B lm_head, 40 scored tokens: N / K bounds it
    expect(inputGradSplits(40, 128256, 4096)).toBe(8); // Llama-3-8B: 64 tiles, 8 x 64 = 512 workgroups
    expect(inputGradSplits(190, 4096, 11008)).toBe(1); // down: 3 x 172 tiles, and N < K
    expect(inputGradSplits(40, 300, 64)).toBe(1); // short sums are not split
  });

  it('refuses the matrix-vector kernel for more than 4 rows, and for an input gradient', async () => {
    const rng = new Rng(1);
    const { w } = weight(rng, 'q4', 8, 64, false);
    const b = up(64 * 8);
    await expect(linearCall({ device, pipelines: caches.f32 }, b, w, b, 5, 'gemv')).rejects.toThrow(
      /up to 4 rows, got 5/,
    );
    await expect(linearInputGradCall({ device, pipelines: caches.f32 }, b, w, b, 1, false, 'gemv')).rejects.toThrow(
      /no matrix-vector variant/,
    );
  });

  it('picks the kernel by shape: thread for K <= 256, the matrix-vector one for 1-4 rows, the GEMM above', async () => {
    const rng = new Rng(2);
    const labels = async (cache: PipelineCache, tokens: number, inDim: number) => {
      const { w } = weight(rng, 'q4', 70, inDim, true);
      const calls = await linearCall({ device, pipelines: cache }, up(tokens * inDim), w, up(tokens * 70), tokens);
      disposeCalls(calls);
      return calls[0].label;
    };
    for (const cache of [caches.f32, caches.f16]) {
      expect(await labels(cache, 100, 256)).toBe('matmul_q4');
      expect(await labels(cache, 4, 288)).toBe('matmul_q4_gemv');
      expect(await labels(cache, 5, 288)).toBe('matmul_q4_gemm');
    }
    const legacy = new PipelineCache(device, { subgroups: false, matmul: 'legacy' });
    expect(await labels(legacy, 100, 288)).toBe('matmul_q4');
    expect(await labels(legacy, 2, 288)).toBe('matmul_q4');
  });
});
