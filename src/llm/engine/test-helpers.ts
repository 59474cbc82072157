/** Shared by the engine's GPU tests (the *.gpu.test.ts files under src/llm); imported by tests only. */
import { resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createEnv } from '../../envs/registry';
import type { Observation } from '../../envs/types';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import type { PipelineCache } from '../../gpu/pipelines';
import { Rng } from '../../util/rng';
import { LoraBackward } from './backward';
import { LlamaEngine } from './engine';
import { ScoringForward } from './forward';
import { destroyLora, readLora, uploadLora } from '../train/gpu-lora';
import { initLoraAdapter, LORA_TARGETS, type LoraAdapter } from '../train/lora';
import type { ActionScores, PolicyRequest, ScoringBatch } from '../scores';
import { planScoring, type ScoringLayout } from './scoring-layout';
import { directorySource } from '../model/weights-node';

/** The shipped micro model (public/models/micro) on a WebGPU engine: microEngine's result. */
export interface MicroEngine {
  ctx: GpuContext;
  engine: LlamaEngine;
}

/**
 * The micro model on a WebGPU engine, loaded once per test file in beforeAll and released in afterAll. Read
 * `ctx` and `engine` inside tests (they are set once beforeAll ran).
 */
export function microEngine(): MicroEngine {
  const gpu = {} as MicroEngine;
  beforeAll(async () => {
    gpu.ctx = await requestNodeGpuContext();
    gpu.engine = await LlamaEngine.load(gpu.ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
  });
  afterAll(() => {
    gpu.engine?.dispose();
    gpu.ctx?.device.destroy();
  });
  return gpu;
}

/**
 * Log-probs (an action's sum over its tokens) within this of the CPU reference with the f16 kernels (issue 14's
 * bound). Measured on lavapipe: 1.0e-2 to 1.4e-2 on matmul-kernels.gpu.test.ts's models, whether the lm_head runs
 * in f16 or f32 (1.35e-2, 1.27e-2, 1.38e-2 with an f32 lm_head against 1.02e-2, 1.39e-2, 1.30e-2: the logits'
 * error comes from the f16 rounding of every layer's products as much as from the lm_head's), so the lm_head runs
 * in f16 like the rest; 1.48e-2 and 1.12e-2 on f16.gpu.test.ts's 3-prompt batches. The attention forward's f16
 * tiles would add enough to leave this bound (kernels/attention.ts ATTENTION_FORWARD_F16_TILES).
 */
export const F16_LOGPROB_TOLERANCE = 2e-2;
/**
 * LoRA gradients, max over modules of ||g - g_cpu|| / ||g_cpu||, with the f16 kernels. Each product of the
 * recomputed forward and of the backward rounds its inputs to f16 (~7e-4 of a product's norm, matmul-tiled
 * tests), and a gradient passes through 6-10 of them: measured 2.7e-3 to 4.4e-3 on matmul-kernels.gpu.test.ts's
 * models; with the attention backward's f16 tiles too, 4.4e-3 and 2.3e-3 on f16.gpu.test.ts's 3-prompt batches.
 * 2e-2 is 4.5x that, and still a gradient whose direction is within 1.2 degrees of the exact one (cos > 0.9998).
 */
export const F16_GRADIENT_TOLERANCE = 2e-2;

/** ||a - b|| / ||b||: how far a whole gradient or score vector is from the reference. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}

/** Tokenizes once and scores with the engine's one entry: the batch (token ids) and the scores. */
export async function scoreRequests(
  engine: LlamaEngine,
  requests: readonly PolicyRequest[],
  options: Parameters<LlamaEngine['forwardScores']>[1] = {},
): Promise<{ batch: ScoringBatch; scores: ActionScores[] }> {
  const batch = engine.tokenize(requests);
  return { batch, scores: await engine.forwardScores(batch, options) };
}

/**
 * Per prompt, each action's token log-probs from one forward pass of the engine's (the values forwardScores
 * sums), for comparisons token by token. The batch must fit one pass.
 */
export async function tokenLogprobsOf(engine: LlamaEngine, batch: ScoringBatch): Promise<Float32Array[][]> {
  const layout = planScoring(batch);
  const { gpu, pipelines, weights, batchLimits } = engine;
  const forward = await ScoringForward.build(gpu.device, pipelines, weights, layout, { limits: batchLimits });
  try {
    const { tokenLogprobs } = await forward.run();
    const slice = ({ first, count }: { first: number; count: number }) => tokenLogprobs.slice(first, first + count);
    return layout.actionLogitRanges.map((ranges) => ranges.map(slice));
  } finally {
    forward.dispose();
  }
}

/** The observation of `task` (reset with seed 0) after the actions `steps`. */
export function observationAfter(task: string, steps: number[]): Observation {
  const env = createEnv(task);
  env.reset(0);
  for (const a of steps) env.step(a);
  return env.observe();
}

/** One observation of Tomato Salad after its first action: a shared prompt and actions of several lengths. */
export function tomatoSaladObservations(): Observation[] {
  return [observationAfter('tomato-salad', [0])];
}

/** A LoRA gradient check's inputs: an adapter with nonzero B (so every path carries gradient), the scoring layout of
 * `observations` (default tomatoSaladObservations()), and random dL/d(token log-prob). One Rng draws all three, in
 * that order. */
export function loraGradientCase(
  engine: Pick<LlamaEngine, 'config' | 'tokenizer'>,
  seed = 5,
  observations: readonly Observation[] = tomatoSaladObservations(),
): { adapter: LoraAdapter; layout: ScoringLayout; tokenGrads: Float32Array } {
  const rng = new Rng(seed);
  const adapter = initLoraAdapter(engine.config, { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] }, rng);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.normal() * 0.05;
  const { tokenizer } = engine;
  const layout = planScoring(
    observations.map((o) => ({
      promptTokens: tokenizer.encodePrompt(o.prompt),
      actionTokens: o.actions.map((a) => tokenizer.encodeAction(o.prompt, a)),
    })),
  );
  const tokenGrads = Float32Array.from({ length: layout.logitRows.length }, () => rng.normal());
  return { adapter, layout, tokenGrads };
}

/** One forward + backward of `c` on `engine`'s weights with `pipelines`: the LoRA gradients, the token log-probs,
 * and the labels of what ran (forward and backward pipelines, backward calls), so a test can check which kernels
 * were used. */
export async function loraGradientsOnGpu(
  device: GPUDevice,
  pipelines: PipelineCache,
  engine: Pick<LlamaEngine, 'weights'>,
  c: ReturnType<typeof loraGradientCase>,
) {
  const lora = uploadLora(device, c.adapter);
  const forward = await ScoringForward.build(device, pipelines, engine.weights, c.layout, {
    lora,
    keepCheckpoints: true,
  });
  let backward: LoraBackward | undefined;
  try {
    const { tokenLogprobs } = await forward.run();
    backward = await LoraBackward.build(device, pipelines, forward);
    backward.run(c.tokenGrads);
    const grads = await readLora(device, lora, 'grads');
    return {
      grads,
      tokenLogprobs,
      forwardPipelines: forward.kernelCalls.map((k) => k.pipeline.label),
      backwardCalls: backward.kernelCalls.map((k) => k.label),
      backwardPipelines: backward.kernelCalls.map((k) => k.pipeline.label),
    };
  } finally {
    backward?.dispose();
    forward.dispose();
    destroyLora(lora);
  }
}
