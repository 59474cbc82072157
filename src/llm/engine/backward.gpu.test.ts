// LoRA gradients on the GPU (shared-prompt layout, activation checkpointing, q4 and dense weights) against
// the CPU reference (one full sequence per action, float64), for a PPO-like loss on word-normalized policy
// log-probs over several prompts with different numbers of actions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnv } from '../../envs/registry';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { PipelineCache } from '../../gpu/pipelines';
import { actionDistribution, scoreGradients } from '../../rl/policy';
import { Rng } from '../../util/rng';
import { countWords } from '../../util/words';
import { LoraBackward } from './backward';
import { LlamaEngine } from './engine';
import { ScoringForward } from './forward';
import { destroyLora, readLora, uploadLora } from '../train/gpu-lora';
import { DEFAULT_LORA_CONFIG, initLoraAdapter, LORA_TARGETS, type LoraConfig } from '../train/lora';
import { makeModel, type MakeModelOptions } from '../model/make-model';
import { loraGradients, scoreWithLora } from '../reference/backward';
import { planScoring } from './scoring-layout';
import { loadLlamaModel, memorySource } from '../model/weights';
import { relativeError } from './test-helpers';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

const cases: [string, Partial<MakeModelOptions>, LoraConfig][] = [
  ['GQA, untied, q4f16_1, LoRA on q and v', { heads: 4, kvHeads: 2, quantization: 'q4f16_1' }, DEFAULT_LORA_CONFIG],
  [
    'MHA, tied, llama3 rope, q4f32_1, LoRA on all projections',
    { heads: 4, kvHeads: 4, tieEmbeddings: true, ropeScaling: 'llama3', quantization: 'q4f32_1', layers: 1 },
    { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] },
  ],
  [
    'GQA, untied, q0f32, LoRA on q and v',
    { heads: 4, kvHeads: 1, quantization: 'q0f32', layers: 1 },
    DEFAULT_LORA_CONFIG,
  ],
  [
    'GQA, head_dim 64 (flash attention), q0f32, LoRA on q, k and v',
    { heads: 2, kvHeads: 1, hidden: 128, quantization: 'q0f32', layers: 1 },
    { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'k_proj', 'v_proj'] },
  ],
];

describe('LoRA backward on Dawn', () => {
  for (const [name, modelOptions, loraConfig] of cases) {
    it(`matches the CPU reference: ${name}`, async () => {
      const made = makeModel({ seed: 11, ...modelOptions });
      const source = memorySource(made.files, name);
      const engine = await LlamaEngine.load(ctx, source);
      const cpu = (await loadLlamaModel(source)).weights;
      const rng = new Rng(4);
      const adapter = initLoraAdapter(made.config, loraConfig, rng);
      for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.normal() * 0.05; // exercise every path

      // Observations from two tasks: different prompts and numbers of actions.
      const observations: { prompt: string; actions: string[] }[] = [];
      for (const task of ['tomato-salad', 'entertainment']) {
        const env = createEnv(task);
        env.reset(0);
        env.step(0);
        observations.push(env.observe());
      }
      const prompts = observations.map((o) => ({
        promptIds: engine.tokenizer.encodePrompt(o.prompt),
        actions: o.actions.map((a) => engine.tokenizer.encodeAction(o.prompt, a)),
      }));

      // GPU forward with LoRA, keeping checkpoints.
      const { device } = ctx;
      const pipelines = new PipelineCache(device);
      const lora = uploadLora(device, adapter);
      const layout = planScoring(prompts.map((p) => ({ promptTokens: p.promptIds, actionTokens: p.actions })));
      const forward = await ScoringForward.build(device, pipelines, engine.weights, layout, {
        lora,
        keepCheckpoints: true,
      });
      const { tokenLogprobs } = await forward.run();
      const gpuS = layout.actionLogitRanges.map((ranges) =>
        ranges.map(({ first, count }) => tokenLogprobs.slice(first, first + count).reduce((a, b) => a + b, 0)),
      );
      const ref = scoreWithLora(cpu, adapter, prompts);
      gpuS.forEach((row, p) => row.forEach((s, k) => expect(Math.abs(s - ref.logprobs[p][k])).toBeLessThan(1e-4)));

      // A PPO-like loss on the word-normalized policy: dL/dS from the policy's own gradients.
      const dLdS = prompts.map((p, i) => {
        const nWords = observations[i].actions.map(countWords);
        const scores = { logprobs: ref.logprobs[i], nTokens: p.actions.map((ids) => ids.length), nWords };
        const dist = actionDistribution(scores, 'word');
        return Array.from(scoreGradients(dist, i % p.actions.length, -(i === 0 ? 1.3 : -0.7), -0.01));
      });
      const tokenGrads = new Float32Array(layout.logitRows.length);
      layout.actionLogitRanges.forEach((ranges, p) =>
        ranges.forEach(({ first, count }, k) => tokenGrads.fill(dLdS[p][k], first, first + count)),
      );
      const backward = await LoraBackward.build(device, pipelines, forward);
      backward.run(tokenGrads);
      const gpuGrads = await readLora(device, lora, 'grads');
      const refGrads = loraGradients(cpu, adapter, prompts, dLdS).modules;
      gpuGrads.forEach((g, i) => {
        expect(relativeError(g.a, refGrads[i].a)).toBeLessThan(1e-4);
        expect(relativeError(g.b, refGrads[i].b)).toBeLessThan(1e-4);
      });
      // Right after the forward the backward skips recomputing the last layer (the scratch holds it). Run again
      // without a forward: the scratch now holds layer 0's values, so every layer must be recomputed, and the
      // same gradients accumulate a second time, bit for bit; and again after a fresh forward (skip again).
      backward.run(tokenGrads);
      const twice = await readLora(device, lora, 'grads');
      await forward.run();
      backward.run(tokenGrads);
      const thrice = await readLora(device, lora, 'grads');
      gpuGrads.forEach((g, i) => {
        expect(twice[i].a).toEqual(g.a.map((v) => 2 * v));
        expect(twice[i].b).toEqual(g.b.map((v) => 2 * v));
        expect(
          relativeError(
            thrice[i].a,
            g.a.map((v) => 3 * v),
          ),
        ).toBeLessThan(1e-6);
        expect(
          relativeError(
            thrice[i].b,
            g.b.map((v) => 3 * v),
          ),
        ).toBeLessThan(1e-6);
      });
      backward.dispose();
      forward.dispose();
      destroyLora(lora);
      engine.dispose();
    });
  }
});
