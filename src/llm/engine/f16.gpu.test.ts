// The engine's one f16 decision (PipelineCache.f16) on the whole model: with f16 forced (lavapipe has shader-f16
// but is a software adapter, where the engine keeps f32 unless asked) the matrix products run in f16 forward and
// backward, and the flash attention backward's dQ and dK/dV keep their tiles in f16; the forward's attention
// tiles stay f32 (kernels/attention.ts ATTENTION_FORWARD_F16_TILES: with them the log-probs left 2e-2). Log-probs
// against the float64 CPU reference within F16_LOGPROB_TOLERANCE, LoRA gradients within F16_GRADIENT_TOLERANCE
// (test-helpers.ts says why), over a batch of several prompts, on a GQA and an MHA shape whose heads take the
// flash kernels (head dims 64 and 128) and whose hidden sizes take the tiled matrix products. The f16 cases need
// shader-f16: on SwiftShader they skip, saying so.
import { describe, expect, it } from 'vitest';
import { PipelineCache } from '../../gpu/pipelines';
import { requireShaderF16 } from '../../gpu/test-adapter';
import { makeModel, type MakeModelOptions } from '../model/make-model';
import { memorySource } from '../model/weights';
import { LlamaEngine } from './engine';
import { attentionVariant } from './kernels/attention';
import {
  cpuLoraGradients,
  fileGpuContext,
  scoringPipelines,
  worstGradientError,
  worstLogprobError,
} from './kernels/test-gpu';
import { planScoring } from './scoring-layout';
import {
  F16_GRADIENT_TOLERANCE,
  F16_LOGPROB_TOLERANCE,
  loraGradientCase,
  loraGradientsOnGpu,
  observationAfter,
} from './test-helpers';

const ctx = await fileGpuContext();

const models: [string, Partial<MakeModelOptions>][] = [
  [
    'q4f16_1, hidden 384, GQA 6/2 heads of 64, 2 layers',
    { hidden: 384, heads: 6, kvHeads: 2, intermediate: 512, layers: 2, quantization: 'q4f16_1' },
  ],
  [
    'q0f16, hidden 512, MHA 4 heads of 128',
    { hidden: 512, heads: 4, kvHeads: 4, intermediate: 384, layers: 1, quantization: 'q0f16' },
  ],
];

/** Three prompts of two tasks, with actions of several lengths: one batch, one pass. */
const observations = () => [
  observationAfter('tomato-salad', [0]),
  observationAfter('tomato-salad', [0, 1]),
  observationAfter('entertainment', [0]),
];

/** The attention pipelines (labels `attention.wgsl:entry [F16]`) among `labels`. */
const attentionPipelines = (labels: Iterable<string>) =>
  [...new Set(labels)].filter((l) => l.startsWith('attention.wgsl:')).sort();

describe('the engine in f16: matrix products and attention backward tiles under one decision', () => {
  for (const [name, options] of models) {
    const headDim = options.hidden! / options.heads!;

    it(`reports and runs one precision for the products and the attention backward, f16 forced or not: ${name}`, async () => {
      expect(attentionVariant(headDim)).toBe('flash');
      const source = memorySource(makeModel({ seed: 3, ...options }).files, name);
      for (const f16 of [false, true]) {
        const engine = await LlamaEngine.load(ctx, source, { useSubgroups: false, f16 });
        // Forced f16 takes effect only where the device has shader-f16 (PipelineCache.f16).
        const expected = f16 && ctx.features.shaderF16 ? 'f16' : 'f32';
        expect(engine.pipelines.f16).toBe(expected === 'f16');
        expect(engine.kernelInfo).toMatchObject({
          precision: expected,
          attention: { kernel: 'flash', forwardTiles: 'f32', backwardTiles: expected },
        });
        expect(attentionPipelines(await scoringPipelines(engine, observations()))).toEqual([
          'attention.wgsl:attention_forward',
        ]);
        engine.dispose();
      }
    });

    it(`scores a batch of several prompts as the CPU reference, f16 forced: ${name}`, async (test) => {
      requireShaderF16(ctx, test);
      const source = memorySource(makeModel({ seed: 7, ...options }).files, name);
      const engine = await LlamaEngine.load(ctx, source, { useSubgroups: false, f16: true });
      const prompts = observations();
      const layout = planScoring(engine.tokenize(prompts));
      expect(layout.lastPromptRows.length).toBe(prompts.length); // one pass holds every prompt
      const worst = await worstLogprobError(engine, source, prompts);
      console.info(`${name}, f16 products: max |log-prob - CPU| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(F16_LOGPROB_TOLERANCE);
      expect(worst).toBeGreaterThan(1e-4); // f16 rounding shows: the f32 engine is within 1e-4
      engine.dispose();
    });

    it(`gives the CPU's LoRA gradients over a batch of several prompts, f16 forced: ${name}`, async (test) => {
      requireShaderF16(ctx, test);
      const made = makeModel({ seed: 8, ...options });
      const source = memorySource(made.files, name);
      const engine = await LlamaEngine.load(ctx, source, { useSubgroups: false, f16: false });
      const prompts = observations();
      const c = loraGradientCase(engine, 5, prompts);
      expect(c.layout.lastPromptRows.length).toBe(prompts.length);
      const reference = await cpuLoraGradients(engine, source, c, prompts);

      const gpu = await loraGradientsOnGpu(
        ctx.device,
        new PipelineCache(ctx.device, { subgroups: false, f16: true }),
        engine,
        c,
      );
      // The training forward keeps the log-sum-exp (f32 tiles), the backward recomputes it as it ran, and its dQ
      // and dK/dV keep f16 tiles.
      expect(attentionPipelines(gpu.forwardPipelines)).toEqual(['attention.wgsl:attention_forward_lse']);
      expect(attentionPipelines(gpu.backwardPipelines)).toEqual([
        'attention.wgsl:attention_backward_dkv [F16]',
        'attention.wgsl:attention_backward_dq [F16]',
        'attention.wgsl:attention_forward_lse',
      ]);
      const worst = worstGradientError(gpu.grads, reference);
      expect(gpu.grads.some((g) => g.a.some((v) => v !== 0))).toBe(true);
      console.info(
        `${name}: LoRA gradients in f16 (products, attention backward tiles), max relative error vs CPU ${worst.toExponential(2)}`,
      );
      expect(worst).toBeLessThan(F16_GRADIENT_TOLERANCE);
      engine.dispose();
    });
  }
});
