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
 * tomatoSaladObservations(), and random dL/d(token log-prob). One Rng draws all three, in that order. */
export function loraGradientCase(
  engine: Pick<LlamaEngine, 'config' | 'tokenizer'>,
  seed = 5,
): { adapter: LoraAdapter; layout: ScoringLayout; tokenGrads: Float32Array } {
  const rng = new Rng(seed);
  const adapter = initLoraAdapter(engine.config, { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] }, rng);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.normal() * 0.05;
  const { tokenizer } = engine;
  const layout = planScoring(
    tomatoSaladObservations().map((o) => ({
      promptTokens: tokenizer.encodePrompt(o.prompt),
      actionTokens: o.actions.map((a) => tokenizer.encodeAction(o.prompt, a)),
    })),
  );
  const tokenGrads = Float32Array.from({ length: layout.logitRows.length }, () => rng.normal());
  return { adapter, layout, tokenGrads };
}

/** One forward + backward of `c` on `engine`'s weights with `pipelines`: the LoRA gradients, the token log-probs,
 * and the labels of what ran (forward pipelines, backward calls), so a test can check which kernels were used. */
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
    };
  } finally {
    backward?.dispose();
    forward.dispose();
    destroyLora(lora);
  }
}
