// LEARNING: TWOSOME with the `quick` preset learns Tomato Salad on the shipped micro model (a random 2-layer
// Llama that knows nothing, so whatever it does comes from PPO) within the preset's step budget, on the WebGPU
// engine (Dawn; SwiftShader, the CPU Vulkan, on a CI machine without a GPU); the same seed gives the same run;
// and the CPU reference of the model (twosome-cpu.ts, the same math in JavaScript) agrees with the learned run.
//
// Where the time goes: ~1-2 s per update on SwiftShader with 2 cores (the engine's barrier-free kernels for small
// shapes, src/gpu/kernel.ts; scripts/profile-update.mts breaks an update down). Seed 1 is greedy-solved after
// 260 updates (16.6k env steps of the 20k budget): ~6-7 min in all. The WebGPU run is not the CPU reference's
// run step for step: float32 rounding differs, sampling then diverges, and each learns on its own path.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import type { LlmTokenizer } from '../llm/model/tokenizer';
import type { LlamaWeights } from '../llm/model/weights';
import { directorySource, loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { derivePpo, quickPpoConfig, type PpoConfig } from './config';
import { createCpuTwosomeModels } from './twosome-cpu';
import { createGpuTwosomeModels } from './twosome-gpu';
import { TwosomeTrainer, twosomeSeeds, type TwosomeUpdateMetrics } from './twosome-trainer';

let model: { weights: LlamaWeights; tokenizer: LlmTokenizer };
let ctx: GpuContext;
let engine: LlamaEngine;
beforeAll(async () => {
  model = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
  ctx = await requestNodeGpuContext();
  engine = await LlamaEngine.load(ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
});
afterAll(() => {
  engine?.dispose();
  ctx?.device.destroy();
});

/** The preset exactly (its step budget and LR schedule too); only the seed is pinned. */
const CONFIG: PpoConfig = { ...quickPpoConfig('tomato-salad'), seed: 1 };
/** Prompts per forward+backward pass: one accumulation window (the same gradients as one minibatch a pass). */
const RUN = { promptsPerPass: 32 };
/** Greedy evaluation every this many updates; training stops at the first that passes. */
const EVAL_EVERY = 10;

function gpuTrainer(): TwosomeTrainer {
  return new TwosomeTrainer(CONFIG, createGpuTwosomeModels(engine, CONFIG, twosomeSeeds(CONFIG.seed)), RUN);
}

function cpuTrainer(): TwosomeTrainer {
  return new TwosomeTrainer(
    CONFIG,
    createCpuTwosomeModels(model.weights, model.tokenizer, CONFIG, twosomeSeeds(CONFIG.seed)),
    RUN,
  );
}

function dispose(t: TwosomeTrainer): void {
  t.actor.dispose?.();
  t.critic.dispose?.();
}

/** Metrics without the throughput figures (wall clock, and tokens, which depend on the feature memo). */
function det(m: TwosomeUpdateMetrics) {
  const { timing: _t, tokensPerSecond: _s, tokens: _n, gpuMemoryBytes: _g, ...rest } = m;
  return rest;
}

const passes = (e: { successRate: number; meanReturn: number }) => e.successRate >= 0.9 && e.meanReturn >= 0.85;

describe('TWOSOME learns Tomato Salad (micro model, quick preset)', () => {
  it(
    'reaches greedy success >= 0.9 and mean greedy return >= 0.85 within the step budget on WebGPU; same seed, same run; the CPU reference agrees',
    { timeout: 30 * 60_000 },
    async () => {
      const t = gpuTrainer();
      const budget = derivePpo(CONFIG).numUpdates;
      let solvedAt: TwosomeUpdateMetrics | null = null;
      while (!t.done && !solvedAt) {
        const m = await t.runUpdate();
        if (m.update % EVAL_EVERY !== 0 && !t.done) continue;
        if (passes(await t.evaluate({ greedy: true, episodes: 4 }))) solvedAt = m;
      }
      expect(
        solvedAt,
        `no greedy success within ${budget} updates (${CONFIG.totalTimesteps} env steps)`,
      ).not.toBeNull();
      expect(solvedAt!.globalStep).toBeLessThanOrEqual(CONFIG.totalTimesteps);
      const greedy = await t.evaluate({ greedy: true, episodes: 4 });
      expect(greedy.successRate).toBeGreaterThanOrEqual(0.9);
      expect(greedy.meanReturn).toBeGreaterThanOrEqual(0.85); // the optimum is 0.9205

      // Same seed, fresh models: the first updates are identical (every kernel output is one invocation's sums in
      // a fixed order, so WebGPU repeats itself bit for bit).
      const again = gpuTrainer();
      for (let i = 0; i < 5; i++) expect(det(await again.runUpdate())).toEqual(det(t.history[i]));
      dispose(again);

      // The CPU reference takes over the learned run: greedy play succeeds there too, and one more update on each
      // backend gives the same metrics (float rounding aside: the engine is float32 throughout).
      const state = await t.getState();
      const cpu = cpuTrainer();
      await cpu.setState(state);
      const cpuGreedy = await cpu.evaluate({ greedy: true, episodes: 1 });
      expect(cpuGreedy.successRate).toBe(1);
      expect(cpuGreedy.meanReturn).toBeCloseTo(greedy.meanReturn, 6);
      const [onGpu, ref] = [await t.runUpdate(), await cpu.runUpdate()];
      expect([
        onGpu.globalStep,
        onGpu.primitiveSteps,
        onGpu.episodes,
        onGpu.policySteps,
        onGpu.valueSteps,
        onGpu.klStopped,
      ]).toEqual([ref.globalStep, ref.primitiveSteps, ref.episodes, ref.policySteps, ref.valueSteps, ref.klStopped]);
      for (const k of [
        'episodicReturn',
        'entropy',
        'policyLoss',
        'valueLoss',
        'approxKl',
        'policyGradNorm',
        'valueGradNorm',
      ] as const) {
        expect(Math.abs((onGpu[k] as number) - (ref[k] as number)), k).toBeLessThan(
          1e-3 * Math.max(1, Math.abs(ref[k] as number)),
        );
      }
      dispose(t);
    },
  );
});
