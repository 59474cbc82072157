/** Shared by the per-op kernel tests (kernels/*.gpu.test.ts): one device, buffers, runs and comparisons. Tests only. */
import { afterAll, beforeAll, expect } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../../gpu/buffers';
import type { GpuContext } from '../../../gpu/device';
import {
  disposeCalls,
  submitCalls,
  type KernelCall,
  type KernelContext,
  type KernelVariant,
} from '../../../gpu/kernel';
import { requestNodeGpuContext } from '../../../gpu/node-gpu';
import { PipelineCache } from '../../../gpu/pipelines';
import { definesKey, type ShaderDefines } from '../../../gpu/shader-variants';
import type { Rng } from '../../../util/rng';
import type { Observation } from '../../../envs/types';
import type { MakeModelOptions } from '../../model/make-model';
import { loadLlamaModel, type ModelSource } from '../../model/weights';
import { loraGradientsPerToken } from '../../reference/backward';
import { scoreActions } from '../../reference/score';
import type { LlamaEngine } from '../engine';
import { ScoringForward } from '../forward';
import { planScoring } from '../scoring-layout';
import { relativeError, scoreRequests, type loraGradientCase } from '../test-helpers';

export interface KernelTestGpu {
  ctx: GpuContext;
  /** The device and a pipeline cache that allows subgroups where the device has them. */
  kernels: KernelContext;
  /** A storage buffer with `data` (or `data` zero words), destroyed after the file's tests. */
  upload(data: Float32Array | Uint32Array | number): GPUBuffer;
  /** Submits `calls` (then releases them) and reads `count` words of `out`. */
  run(calls: KernelCall | KernelCall[], out: GPUBuffer, count: number): Promise<Float32Array>;
  /** The variants this adapter runs: thread and workgroup everywhere, subgroup where it has `subgroups`. */
  variants(): KernelVariant[];
}

/** Registers beforeAll/afterAll for one device per test file; use the result inside tests only. */
export function kernelTestGpu(): KernelTestGpu {
  const owned: GPUBuffer[] = [];
  const t = {} as KernelTestGpu;
  beforeAll(async () => {
    t.ctx = await requestNodeGpuContext();
    t.kernels = { device: t.ctx.device, pipelines: new PipelineCache(t.ctx.device) };
  });
  afterAll(() => {
    owned.forEach((b) => b.destroy());
    t.ctx?.device.destroy();
  });
  t.upload = (data) => {
    const b = createStorageBuffer(t.ctx.device, typeof data === 'number' ? data * 4 : data);
    owned.push(b);
    return b;
  };
  t.run = async (calls, out, count) => {
    const list = [calls].flat();
    submitCalls(t.ctx.device, list);
    disposeCalls(list);
    return readFloat32(t.ctx.device, out, count);
  };
  t.variants = () => (t.ctx.features.subgroups ? ['thread', 'workgroup', 'subgroup'] : ['thread', 'workgroup']);
  return t;
}

/** A test file's device, buffers and runs, for files that need the adapter at collection time (fileKernelGpu). */
export interface FileKernelGpu {
  ctx: GpuContext;
  device: GPUDevice;
  /** A storage buffer with `data` (or `data` zero words, at least one), destroyed after the file's tests. */
  upload(data: Float32Array | Uint32Array | number): GPUBuffer;
  /** Submits `calls` (then releases them) and reads `count` words of `out`. */
  run(calls: KernelCall | KernelCall[], out: GPUBuffer, count: number): Promise<Float32Array>;
}

/**
 * kernelTestGpu's buffers and runs on a context requested at once, for a file that skips tests by the adapter's
 * features when they are collected. `report` (e.g. the worst errors seen) runs after the file's tests, before the
 * device is destroyed.
 */
export async function fileKernelGpu(report?: () => void): Promise<FileKernelGpu> {
  const ctx = await requestNodeGpuContext();
  const { device } = ctx;
  const owned: GPUBuffer[] = [];
  afterAll(() => {
    owned.forEach((b) => b.destroy());
    report?.();
    device.destroy();
  });
  return {
    ctx,
    device,
    upload: (data) => {
      const b = createStorageBuffer(device, typeof data === 'number' ? Math.max(4, data * 4) : data);
      owned.push(b);
      return b;
    },
    run: async (calls, out, count) => {
      const list = [calls].flat();
      submitCalls(device, list);
      disposeCalls(list);
      return readFloat32(device, out, count);
    },
  };
}

/** The worst errors seen per kernel over a file's tests, field by field, to print after them (what a path costs). */
export class WorstErrors<E extends Record<string, number>> {
  readonly byKernel = new Map<string, E>();

  /** Keeps, for `kernel`, the largest of each field seen so far. */
  record(kernel: string, errors: E): void {
    const prior = this.byKernel.get(kernel);
    const worst = { ...errors };
    if (prior)
      for (const k of Object.keys(errors) as (keyof E)[]) worst[k] = Math.max(prior[k], errors[k]) as E[keyof E];
    this.byKernel.set(kernel, worst);
  }

  /** `title` and one line per kernel through console.info, when anything was recorded. */
  print(title: string, line: (kernel: string, errors: E) => string): void {
    if (!this.byKernel.size) return;
    console.info(`${title}:\n${[...this.byKernel].map(([k, e]) => line(k, e)).join('\n')}`);
  }
}

export function random(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** max_i |a_i - b_i| / max(1, |b_i|) <= tolerance: the measure every kernel test of this repo uses. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++)
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

/** A pipeline's label as PipelineCache.kernel names it: `shader:entry`, and the variant's defines (`[F16,Q4]`). */
export function pipelineLabel(shader: string, entry: string, defines: ShaderDefines = {}): string {
  const variant = definesKey(defines);
  return `${shader}:${entry}${variant ? ` [${variant}]` : ''}`;
}

// The whole model on chosen kernels (the engine-level kernel tests: matmul-kernels, subgroups and f16 .gpu.test.ts).

/** A test file's GPU context, requested at collection time (so tests can skip by what the adapter has). */
export async function fileGpuContext(): Promise<GpuContext> {
  const ctx = await requestNodeGpuContext();
  afterAll(() => ctx.device.destroy());
  return ctx;
}

/**
 * Random models whose hidden sizes are above the thread variants' 256, so that the projections take the
 * workgroup, subgroup or tiled matrix products (a small model takes the thread kernels).
 */
export const KERNEL_TEST_MODELS = {
  q4Mha320: { hidden: 320, heads: 5, kvHeads: 5, intermediate: 384, layers: 1, quantization: 'q4f16_1' },
  q0f16Gqa288Tied: {
    hidden: 288,
    heads: 4,
    kvHeads: 2,
    intermediate: 320,
    layers: 1,
    quantization: 'q0f16',
    tieEmbeddings: true,
  },
} satisfies Record<string, Partial<MakeModelOptions>>;

/** The labels (`shader:entry [DEFINES]`) of the pipelines that a scoring forward of `prompts` runs on `engine`. */
export async function scoringPipelines(engine: LlamaEngine, prompts: readonly Observation[]): Promise<Set<string>> {
  const layout = planScoring(engine.tokenize(prompts));
  const forward = await ScoringForward.build(engine.gpu.device, engine.pipelines, engine.weights, layout);
  const labels = new Set(forward.kernelCalls.map((c) => c.pipeline.label));
  forward.dispose();
  return labels;
}

/** max |log-prob - the float64 CPU reference's| over every action of `prompts`, scored by `engine` in one call. */
export async function worstLogprobError(
  engine: LlamaEngine,
  source: ModelSource,
  prompts: readonly Observation[],
): Promise<number> {
  const cpu = (await loadLlamaModel(source)).weights;
  const reference = prompts.map((p) => scoreActions(cpu, engine.tokenizer, p.prompt, p.actions));
  const { scores } = await scoreRequests(engine, prompts);
  let worst = 0;
  scores.forEach((s, p) =>
    s.logprobs.forEach((lp, k) => (worst = Math.max(worst, Math.abs(lp - reference[p].actions[k].logprob)))),
  );
  return worst;
}

/**
 * The float64 CPU reference's LoRA gradients for the case `c` (loraGradientCase of `prompts`): the same adapter and
 * the same per-token upstream gradients.
 */
export async function cpuLoraGradients(
  engine: LlamaEngine,
  source: ModelSource,
  c: ReturnType<typeof loraGradientCase>,
  prompts: readonly Observation[],
) {
  const encoded = prompts.map((o) => ({
    promptIds: engine.tokenizer.encodePrompt(o.prompt),
    actions: o.actions.map((a) => engine.tokenizer.encodeAction(o.prompt, a)),
  }));
  const perToken = c.layout.actionLogitRanges.map((ranges) =>
    ranges.map(({ first, count }) => Array.from(c.tokenGrads.subarray(first, first + count))),
  );
  const cpu = (await loadLlamaModel(source)).weights;
  return loraGradientsPerToken(cpu, c.adapter, encoded, perToken).modules;
}

type LoraGrads = readonly { a: ArrayLike<number>; b: ArrayLike<number> }[];

/** The worst relative error (relativeError) of LoRA gradients against the reference's, over every A and B. */
export function worstGradientError(grads: LoraGrads, reference: LoraGrads): number {
  let worst = 0;
  grads.forEach(
    (g, i) => (worst = Math.max(worst, relativeError(g.a, reference[i].a), relativeError(g.b, reference[i].b))),
  );
  return worst;
}
