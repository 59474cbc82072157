// Overfitting: on the shipped micro model, a few dozen LoRA updates on the GPU lift one chosen action's
// word-normalized probability above 0.95 (issue: "the engine computes exact gradients ... and updates them").
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnv } from '../../envs/registry';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { actionDistribution, scoreGradients } from '../../rl/policy';
import { LlamaEngine } from '../engine/engine';
import { LoraTrainer } from './lora-trainer';
import type { ActionScores } from '../scores';
import { directorySource } from '../model/weights-node';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

describe('LoraTrainer', () => {
  it('a few dozen updates lift a chosen action above 0.95 on the micro model', async () => {
    const engine = await LlamaEngine.load(ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
    const trainer = LoraTrainer.create(engine, { seed: 1, optimizer: { lr: 2e-3, maxGradNorm: 0.5 } });
    const env = createEnv('tomato-salad');
    env.reset(0);
    const request = env.observe();
    const chosen = request.actions.indexOf('take the bowl');
    const batch = engine.tokenize([request]);
    // pi_word(chosen | s) with the adapter's current values.
    const chosenProb = async () => {
      const [scores] = await engine.forwardScores(batch, { lora: trainer.lora });
      return actionDistribution(scores, 'word').probs[chosen];
    };
    const before = await chosenProb();
    expect(before).toBeLessThan(0.5);
    let prob = before;
    let updates = 0;
    for (; updates < 60 && prob <= 0.95; updates++) {
      // L = -log pi_word(chosen | s): dL/dS from the policy's gradient.
      const dist = (scores: ActionScores[]) => actionDistribution(scores[0], 'word');
      await trainer.accumulate(batch, (scores) => [scoreGradients(dist(scores), chosen, -1, 0)]);
      const info = await trainer.step(2e-3);
      expect(info.finite).toBe(true);
      prob = await chosenProb();
    }
    console.log(`overfit: ${before.toFixed(3)} -> ${prob.toFixed(3)} in ${updates} updates`);
    expect(prob).toBeGreaterThan(0.95);
    expect(updates).toBeLessThanOrEqual(60);
    const adapter = await trainer.readAdapter();
    expect(adapter.modules.some((m) => m.b.some((v) => v !== 0))).toBe(true);
    trainer.dispose();
    engine.dispose();
  });
});
