// The whole model on the tiled matrix products (kernels/linear.ts: the GEMM, the matrix-vector kernel, the tiled
// input gradient) in f32 and, where the adapter has shader-f16, f16, and on the legacy kernels, one device:
// scores against the float64 CPU reference, and LoRA gradients (through the tiled input gradient) against the
// CPU reference's, on random models whose hidden size is above the thread variants' 256 (so the projections
// take the new kernels; the micro model takes the thread kernels, which nothing here changes).
import { afterAll, describe, expect, it } from 'vitest';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { PipelineCache } from '../../gpu/pipelines';
import { requireShaderF16 } from '../../gpu/test-adapter';
import { LlamaEngine } from './engine';
import { ScoringForward } from './forward';
import { makeModel, type MakeModelOptions } from '../model/make-model';
import { loraGradientsPerToken } from '../reference/backward';
import { scoreActions } from '../reference/score';
import { planScoring } from './scoring-layout';
import { loadLlamaModel, memorySource } from '../model/weights';
import {
  F16_GRADIENT_TOLERANCE,
  F16_LOGPROB_TOLERANCE,
  loraGradientCase,
  loraGradientsOnGpu,
  relativeError,
  scoreRequests,
  tomatoSaladObservations,
} from './test-helpers';

const ctx = await requestNodeGpuContext();
afterAll(() => ctx.device.destroy());

const models: [string, Partial<MakeModelOptions>][] = [
  [
    'q4f16_1, hidden 320, MHA',
    { hidden: 320, heads: 5, kvHeads: 5, intermediate: 384, layers: 1, quantization: 'q4f16_1' },
  ],
  [
    'q0f16, hidden 288, GQA, tied',
    { hidden: 288, heads: 4, kvHeads: 2, intermediate: 320, layers: 1, quantization: 'q0f16', tieEmbeddings: true },
  ],
  [
    'q4f32_1, hidden 384, GQA, 2 layers',
    { hidden: 384, heads: 6, kvHeads: 2, intermediate: 512, layers: 2, quantization: 'q4f32_1' },
  ],
];

type Kernels = 'tiled f32' | 'tiled f16' | 'legacy';
const engineOptions: Record<Kernels, { f16: boolean; matmul: 'tiled' | 'legacy' }> = {
  'tiled f32': { f16: false, matmul: 'tiled' },
  'tiled f16': { f16: true, matmul: 'tiled' },
  legacy: { f16: false, matmul: 'legacy' },
};

/**
 * On SwiftShader (seconds per tiled pass, no f16) only the first model with the tiled f32 kernels: the kernels
 * themselves are tested there in kernels/matmul-tiled.gpu.test.ts, the legacy ones in subgroups.gpu.test.ts.
 */
const slow = ctx.adapterKind === 'swiftshader';
const skipOnSlow = (test: { skip(note?: string): never }, what: string) => {
  if (slow) test.skip(`${what}: on lavapipe; SwiftShader runs the first model's tiled f32 cases`);
};

describe('the model on the tiled matrix products, f32 and f16, and on the legacy ones', () => {
  models.forEach(([name, options], m) => {
    const q4 = options.quantization?.startsWith('q4');
    const format = q4 ? 'q4' : 'dense';
    for (const kernels of Object.keys(engineOptions) as Kernels[]) {
      it(`scores as the CPU reference, ${kernels} kernels: ${name}`, async (test) => {
        if (kernels === 'tiled f16') requireShaderF16(ctx, test);
        if (m > 0 || kernels === 'legacy') skipOnSlow(test, name);
        const source = memorySource(makeModel({ seed: 7, ...options }).files, name);
        const engine = await LlamaEngine.load(ctx, source, { useSubgroups: false, ...engineOptions[kernels] });
        expect(engine.pipelines.f16).toBe(kernels === 'tiled f16');
        const prompts = tomatoSaladObservations();

        // The projections' kernels: the GEMM (every pass here has more than 4 rows), in f16 where asked.
        const layout = planScoring(engine.tokenize(prompts));
        const forward = await ScoringForward.build(ctx.device, engine.pipelines, engine.weights, layout);
        const used = new Set(forward.kernelCalls.map((c) => c.pipeline.label));
        forward.dispose();
        const gemm = `matmul_${format}_tiled.wgsl:matmul_${format}_gemm`;
        if (kernels === 'legacy') {
          expect(used).toContain(`matmul_${format}.wgsl:matmul_${format}`);
          expect([...used].filter((l) => l.includes('_tiled.wgsl'))).toEqual([]);
        } else {
          expect(used).toContain(kernels === 'tiled f16' ? `${gemm} [F16]` : gemm);
          if (kernels === 'tiled f16') expect(used).not.toContain(gemm);
          expect([...used].filter((l) => l.startsWith(`matmul_${format}.wgsl`))).toEqual([]);
        }

        const cpu = (await loadLlamaModel(source)).weights;
        const reference = prompts.map((p) => scoreActions(cpu, engine.tokenizer, p.prompt, p.actions));
        const { scores } = await scoreRequests(engine, prompts);
        let worst = 0;
        scores.forEach((s, p) =>
          s.logprobs.forEach((lp, k) => (worst = Math.max(worst, Math.abs(lp - reference[p].actions[k].logprob)))),
        );
        console.info(`${name}, ${kernels} kernels: max |log-prob - CPU| = ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(kernels === 'tiled f16' ? F16_LOGPROB_TOLERANCE : 1e-4);
        expect(worst).toBeGreaterThan(0); // the scores were compared at all
        engine.dispose();
      });
    }

    it(`gives the CPU's LoRA gradients through the tiled input gradient, f32 and f16: ${name}`, async (test) => {
      if (m > 0) skipOnSlow(test, name);
      const made = makeModel({ seed: 8, ...options });
      const source = memorySource(made.files, name);
      const engine = await LlamaEngine.load(ctx, source, { useSubgroups: false, f16: false });
      const c = loraGradientCase(engine);
      // The CPU reference with the same per-token upstream gradients (float64).
      const prompts = tomatoSaladObservations().map((o) => ({
        promptIds: engine.tokenizer.encodePrompt(o.prompt),
        actions: o.actions.map((a) => engine.tokenizer.encodeAction(o.prompt, a)),
      }));
      const perToken = c.layout.actionLogitRanges.map((ranges) =>
        ranges.map(({ first, count }) => Array.from(c.tokenGrads.subarray(first, first + count))),
      );
      const cpu = (await loadLlamaModel(source)).weights;
      const reference = loraGradientsPerToken(cpu, c.adapter, prompts, perToken).modules;
      const errors = async (cache: PipelineCache) => {
        const gpu = await loraGradientsOnGpu(ctx.device, cache, engine, c);
        let worstError = 0;
        gpu.grads.forEach(
          (g, i) =>
            (worstError = Math.max(worstError, relativeError(g.a, reference[i].a), relativeError(g.b, reference[i].b))),
        );
        expect(gpu.grads.some((g) => g.a.some((v) => v !== 0))).toBe(true);
        return { worstError, backwardCalls: gpu.backwardCalls };
      };
      const f32 = await errors(new PipelineCache(ctx.device, { subgroups: false }));
      expect(f32.backwardCalls).toContain(`matmul_${format}_input_grad`);
      console.info(`${name}: LoRA gradients, max relative error vs CPU: tiled f32 ${f32.worstError.toExponential(2)}`);
      expect(f32.worstError).toBeLessThan(1e-4);
      if (ctx.features.shaderF16) {
        const f16 = await errors(new PipelineCache(ctx.device, { subgroups: false, f16: true }));
        console.info(
          `${name}: LoRA gradients, max relative error vs CPU: tiled f16 ${f16.worstError.toExponential(2)}`,
        );
        expect(f16.worstError).toBeLessThan(F16_GRADIENT_TOLERANCE);
      }
      engine.dispose();
    });
  });
});
