// The whole model with the subgroup kernels on and off, on one device: scoring (the engine's `useSubgroups`)
// equals the CPU reference both ways and the two ways agree within 1e-4 in log-probs, and the LoRA backward's
// gradients agree too, on random models whose hidden size is above the thread variants' 256 (so RMSNorm and
// the projections take the workgroup kernels, or their subgroup variants). Skipped only where the adapter
// lacks `subgroups` (or TWOSOME_SUBGROUPS=0 turned it off). The micro model and the small random models of
// engine.gpu.test.ts take the thread kernels, which subgroups do not change. Subgroups are asked for
// explicitly: the engine's default leaves them off on a software adapter (GpuContext.useSubgroups).
import { describe, expect, it } from 'vitest';
import { PipelineCache } from '../../gpu/pipelines';
import { LlamaEngine } from './engine';
import { fileGpuContext, KERNEL_TEST_MODELS, pipelineLabel, scoringPipelines } from './kernels/test-gpu';
import { makeModel, type MakeModelOptions } from '../model/make-model';
import { scoreActions } from '../reference/score';
import { loadLlamaModel, memorySource } from '../model/weights';
import {
  loraGradientCase,
  loraGradientsOnGpu,
  relativeError,
  scoreRequests,
  tokenLogprobsOf,
  tomatoSaladObservations,
} from './test-helpers';

// At collection time, so that the suite can be skipped by what the adapter has.
const ctx = await fileGpuContext();

const models: [string, Partial<MakeModelOptions>][] = [
  ['q4f16_1, hidden 320, MHA', KERNEL_TEST_MODELS.q4Mha320],
  ["q0f16, hidden 288 (head_dim 72: attention's workgroup kernel), tied", KERNEL_TEST_MODELS.q0f16Gqa288Tied],
];

describe.skipIf(!ctx.features.subgroups)(
  'the model with subgroup kernels on and off (skipped where the adapter has no subgroups feature)',
  () => {
    for (const [name, options] of models) {
      it(`scores the same with and without subgroups, both as the CPU reference does: ${name}`, async () => {
        const source = memorySource(makeModel({ seed: 7, ...options }).files, name);
        // The legacy matrix products, whose K-split variant is a subgroup kernel (the tiled GEMM has none; the
        // matrix-vector kernel's subgroup reduction: matmul-kernels.gpu.test.ts), in f32 to compare at 1e-4.
        const on = await LlamaEngine.load(ctx, source, { useSubgroups: true, matmul: 'legacy', f16: false });
        const off = await LlamaEngine.load(ctx, source, { useSubgroups: false, matmul: 'legacy', f16: false });
        expect(on.pipelines.subgroups).toBe(true);
        expect(off.pipelines.subgroups).toBe(false);
        const prompts = tomatoSaladObservations();

        // Which kernels each engine's forward runs: the subgroup RMSNorm and projections, or none of them.
        const shaders = (engine: LlamaEngine) => scoringPipelines(engine, prompts);
        const q4 = options.quantization?.startsWith('q4') ?? false;
        const matmul = pipelineLabel('matmul.wgsl', 'matmul_subgroup', { Q4: q4, SUBGROUPS: true });
        expect(await shaders(on)).toContain('rmsnorm.wgsl:rmsnorm_forward [SUBGROUPS]');
        expect(await shaders(on)).toContain('rmsnorm.wgsl:rmsnorm_forward [ADD,SUBGROUPS]');
        expect(await shaders(on)).toContain(matmul);
        expect([...(await shaders(off))].filter((label) => /subgroup/i.test(label))).toEqual([]);

        // Each way against the float64 CPU reference, and against each other, token by token.
        const cpu = (await loadLlamaModel(source)).weights;
        const reference = prompts.map((p) => scoreActions(cpu, on.tokenizer, p.prompt, p.actions));
        const [scoredOn, scoredOff] = [await scoreRequests(on, prompts), await scoreRequests(off, prompts)];
        const tokensOn = await tokenLogprobsOf(on, scoredOn.batch);
        const tokensOff = await tokenLogprobsOf(off, scoredOff.batch);
        let worstToken = 0;
        scoredOn.scores.forEach((s, p) => {
          const off = scoredOff.scores[p];
          s.logprobs.forEach((lp, k) => {
            expect(Math.abs(lp - reference[p].actions[k].logprob)).toBeLessThanOrEqual(1e-4);
            expect(Math.abs(off.logprobs[k] - reference[p].actions[k].logprob)).toBeLessThanOrEqual(1e-4);
            tokensOn[p][k].forEach((v, i) => (worstToken = Math.max(worstToken, Math.abs(v - tokensOff[p][k][i]))));
            expect(Math.abs(lp - off.logprobs[k])).toBeLessThanOrEqual(1e-4);
          });
          expect(relativeError(s.promptHidden!, off.promptHidden!)).toBeLessThan(1e-5);
        });
        expect(worstToken).toBeLessThanOrEqual(1e-4);
        console.info(`${name}: max |token log-prob, subgroups on - off| = ${worstToken.toExponential(2)}`);
        on.dispose();
        off.dispose();
      });
    }

    it(`gives the same LoRA gradients with and without subgroups: ${models[0][0]}`, async () => {
      const made = makeModel({ seed: 8, ...models[0][1] });
      const engine = await LlamaEngine.load(ctx, memorySource(made.files, 'sg'));
      expect(engine.pipelines.subgroups).toBe(ctx.useSubgroups); // the default: hardware GPUs (this test builds its own caches)
      const c = loraGradientCase(engine);
      const gradients = (subgroups: boolean) =>
        loraGradientsOnGpu(ctx.device, new PipelineCache(ctx.device, { subgroups }), engine, c);
      const [withSg, without] = [await gradients(true), await gradients(false)];
      expect(withSg.forwardPipelines).toContain('rmsnorm.wgsl:rmsnorm_forward [SUBGROUPS]');
      let worstToken = 0;
      withSg.tokenLogprobs.forEach(
        (v, i) => (worstToken = Math.max(worstToken, Math.abs(v - without.tokenLogprobs[i]))),
      );
      expect(worstToken).toBeLessThanOrEqual(1e-4);
      // backward.gpu.test.ts holds the GPU gradients to 1e-4 of the CPU reference; the two GPU paths to the same.
      let worstGrad = 0;
      withSg.grads.forEach((g, i) => {
        worstGrad = Math.max(worstGrad, relativeError(g.a, without.grads[i].a), relativeError(g.b, without.grads[i].b));
        expect(relativeError(g.a, without.grads[i].a)).toBeLessThan(1e-4);
        expect(relativeError(g.b, without.grads[i].b)).toBeLessThan(1e-4);
      });
      console.info(
        `LoRA gradients: max relative error, subgroups on vs off = ${worstGrad.toExponential(2)}; max |token log-prob diff| = ${worstToken.toExponential(2)}`,
      );
      expect(withSg.grads.some((g) => g.a.some((v) => v !== 0))).toBe(true);
      engine.dispose();
    });
  },
);
