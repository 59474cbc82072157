// The whole model on the tiled matrix products (kernels/linear.ts: the GEMM, the matrix-vector kernel, the tiled
// input gradient) in f32 and, where the adapter has shader-f16, f16, and on the legacy kernels, one device:
// scores against the float64 CPU reference, and LoRA gradients (through the tiled input gradient) against the
// CPU reference's, on random models whose hidden size is above the thread variants' 256 (so the projections
// take the new kernels; the micro model takes the thread kernels, which nothing here changes).
import { describe, expect, it } from 'vitest';
import { PipelineCache } from '../../gpu/pipelines';
import { requireShaderF16 } from '../../gpu/test-adapter';
import { LlamaEngine } from './engine';
import {
  cpuLoraGradients,
  fileGpuContext,
  KERNEL_TEST_MODELS,
  pipelineLabel,
  scoringPipelines,
  worstGradientError,
  worstLogprobError,
} from './kernels/test-gpu';
import { makeModel, type MakeModelOptions } from '../model/make-model';
import { memorySource } from '../model/weights';
import {
  F16_GRADIENT_TOLERANCE,
  F16_LOGPROB_TOLERANCE,
  loraGradientCase,
  loraGradientsOnGpu,
  tomatoSaladObservations,
} from './test-helpers';

const ctx = await fileGpuContext();

const models: [string, Partial<MakeModelOptions>][] = [
  ['q4f16_1, hidden 320, MHA', KERNEL_TEST_MODELS.q4Mha320],
  ['q0f16, hidden 288, GQA, tied', KERNEL_TEST_MODELS.q0f16Gqa288Tied],
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
    const q4 = options.quantization?.startsWith('q4') ?? false;
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
        const used = await scoringPipelines(engine, prompts);
        const gemm = (F16: boolean) => pipelineLabel('matmul_tiled.wgsl', 'matmul_gemm', { F16, Q4: q4 });
        if (kernels === 'legacy') {
          expect(used).toContain(pipelineLabel('matmul.wgsl', 'matmul', { Q4: q4 }));
          expect([...used].filter((l) => l.includes('_tiled.wgsl'))).toEqual([]);
        } else {
          expect(used).toContain(gemm(kernels === 'tiled f16'));
          if (kernels === 'tiled f16') expect(used).not.toContain(gemm(false));
          expect([...used].filter((l) => l.startsWith('matmul.wgsl:'))).toEqual([]);
        }

        const worst = await worstLogprobError(engine, source, prompts);
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
      const reference = await cpuLoraGradients(engine, source, c, tomatoSaladObservations());
      const errors = async (cache: PipelineCache) => {
        const gpu = await loraGradientsOnGpu(ctx.device, cache, engine, c);
        const worstError = worstGradientError(gpu.grads, reference);
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
