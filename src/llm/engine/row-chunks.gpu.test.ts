// A weight larger than one storage binding is uploaded in row chunks and every kernel that reads it runs once
// per chunk (gpu-weights.ts, kernels/linear.ts). The engine's `maxBindingBytes` forces the split on small
// models: the vocabulary-sized embedding and lm_head go up as 3 uneven chunks (and any other tensor over the
// cap is split too). Scoring must equal the unsplit engine (the same sums in the same order: within 1e-6)
// and the CPU reference (1e-4); LoRA gradients through the backward (the lm_head input gradient accumulates
// over chunks) must equal the unsplit engine's. Thread variants (hidden 64), workgroup variants (hidden > 256),
// q4 and dense, tied and untied embeddings.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PipelineCache } from '../../gpu/pipelines';
import { LlamaEngine } from './engine';
import { fileGpuContext, KERNEL_TEST_MODELS } from './kernels/test-gpu';
import type { GpuLinear } from './kernels/linear';
import { makeModel } from '../model/make-model';
import { scoreActions } from '../reference/score';
import { loadLlamaModel, memorySource, type ModelSource } from '../model/weights';
import { directorySource } from '../model/weights-node';
import {
  loraGradientCase,
  loraGradientsOnGpu,
  relativeError,
  scoreRequests,
  tokenLogprobsOf,
  tomatoSaladObservations,
} from './test-helpers';

const ctx = await fileGpuContext();

/** Bytes of one row of the widest buffer of W [N, K] as uploaded (q4 words; dense f16 or f32). */
function widestRowBytes(w: GpuLinear): number {
  if (w.format === 'q4') return (w.inDim / 8) * 4;
  return w.inDim * (w.f16 ? 2 : 4);
}

/** A cap that splits the vocabulary V into ceil(V / 3) + 5, the same, and the rest: 3 uneven chunks. */
function threeChunkCap(lmHead: GpuLinear): { cap: number; rows: number[] } {
  const V = lmHead.outDim;
  const per = Math.ceil(V / 3) + 5;
  return { cap: per * widestRowBytes(lmHead), rows: [per, per, V - 2 * per] };
}

const spans = (w: GpuLinear) => w.chunks.map((c) => [c.rowStart, c.rows]);

const models: [string, () => ModelSource, boolean][] = [
  [
    'the micro model (q4f16_1, untied, hidden 64: thread variants)',
    () => directorySource(resolve(process.cwd(), 'public/models/micro')),
    false,
  ],
  [
    'q4f32_1, tied, hidden 64 (thread variants)',
    () =>
      memorySource(makeModel({ seed: 3, tieEmbeddings: true, quantization: 'q4f32_1', layers: 1 }).files, 'q4 tied'),
    true,
  ],
  [
    'q4f16_1, untied, hidden 320 (workgroup variants)',
    () => memorySource(makeModel({ seed: 7, ...KERNEL_TEST_MODELS.q4Mha320 }).files, 'q4 320'),
    false,
  ],
  [
    'q0f16, tied, hidden 288 (workgroup variants, dense embedding)',
    () => memorySource(makeModel({ seed: 7, ...KERNEL_TEST_MODELS.q0f16Gqa288Tied }).files, 'q0f16 288'),
    true,
  ],
];

/** The unsplit engine, and one whose cap splits the vocabulary tensors into 3 uneven chunks. */
async function engines(source: ModelSource): Promise<{ whole: LlamaEngine; split: LlamaEngine; rows: number[] }> {
  // Subgroups off: the f32 workgroup kernels on every adapter (the subgroup variants get the same offsets).
  // f32: the split must equal the whole weight to 1e-6 and the CPU to 1e-4 (the f16 kernels' bounds are
  // matmul-kernels.gpu.test.ts's).
  const whole = await LlamaEngine.load(ctx, source, { useSubgroups: false, f16: false });
  const { cap, rows } = threeChunkCap(whole.weights.lmHead);
  const split = await LlamaEngine.load(ctx, source, { useSubgroups: false, f16: false, maxBindingBytes: cap });
  return { whole, split, rows };
}

describe('a weight over the binding limit, split by rows', () => {
  for (const [name, source, tied] of models) {
    it(`scores as unsplit (1e-6) and as the CPU reference (1e-4): ${name}`, async () => {
      const { whole, split, rows } = await engines(source());
      expect(whole.weights.lmHead.chunks.length).toBe(1);
      const expectedSpans = rows.map((r, i) => [i * rows[0], r]);
      expect(spans(split.weights.lmHead)).toEqual(expectedSpans);
      expect(spans(split.weights.embed)).toEqual(expectedSpans);
      expect(split.weights.lmHead === split.weights.embed).toBe(tied);
      const cpu = await loadLlamaModel(source());
      const prompts = tomatoSaladObservations();
      const [a, b] = [await scoreRequests(whole, prompts), await scoreRequests(split, prompts)];
      const [tokensA, tokensB] = [await tokenLogprobsOf(whole, a.batch), await tokenLogprobsOf(split, b.batch)];
      let vsWhole = 0;
      let vsCpu = 0;
      prompts.forEach((p, i) =>
        p.actions.forEach((text, k) => {
          const reference = scoreActions(cpu.weights, split.tokenizer, p.prompt, [text]).actions[0];
          tokensB[i][k].forEach((lp, t) => (vsWhole = Math.max(vsWhole, Math.abs(lp - tokensA[i][k][t]))));
          vsCpu = Math.max(vsCpu, Math.abs(b.scores[i].logprobs[k] - reference.logprob));
        }),
      );
      console.info(
        `${name}: max |token log-prob, split - unsplit| = ${vsWhole.toExponential(2)}; max |log-prob - CPU| = ${vsCpu.toExponential(2)}`,
      );
      expect(vsWhole).toBeLessThanOrEqual(1e-6);
      expect(vsCpu).toBeLessThanOrEqual(1e-4);
      // The critic's input runs through the split embedding too.
      expect(relativeError(b.scores[0].promptHidden!, a.scores[0].promptHidden!)).toBeLessThan(1e-6);
      whole.dispose();
      split.dispose();
    });

    it(`gives the unsplit LoRA gradients: ${name}`, async () => {
      const { whole, split } = await engines(source());
      const c = loraGradientCase(whole);
      const gradients = (engine: LlamaEngine) =>
        loraGradientsOnGpu(ctx.device, new PipelineCache(ctx.device, { subgroups: false }), engine, c);
      const [a, b] = [await gradients(whole), await gradients(split)];
      // The split backward runs the lm_head input gradient once per chunk (and any other split weight's).
      const inputGrads = (r: { backwardCalls: string[] }) =>
        r.backwardCalls.filter((label) => label.endsWith('_input_grad')).length;
      expect(inputGrads(b)).toBeGreaterThanOrEqual(inputGrads(a) + 2);
      let worstToken = 0;
      b.tokenLogprobs.forEach((v, i) => (worstToken = Math.max(worstToken, Math.abs(v - a.tokenLogprobs[i]))));
      let worstGrad = 0;
      b.grads.forEach(
        (g, i) => (worstGrad = Math.max(worstGrad, relativeError(g.a, a.grads[i].a), relativeError(g.b, a.grads[i].b))),
      );
      console.info(
        `${name}: LoRA gradients, max relative error split vs unsplit = ${worstGrad.toExponential(2)}; max |token log-prob diff| = ${worstToken.toExponential(2)}`,
      );
      expect(worstToken).toBeLessThanOrEqual(1e-6);
      expect(worstGrad).toBeLessThan(1e-5);
      expect(b.grads.some((g) => g.a.some((v) => v !== 0))).toBe(true);
      whole.dispose();
      split.dispose();
    });
  }

  it('refuses a model with a row wider than the cap, saying so', async () => {
    const source = directorySource(resolve(process.cwd(), 'public/models/micro'));
    // A norm weight is one row of 64 f32 (256 bytes), the widest row there is; the cap rounds down to words.
    await expect(LlamaEngine.load(ctx, source, { maxBindingBytes: 255 })).rejects.toThrow(
      /^model\.layers\.0\.input_layernorm: has rows of 256 bytes but this adapter allows 252 bytes per GPU buffer \(maxStorageBufferBindingSize \/ maxBufferSize\), and a row cannot be split/,
    );
  });
});
