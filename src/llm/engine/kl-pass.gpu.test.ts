// KL(base || adapted) per scored token on the engine (LlamaEngine.forwardPairedTokenLogprobs, kl-pass.ts), micro
// model on Dawn: the paired passes give the same log-probs as scoring each model alone, the KL equals the CPU
// reference (reference/kl-rows.ts actionTokenKl: both models' full logits, float64 KL), and a batch split into
// several passes gives the unsplit engine's values bit for bit.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnv } from '../../envs/registry';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { actionTokenKl } from '../reference/kl-rows';
import { loadLlamaModelFromDir, directorySource } from '../model/weights-node';
import type { LlamaWeights } from '../model/weights';
import type { PolicyRequest, ScoringBatch } from '../scores';
import { destroyLora, uploadLora, type GpuLora } from '../train/gpu-lora';
import { MICRO, trainedAdapter } from '../../share/testing';
import { LlamaEngine } from './engine';

const MICRO_DIR = resolve(process.cwd(), 'public/models/micro');
// As batch-split.gpu.test.ts: a 105-row cap on gate_up splits these requests into several passes.
const CAP_BYTES = 105 * 2 * 128 * 4;

let ctx: GpuContext;
let whole: LlamaEngine;
let split: LlamaEngine;
let weights: LlamaWeights;
let batch: ScoringBatch;
const adapter = trainedAdapter(MICRO, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] }, 7);
let lora: GpuLora;

function observation(task: string, steps: number[]): PolicyRequest {
  const env = createEnv(task);
  env.reset(0);
  for (const a of steps) env.step(a);
  return env.observe();
}

beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  whole = await LlamaEngine.load(ctx, directorySource(MICRO_DIR));
  split = await LlamaEngine.load(ctx, directorySource(MICRO_DIR), { maxActivationBytes: CAP_BYTES });
  weights = (await loadLlamaModelFromDir(MICRO_DIR)).weights;
  batch = whole.tokenize([observation('tomato-salad', [0]), observation('food-preparation', [])]);
  lora = uploadLora(ctx.device, adapter);
});
afterAll(() => {
  if (lora) destroyLora(lora);
  whole?.dispose();
  split?.dispose();
  ctx?.device.destroy();
});

describe('LlamaEngine.forwardPairedTokenLogprobs (micro model)', () => {
  it("equals scoring each model alone, and the KL equals the CPU reference's", async () => {
    const paired = await whole.forwardPairedTokenLogprobs(batch, { lora });
    const base = await whole.forwardTokenLogprobs(batch);
    const adapted = await whole.forwardTokenLogprobs(batch, { lora });
    let worst = 0;
    let tokens = 0;
    paired.forEach((p, i) => {
      // The same plans run: the same bits.
      expect(p.base).toEqual(base[i].actionTokenLogprobs);
      expect(p.adapted).toEqual(adapted[i].actionTokenLogprobs);
      p.kl.forEach((kl, k) => {
        const reference = actionTokenKl(weights, adapter, batch[i].promptTokens, batch[i].actionTokens[k], {
          precision: 'float32',
        });
        expect(kl.length).toBe(reference.length);
        kl.forEach((value, j) => {
          expect(reference[j]).toBeGreaterThan(1e-4); // the adapter moves every distribution
          worst = Math.max(worst, Math.abs(value - reference[j]) / reference[j]);
          tokens++;
        });
      });
    });
    expect(tokens).toBeGreaterThan(40);
    // To first order, logit errors of size eps move KL by at most eps (|p_a - p_b|_1 + E_pb |log p_b/p_a - KL|),
    // which is O(eps sqrt(KL)): the two forwards' float32 logits agree to ~1e-6 here, so the relative error at
    // these KLs (0.03 to 0.2) is ~1e-5 at most; 1e-4 leaves room for the drivers' exp and log. Measured: 5e-6.
    expect(worst).toBeLessThanOrEqual(1e-4);
  });

  it('a batch split into several passes gives the same values bit for bit', async () => {
    expect(split.planGroups(batch).length).toBeGreaterThan(1);
    expect(await split.forwardPairedTokenLogprobs(batch, { lora })).toEqual(
      await whole.forwardPairedTokenLogprobs(batch, { lora }),
    );
  });
});
