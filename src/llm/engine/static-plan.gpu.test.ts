// The engine's static plan on Dawn (micro model): a pass padded to a plan rung scores every real row as the
// exact pass does, bit for bit, and trains the same LoRA gradients (the padded rows add exact zeros; the sums
// over rows may take another kernel variant: 1e-6); repeated calls of any size up to the workspace's capacity
// create no buffer and no bind group; a larger pass grows the workspace once.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ScoringForward } from './forward';
import { readLora } from '../train/gpu-lora';
import { LoraTrainer } from '../train/lora-trainer';
import { planScoring } from './scoring-layout';
import {
  loraGradientCase,
  microEngine,
  observationAfter,
  relativeError,
  tomatoSaladObservations,
} from './test-helpers';

const gpu = microEngine();
const created = { buffers: 0, bindGroups: 0 };
beforeAll(() => {
  const { device } = gpu.ctx;
  const [buffer, bindGroup] = [device.createBuffer.bind(device), device.createBindGroup.bind(device)];
  device.createBuffer = (d) => (created.buffers++, buffer(d));
  device.createBindGroup = (d) => (created.bindGroups++, bindGroup(d));
});

describe('static plan (micro model)', () => {
  it('a padded pass scores every real row as the exact pass does, bit for bit', async () => {
    const requests = [observationAfter('tomato-salad', [0]), observationAfter('entertainment', [])];
    const batch = gpu.engine.tokenize(requests);
    const layout = planScoring(batch);
    // Reserve far more than the batch: its plan rung pads rows, and logit rows and prompts to the capacity.
    await gpu.engine.reserve({ prompts: 8, promptTokens: 150, actions: 10, actionTokens: 6 });
    const padded = await gpu.engine.forwardFor(layout);
    expect(padded.shape.rows).toBeGreaterThan(layout.tokens.length);
    expect(padded.shape.logitRows).toBeGreaterThan(layout.logitRows.length);
    padded.load(layout);
    const a = await padded.run();
    const exact = await ScoringForward.build(gpu.ctx.device, gpu.engine.pipelines, gpu.engine.weights, layout);
    expect(exact.shape.rows).toBe(layout.tokens.length);
    const b = await exact.run();
    exact.dispose();
    expect(a.tokenLogprobs).toEqual(b.tokenLogprobs);
    expect(a.lastPromptHidden).toEqual(b.lastPromptHidden);
  });

  it('trains the LoRA gradients of the exact pass (padded rows add exact zeros)', async () => {
    const c = loraGradientCase(gpu.engine);
    const batch = gpu.engine.tokenize(tomatoSaladObservations());
    const lossGrad = () => batch.map((r) => r.actionTokens.map((_, k) => (k % 3) - 1));
    const gradients = async (reserve: boolean) => {
      gpu.engine.releasePlans();
      const trainer = LoraTrainer.create(gpu.engine, { adapter: c.adapter });
      if (reserve)
        await gpu.engine.reserve(
          { prompts: 4, promptTokens: 120, actions: 12, actionTokens: 6 },
          { lora: trainer.lora, training: true },
        );
      await trainer.accumulate(batch, lossGrad);
      const grads = await readLora(gpu.ctx.device, trainer.lora, 'grads');
      trainer.dispose();
      return grads.flatMap((g) => [...g.a, ...g.b]);
    };
    const [tight, padded] = [await gradients(false), await gradients(true)];
    expect(padded.some((v) => v !== 0)).toBe(true);
    expect(relativeError(padded, tight)).toBeLessThanOrEqual(1e-6);
  });

  it('calls of any size up to the capacity create nothing when warm; a larger pass grows it once', async () => {
    gpu.engine.releasePlans();
    const trainer = LoraTrainer.create(gpu.engine, { adapter: loraGradientCase(gpu.engine).adapter });
    const sizes = [
      [observationAfter('tomato-salad', [0])],
      [observationAfter('tomato-salad', [0]), observationAfter('entertainment', [])],
      [observationAfter('food-preparation', [])],
    ];
    const ones = (s: { logprobs: readonly number[] }[]) => s.map((p) => p.logprobs.map(() => 1));
    await gpu.engine.reserve(
      { prompts: 2, promptTokens: 100, actions: 10, actionTokens: 6 },
      { lora: trainer.lora, training: true },
    );
    const round = async () => {
      for (const requests of sizes) {
        await gpu.engine.forwardScores(gpu.engine.tokenize(requests), { lora: trainer.lora });
        await gpu.engine.forwardScores(gpu.engine.tokenize(requests));
        await trainer.accumulate(gpu.engine.tokenize(requests), ones);
        await trainer.step(1e-4);
      }
    };
    await round(); // builds the ladders, the optimizer's calls, the readback pool
    const before = { ...created };
    const workspaces = gpu.engine.planStats.workspaces;
    await round();
    await round();
    expect(created).toEqual(before);
    // Eight prompts do not fit two prompts' room: the workspace grows, once.
    const eight = [0, 1, 2, 3].flatMap(() => sizes[1]);
    await gpu.engine.forwardScores(gpu.engine.tokenize(eight), { lora: trainer.lora });
    expect(gpu.engine.planStats.workspaces).toBe(workspaces + 1);
    await round(); // the frozen model's ladder on the new workspace: built at its first use
    const grown = { ...created };
    await gpu.engine.forwardScores(gpu.engine.tokenize(eight), { lora: trainer.lora });
    await round();
    expect(created).toEqual(grown);
    expect(gpu.engine.planStats.workspaces).toBe(workspaces + 1);
    trainer.dispose();
  });
});

describe('static plan: one pass at a time', () => {
  it('a scoring call made while a training micro-batch runs waits for its backward (same gradients)', async () => {
    gpu.engine.releasePlans();
    const c = loraGradientCase(gpu.engine);
    const batch = gpu.engine.tokenize(tomatoSaladObservations());
    const other = gpu.engine.tokenize(['entertainment', 'food-preparation'].map((task) => observationAfter(task, [])));
    const gradients = async (interleave: boolean) => {
      const trainer = LoraTrainer.create(gpu.engine, { adapter: c.adapter });
      // A scoring call starts when the micro-batch has its scores, and the backward is held back a while: the
      // call would run in between (and overwrite the activations the backward reads) unless it waits its turn.
      const backwardFor = gpu.engine.backwardFor.bind(gpu.engine);
      const held = vi.spyOn(gpu.engine, 'backwardFor').mockImplementation(async (f) => {
        await new Promise((r) => setTimeout(r, 100));
        return backwardFor(f);
      });
      let scoring: Promise<unknown> = Promise.resolve();
      await trainer.accumulate(batch, () => {
        if (interleave) scoring = gpu.engine.forwardScores(other, { lora: trainer.lora });
        return batch.map((r) => r.actionTokens.map((_, k) => (k % 3) - 1));
      });
      await scoring;
      held.mockRestore();
      const grads = await readLora(gpu.ctx.device, trainer.lora, 'grads');
      trainer.dispose();
      return grads.flatMap((g) => [...g.a, ...g.b]);
    };
    const alone = await gradients(false);
    expect(await gradients(true)).toEqual(alone);
  });
});
