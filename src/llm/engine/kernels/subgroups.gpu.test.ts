// The subgroup kernels (the SUBGROUPS variants of shaders/) on Dawn, each against the CPU reference within the
// tolerance of its workgroup variant's test, and against that f32 workgroup variant itself, at shapes above the
// thread variants' limits (so the workgroup kernel is what they replace) and at sizes that are not multiples of
// the subgroup size, the workgroup size or the output tile. Skipped only where the adapter lacks `subgroups`
// (or TWOSOME_SUBGROUPS=0 turned it off): there the f32 workgroup kernels run, tested in their own files.
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../../gpu/buffers';
import { disposeCalls, submitCalls, type KernelVariant } from '../../../gpu/kernel';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import * as ref from '../../reference/ops';
import { logSoftmaxGatherBackward, logSoftmaxGatherForward } from '../../reference/logsoftmax-gather';
import { rmsnormBackward, rmsnormForward } from '../../reference/rmsnorm';
import { LOGSOFTMAX_THREAD_MAX_VOCAB, logSoftmaxGatherBackwardCall, logSoftmaxGatherCall } from './logsoftmax-gather';
import { linearCall, type GpuLinear } from './linear';
import { rmsnormBackwardCall, rmsnormForwardCall } from './rmsnorm';
import { fileKernelGpu, random, WorstErrors } from './test-gpu';
import { randomLinear } from './test-weights';

/** Worst errors seen, per kernel, printed once at the end (what the subgroup paths cost in rounding). */
const worst = new WorstErrors<{ reference: number; workgroup: number }>();
// At collection time, so that the suite can be skipped by what the adapter has.
const {
  ctx,
  device,
  upload: up,
  run,
} = await fileKernelGpu(() =>
  worst.print(
    `subgroup kernels, subgroup sizes ${JSON.stringify(ctx.subgroupSizes)}; worst |a - b| / max(1, |b|)`,
    (k, e) =>
      `  ${k.padEnd(28)} vs reference ${e.reference.toExponential(2)}, vs workgroup ${e.workgroup.toExponential(2)}`,
  ),
);

const pipelines = new PipelineCache(device);
const gpu = { device, pipelines };
/** max_i |a_i - b_i| / max(1, |b_i|), the measure every kernel test of this repo uses. */
function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}
/** Checks the subgroup result against the reference and the workgroup result, within `tolerance` of each. */
function expectBoth(
  kernel: string,
  subgroup: Float32Array,
  reference: ArrayLike<number>,
  workgroup: Float32Array,
  tolerance: number,
): void {
  const e = { reference: maxError(subgroup, reference), workgroup: maxError(subgroup, workgroup) };
  worst.record(kernel, e);
  expect(e.reference).toBeLessThanOrEqual(tolerance);
  expect(e.workgroup).toBeLessThanOrEqual(tolerance);
  // The workgroup variant itself meets the same bound: the comparison is between two valid results.
  expect(maxError(workgroup, reference)).toBeLessThanOrEqual(tolerance);
}

describe('kernel variant selection', () => {
  it('allows subgroups in a pipeline cache only where the device has them (kernel.test.ts: the choice by shape)', async () => {
    expect(new PipelineCache(device).subgroups).toBe(ctx.features.subgroups);
    expect(new PipelineCache(device, { subgroups: false }).subgroups).toBe(false);
  });

  it('builds calls on the pipeline the cache chose (labels name shader and entry point)', async () => {
    const off = new PipelineCache(device, { subgroups: false });
    const b = { x: up(4 * 300), weight: up(300), y: up(4 * 300), rstd: up(4) };
    const label = async (cache: PipelineCache, dim: number) => {
      const call = await rmsnormForwardCall({ device, pipelines: cache }, b, 4, dim, 1e-5);
      disposeCalls([call]);
      return call.pipeline.label;
    };
    expect(await label(off, 300)).toBe('rmsnorm.wgsl:rmsnorm_forward');
    expect(await label(off, 200)).toBe('rmsnorm.wgsl:rmsnorm_forward_rows');
    expect(await label(pipelines, 200)).toBe('rmsnorm.wgsl:rmsnorm_forward_rows');
    expect(await label(pipelines, 300)).toBe(
      ctx.features.subgroups ? 'rmsnorm.wgsl:rmsnorm_forward [SUBGROUPS]' : 'rmsnorm.wgsl:rmsnorm_forward',
    );
  });

  it.skipIf(ctx.features.subgroups)('refuses a forced subgroup variant on a device without the feature', async () => {
    const b = { x: up(4), weight: up(4), y: up(4), rstd: up(4) };
    await expect(rmsnormForwardCall(gpu, b, 1, 4, 1e-5, 'subgroup')).rejects.toThrow(/subgroups/);
  });
});

describe.skipIf(!ctx.features.subgroups)(
  'subgroup kernels on Dawn (skipped where the adapter has no subgroups feature)',
  () => {
    it("run with a subgroup size in the adapter's reported range", async () => {
      const module = device.createShaderModule({
        code: `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(local_invocation_index) i: u32, @builtin(subgroup_size) n: u32) { out[i] = n; }`,
      });
      const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const out = up(64);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: out } }],
      });
      submitCalls(device, [{ label: 'subgroup size', pipeline, bindGroup, workgroups: [1, 1, 1], owned: [] }]);
      const sizes = new Uint32Array((await readFloat32(device, out, 64)).buffer);
      const size = sizes[0];
      expect(new Set(sizes)).toEqual(new Set([size]));
      expect([4, 8, 16, 32, 64, 128]).toContain(size);
      if (ctx.subgroupSizes) {
        expect(size).toBeGreaterThanOrEqual(ctx.subgroupSizes.min);
        expect(size).toBeLessThanOrEqual(ctx.subgroupSizes.max);
      }
    });

    for (const [rows, dim] of [
      [17, 257],
      [5, 300],
      [3, 1000],
      [4, 2048],
      [2, 4099],
    ] as const) {
      it(`rmsnorm_forward [SUBGROUPS] T=${rows} D=${dim}`, async () => {
        const rng = new Rng(rows * 1000 + dim);
        const x = random(rng, rows * dim, 3);
        const weight = Float32Array.from({ length: dim }, () => 1 + 0.5 * rng.normal());
        const inputs = { x: up(x), weight: up(weight) };
        const result = async (variant: KernelVariant) => {
          const b = { ...inputs, y: up(rows * dim), rstd: up(rows) };
          const y = await run(await rmsnormForwardCall(gpu, b, rows, dim, 1e-5, variant), b.y, rows * dim);
          return { y, rstd: await readFloat32(device, b.rstd, rows) };
        };
        const [sg, wg] = [await result('subgroup'), await result('workgroup')];
        const expected = rmsnormForward(x, weight, rows, dim, 1e-5);
        // rmsnorm.gpu.test.ts: y to 4 decimals, rstd to 1e-5 relative.
        expectBoth('rmsnorm_forward', sg.y, expected.y, wg.y, 5e-5);
        for (let t = 0; t < rows; t++) {
          expect(Math.abs(sg.rstd[t] - expected.rstd[t]) / expected.rstd[t]).toBeLessThan(1e-5);
          expect(Math.abs(sg.rstd[t] - wg.rstd[t]) / wg.rstd[t]).toBeLessThan(1e-5);
        }
      });
    }

    for (const [rows, dim, residual] of [
      [5, 300, false],
      [3, 1000, true],
      [7, 2049, false],
    ] as const) {
      it(`rmsnorm_backward [SUBGROUPS] T=${rows} D=${dim}${residual ? ' (with the residual)' : ''}`, async () => {
        const rng = new Rng(dim);
        const x = random(rng, rows * dim, 2);
        const w = random(rng, dim);
        const dy = random(rng, rows * dim);
        const prior = random(rng, rows * dim);
        const { rstd } = rmsnormForward(x, w, rows, dim, 1e-5);
        const inputs = {
          x: up(x),
          weight: up(w),
          dy: up(dy),
          rstd: up(Float32Array.from(rstd)),
          dresidual: residual ? up(prior) : undefined,
        };
        const result = async (variant: KernelVariant) => {
          const dx = up(rows * dim);
          return run(await rmsnormBackwardCall(gpu, { ...inputs, dx }, rows, dim, variant), dx, rows * dim);
        };
        const expected = rmsnormBackward(x, w, rstd, dy, rows, dim).map((v, i) => v + (residual ? prior[i] : 0));
        expectBoth('rmsnorm_backward', await result('subgroup'), expected, await result('workgroup'), 1e-5);
      });
    }

    for (const [rows, vocab] of [
      [6, LOGSOFTMAX_THREAD_MAX_VOCAB + 3],
      [3, 5000],
      [2, 32001],
    ] as const) {
      it(`logsoftmax_gather [SUBGROUPS] and its backward, J=${rows} V=${vocab}`, async () => {
        const rng = new Rng(vocab);
        const logits = random(rng, rows * vocab, 4);
        const targets = Uint32Array.from({ length: rows }, (_, j) => (j === 0 ? vocab - 1 : rng.int(vocab)));
        const g = Float32Array.from({ length: rows }, () => rng.normal());
        const inputs = { logits: up(logits), targets: up(targets), g: up(g) };
        const forward = async (variant: KernelVariant) => {
          const out = up(rows);
          return run(
            await logSoftmaxGatherCall(gpu, inputs.logits, inputs.targets, out, rows, vocab, variant),
            out,
            rows,
          );
        };
        const backward = async (variant: KernelVariant) => {
          const out = up(rows * vocab);
          return run(
            await logSoftmaxGatherBackwardCall(gpu, inputs.logits, inputs.targets, inputs.g, out, rows, vocab, variant),
            out,
            rows * vocab,
          );
        };
        // forward-ops and backward-ops tests: 1e-5.
        expectBoth(
          'logsoftmax_gather',
          await forward('subgroup'),
          logSoftmaxGatherForward(logits, targets, vocab),
          await forward('workgroup'),
          1e-5,
        );
        expectBoth(
          'logsoftmax_gather_backward',
          await backward('subgroup'),
          logSoftmaxGatherBackward(logits, targets, g, vocab),
          await backward('workgroup'),
          1e-5,
        );
      });
    }

    // q4 with f32 or f16 scales, dense with f32 or f16 words (randomLinear).
    for (const [format, tokens, outDim, inDim, f16] of [
      ['q4', 1, 300, 320, false],
      ['q4', 9, 130, 320, true],
      ['q4', 5, 67, 288, true],
      ['q4', 6, 257, 1024, false],
      ['q4', 2, 1001, 2048, true],
      ['dense', 6, 67, 300, false],
      ['dense', 6, 67, 300, true],
      ['dense', 3, 130, 1001, false],
      ['dense', 1, 9, 4098, true],
      ['dense', 5, 255, 2048, false],
    ] as const) {
      const storage = `${f16 ? 'f16' : 'f32'} ${format === 'q4' ? 'scales' : 'weights'}`;
      it(`matmul_${format}_subgroup T=${tokens} N=${outDim} K=${inDim} ${storage}`, async () => {
        const rng = new Rng(tokens * (format === 'q4' ? 7 : 11) + outDim + inDim);
        const { dense, linear } = randomLinear(rng, format, outDim, inDim, f16);
        const weight = linear(up);
        const x = random(rng, tokens * inDim);
        const xBuf = up(x);
        const result = async (variant: KernelVariant) => {
          const y = up(tokens * outDim);
          return run(await linearCall(gpu, xBuf, weight, y, tokens, variant), y, tokens * outDim);
        };
        // linear.gpu.test.ts: 1e-4 relative.
        expectBoth(
          `matmul_${format}`,
          await result('subgroup'),
          ref.matmul(x, dense, tokens, outDim, inDim),
          await result('workgroup'),
          1e-4,
        );
      });
    }

    // A weight split by rows (gpu-weights.ts, for one larger than a binding): each chunk's dispatch writes its
    // columns of y through reduce_and_write's y_col0 / y_stride, the same bits as the whole weight.
    for (const format of ['q4', 'dense'] as const) {
      it(`matmul_${format}_subgroup on a weight split in 3 row chunks equals it whole`, async () => {
        const rng = new Rng(format === 'q4' ? 41 : 42);
        const [tokens, outDim, inDim, split] = [5, 70, 640, [30, 30, 10]];
        const { linear } = randomLinear(rng, format, outDim, inDim, format === 'q4');
        const [whole, chunked] = [linear(up), linear(up, split)];
        const xBuf = up(random(rng, tokens * inDim));
        const result = async (w: GpuLinear) => {
          const y = up(tokens * outDim);
          return run(await linearCall(gpu, xBuf, w, y, tokens, 'subgroup'), y, tokens * outDim);
        };
        expect(await result(chunked)).toEqual(await result(whole));
      });
    }

    it('gives the same bits on every run (one deterministic choice per device)', async () => {
      const rng = new Rng(9);
      const [tokens, outDim, inDim] = [3, 70, 640];
      const weight = randomLinear(rng, 'q4', outDim, inDim, true).linear(up);
      const xBuf = up(random(rng, tokens * inDim));
      const y = up(tokens * outDim);
      const first = await run(await linearCall(gpu, xBuf, weight, y, tokens), y, tokens * outDim);
      const second = await run(await linearCall(gpu, xBuf, weight, y, tokens), y, tokens * outDim);
      expect(second).toEqual(first);
    });
  },
);
