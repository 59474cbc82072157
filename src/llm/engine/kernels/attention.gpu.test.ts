// attention.wgsl on Dawn against the CPU reference (src/llm/reference/attention.ts), forward and backward, both
// variants, f32 and (where the device has shader-f16) f16 tiles: head dims 16, 64 and 128, MHA and GQA, shared-prompt layouts with several prompts and actions
// (flash blocks of 16 queries straddle prompt/action and prompt/prompt boundaries; row counts are not multiples
// of a block), and separate sequences.
import { afterAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import { disposeCalls, submitCalls, type KernelCall } from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { Rng } from '../../../util/rng';
import { attentionBackward, attentionForward } from '../../reference/attention';
import { planScoring, type ScoringRequest } from '../scoring-layout';
import { attentionBackwardCalls, attentionForwardCall, attentionReaders, type AttentionVariant } from './attention';

// At collection time, so that the f16 cases can be skipped by what the adapter has.
const ctx: GpuContext = await requestNodeGpuContext();
const pipelines = new PipelineCache(ctx.device);
const owned: GPUBuffer[] = [];
afterAll(() => {
  owned.forEach((b) => b.destroy());
  ctx?.device.destroy();
});
const gpu = () => ({ device: ctx.device, pipelines });
const up = (data: Float32Array | Uint32Array | number) => {
  const b = createStorageBuffer(ctx.device, typeof data === 'number' ? data * 4 : data);
  owned.push(b);
  return b;
};
async function run(calls: KernelCall[], out: GPUBuffer, count: number): Promise<Float32Array> {
  submitCalls(ctx.device, calls);
  disposeCalls(calls);
  return readFloat32(ctx.device, out, count);
}
const random = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());
/** max |a - b| / max(1, |b|) */
function worstError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  return worst;
}
const prompt = (n: number, first = 0) => Array.from({ length: n }, (_, i) => first + i);

/** Layouts: several prompts (one of 3 tokens, so a block holds rows of two prompts) with actions of 1-5 tokens. */
const SHARED: ScoringRequest[] = [
  { promptTokens: prompt(37), actionTokens: [[1, 2, 3], [4], [5, 6], [7, 8, 9, 10, 11]] },
  { promptTokens: prompt(3, 50), actionTokens: [[9, 8]] },
  { promptTokens: prompt(21, 70), actionTokens: [[3], [4, 5, 6]] },
];
const SEPARATE: ScoringRequest[] = [
  {
    promptTokens: prompt(13),
    actionTokens: [
      [1, 2],
      [3, 4, 5],
    ],
  },
  { promptTokens: prompt(6, 40), actionTokens: [[7]] },
];

const cases: [string, [number, number, number], 'shared' | 'separate', AttentionVariant][] = [
  ['MHA hd 16', [4, 4, 16], 'shared', 'flash'],
  ['MHA hd 16', [4, 4, 16], 'shared', 'thread'],
  ['GQA hd 16', [6, 2, 16], 'separate', 'flash'],
  ['GQA hd 16', [6, 2, 16], 'separate', 'thread'],
  ['GQA (4 heads per kv head) hd 64', [8, 2, 64], 'shared', 'flash'],
  ['MHA hd 64', [2, 2, 64], 'separate', 'flash'],
  ['MHA hd 128', [2, 2, 128], 'shared', 'flash'],
  ['GQA hd 128', [3, 1, 128], 'separate', 'flash'],
  ['MHA hd 34 (9 or 8 dims per lane)', [2, 2, 34], 'separate', 'flash'],
];
// f16 tiles (flash only), where the device has shader-f16: the tolerances of f16 rounding (11-bit significands:
// 5e-4 relative per K/V element) through hd-long products and a softmax, on unit-normal inputs.
const f16Cases = cases.filter(([, [, , hd], , variant]) => variant === 'flash' && hd >= 64);
const TOLERANCE = { f32: { forward: 1e-5, backward: 1e-4 }, f16: { forward: 1e-2, backward: 5e-2 } };

describe('attention.wgsl on Dawn', () => {
  const all = [...cases.map((c) => [...c, false] as const), ...f16Cases.map((c) => [...c, true] as const)];
  for (const [name, [heads, kvHeads, headDim], mode, variant, f16] of all) {
    const precision = f16 ? 'f16' : 'f32';
    it.skipIf(f16 && !ctx.features.shaderF16)(
      `${name}, ${mode} layout, ${variant}, ${precision} tiles: out, lse and dqkv match the reference`,
      async () => {
        const rng = new Rng(heads * 1000 + headDim);
        const layout = planScoring(mode === 'shared' ? SHARED : SEPARATE, mode);
        const rows = layout.tokens.length;
        const shape = { rows, heads, kvHeads, headDim };
        const stride = (heads + 2 * kvHeads) * headDim;
        const qkv = random(rng, rows * stride);
        const dout = random(rng, rows * heads * headDim);
        const ref = attentionForward(qkv, layout.segments, rows, heads, kvHeads, headDim);
        const dqkvRef = attentionBackward(qkv, layout.segments, ref, dout, rows, heads, kvHeads, headDim);

        const [qkvBuf, segments, out, lse, dqkv] = [
          up(qkv),
          up(layout.segments),
          up(rows * heads * headDim),
          up(rows * heads),
          up(rows * stride),
        ];
        const readers = attentionReaders(layout.segments, shape, variant);
        const options = { variant, f16 };
        const forward = await attentionForwardCall(
          gpu(),
          { qkv: qkvBuf, segments, out, lse },
          shape,
          layout.segments,
          options,
        );
        const backward = await attentionBackwardCalls(
          gpu(),
          {
            qkv: qkvBuf,
            segments,
            out,
            lse,
            dout: up(dout),
            delta: up(rows * heads),
            dqkv,
            readerOffsets: up(readers.offsets),
            readers: up(readers.readers),
          },
          shape,
          layout.segments,
          readers,
          options,
        );
        const dqkvGpu = await run([forward, ...backward], dqkv, rows * stride);
        const outError = worstError(await run([], out, rows * heads * headDim), ref.out);
        expect(outError).toBeLessThanOrEqual(TOLERANCE[precision].forward);
        expect(worstError(await run([], lse, rows * heads), ref.lse)).toBeLessThanOrEqual(TOLERANCE[precision].forward);
        expect(worstError(dqkvGpu, dqkvRef)).toBeLessThanOrEqual(TOLERANCE[precision].backward);
        // f16 tiles really are f16: their rounding shows
        if (f16) expect(outError).toBeGreaterThan(1e-5);

        // The scoring forward (no lse) writes the same out.
        const out2 = up(rows * heads * headDim);
        const plain = await attentionForwardCall(
          gpu(),
          { qkv: qkvBuf, segments, out: out2 },
          shape,
          layout.segments,
          options,
        );
        expect(await run([plain], out2, rows * heads * headDim)).toEqual(await run([], out, rows * heads * headDim));
      },
    );
  }

  it('shared-prompt rows equal the same rows scored as separate sequences (flash, GQA, hd 64)', async () => {
    const [heads, kvHeads, headDim] = [4, 2, 64];
    const rng = new Rng(7);
    const stride = (heads + 2 * kvHeads) * headDim;
    // Row contents are a function of (token, position), so that shared and separate rows agree.
    const rowValues = new Map<string, Float32Array>();
    const actionRows: Record<string, Float32Array> = {};
    const request = SHARED[0];
    const promptLen = request.promptTokens.length;
    for (const mode of ['shared', 'separate'] as const) {
      const layout = planScoring([request], mode);
      const rows = layout.tokens.length;
      const qkv = new Float32Array(rows * stride);
      for (let r = 0; r < rows; r++) {
        const key = `${layout.tokens[r]}@${layout.positions[r]}`;
        if (!rowValues.has(key)) rowValues.set(key, random(rng, stride));
        qkv.set(rowValues.get(key)!, r * stride);
      }
      const out = up(rows * heads * headDim);
      const call = await attentionForwardCall(
        gpu(),
        { qkv: up(qkv), segments: up(layout.segments), out },
        { rows, heads, kvHeads, headDim },
        layout.segments,
      );
      const actual = await run([call], out, rows * heads * headDim);
      const width = heads * headDim;
      const picked: number[] = [];
      for (let r = 0; r < rows; r++)
        if (layout.positions[r] >= promptLen) picked.push(...actual.slice(r * width, (r + 1) * width));
      actionRows[mode] = Float32Array.from(picked);
    }
    expect(actionRows.shared.length).toBe((3 + 1 + 2 + 5) * heads * headDim);
    expect(worstError(actionRows.shared, actionRows.separate)).toBeLessThanOrEqual(1e-5);
  });

  it('refuses shapes it cannot run, with the reason', async () => {
    const layout = planScoring(SEPARATE, 'separate');
    const rows = layout.tokens.length;
    const b = { qkv: up(4), segments: up(4), out: up(4) };
    await expect(
      attentionForwardCall(gpu(), b, { rows, heads: 2, kvHeads: 1, headDim: 512 }, layout.segments),
    ).rejects.toThrow(/head_dim 512 > 256/);
    await expect(
      attentionForwardCall(gpu(), b, { rows, heads: 3, kvHeads: 2, headDim: 64 }, layout.segments),
    ).rejects.toThrow(/3 heads is not a multiple of 2 kv heads/);
    await expect(
      attentionForwardCall(gpu(), b, { rows, heads: 2, kvHeads: 1, headDim: 64 }, layout.segments, {
        variant: 'thread',
      }),
    ).rejects.toThrow(/thread variant takes head_dim <= 32/);
    await expect(
      attentionForwardCall(gpu(), b, { rows: rows + 1, heads: 2, kvHeads: 1, headDim: 64 }, layout.segments),
    ).rejects.toThrow(/rows of segments/);
  });
});
