// The WebGPU engine end to end (load, upload, shared-prompt scoring) against the CPU reference, on the shipped
// micro model and on random models covering GQA, tied and untied embeddings, Llama-3 rope scaling and every
// quantization; and shared-prompt scoring against separate scoring.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnv } from '../../envs/registry';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { Rng } from '../../util/rng';
import { LlamaEngine } from './engine';
import { makeModel, type MakeModelOptions } from '../model/make-model';
import { scoreActions } from '../reference/score';
import { loadLlamaModel, memorySource } from '../model/weights';
import { directorySource } from '../model/weights-node';
import type { ActionScores, ScoringBatch } from '../scores';
import { scoreRequests } from './test-helpers';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

/** A few (prompt, actions) pairs from real episodes of two tasks. */
function samplePrompts(): { prompt: string; actions: string[] }[] {
  const out: { prompt: string; actions: string[] }[] = [];
  const rng = new Rng(3);
  for (const task of ['tomato-lettuce-salad', 'entertainment']) {
    const env = createEnv(task);
    env.reset(0);
    out.push(env.observe());
    for (let i = 0; i < 3; i++) env.step(rng.int(env.actionCount()));
    out.push(env.observe());
  }
  return out;
}

function expectMatchesReference(
  gpu: { batch: ScoringBatch; scores: ActionScores[] },
  ref: ReturnType<typeof scoreActions>[],
  tolerance: number,
): void {
  const { batch, scores } = gpu;
  expect(scores.length).toBe(ref.length);
  scores.forEach((g, p) => {
    expect(batch[p].promptTokens).toEqual(ref[p].promptIds);
    ref[p].actions.forEach((r, k) => {
      expect(batch[p].actionTokens[k]).toEqual(r.tokenIds);
      expect(g.nTokens[k]).toBe(r.nTokens);
      expect(g.nWords[k]).toBe(r.nWords);
      expect(Math.abs(g.logprobs[k] - r.logprob)).toBeLessThanOrEqual(tolerance);
    });
    expect(g.logprobs).toHaveLength(ref[p].actions.length);
    let worst = 0;
    g.promptHidden!.forEach((v, d) => (worst = Math.max(worst, Math.abs(v - ref[p].critic[d]))));
    expect(g.promptHidden).toHaveLength(ref[p].critic.length);
    expect(worst).toBeLessThanOrEqual(tolerance);
  });
}

describe('LlamaEngine on Dawn', () => {
  it('scores the shipped micro model as the CPU reference does (within 1e-4), all prompts in one call', async () => {
    const source = directorySource(resolve(process.cwd(), 'public/models/micro'));
    const engine = await LlamaEngine.load(ctx, source);
    const cpu = await loadLlamaModel(source);
    const prompts = samplePrompts();
    const shared = await scoreRequests(engine, prompts);
    expectMatchesReference(
      shared,
      prompts.map((p) => scoreActions(cpu.weights, engine.tokenizer, p.prompt, p.actions)),
      1e-4,
    );
    const separate = await engine.forwardScores(shared.batch, { mode: 'separate' });
    separate.forEach((s, p) =>
      s.logprobs.forEach((lp, k) => expect(Math.abs(lp - shared.scores[p].logprobs[k])).toBeLessThanOrEqual(1e-4)),
    );
    engine.dispose();
  });

  const variants: [string, Partial<MakeModelOptions>][] = [
    ['MHA, tied, q4f32_1', { heads: 4, kvHeads: 4, tieEmbeddings: true, quantization: 'q4f32_1' }],
    [
      'GQA, untied, llama3 rope, q4f16_1',
      { heads: 4, kvHeads: 1, ropeScaling: 'llama3', quantization: 'q4f16_1', layers: 1 },
    ],
    ['GQA, tied, q0f32', { heads: 8, kvHeads: 2, hidden: 64, tieEmbeddings: true, quantization: 'q0f32', layers: 1 }],
    ['MHA, untied, q0f16, hidden 96', { heads: 3, kvHeads: 3, hidden: 96, quantization: 'q0f16', layers: 1 }],
    [
      'GQA, tied, q0f32, head_dim 64 (flash attention)',
      { heads: 4, kvHeads: 2, hidden: 256, intermediate: 128, tieEmbeddings: true, quantization: 'q0f32', layers: 1 },
    ],
  ];
  for (const [name, options] of variants) {
    it(`random model: ${name}`, async () => {
      const made = makeModel({ seed: 5, ...options });
      const source = memorySource(made.files, name);
      const engine = await LlamaEngine.load(ctx, source);
      const cpu = await loadLlamaModel(source);
      const prompts = samplePrompts().slice(0, 2);
      const scored = await scoreRequests(engine, prompts);
      expectMatchesReference(
        scored,
        prompts.map((p) => scoreActions(cpu.weights, engine.tokenizer, p.prompt, p.actions)),
        1e-4,
      );
      engine.dispose();
    });
  }

  it('refuses a corrupt shard with an error naming the file', async () => {
    const made = makeModel({ layers: 1 });
    const files = made.files.map((f) =>
      f.name.startsWith('params_shard_0') ? { name: f.name, bytes: f.bytes.slice(0, f.bytes.length - 8) } : f,
    );
    await expect(LlamaEngine.load(ctx, memorySource(files, 'm'))).rejects.toThrow(/m\/params_shard_0\.bin/);
  });

  it('uses the shipped micro model only through its files', () => {
    // The README documents the command that made it; guard against a stale copy.
    const config = JSON.parse(readFileSync(resolve(process.cwd(), 'public/models/micro/mlc-chat-config.json'), 'utf8'));
    expect(config.model_type).toBe('llama');
  });
});
