// Generation with a KV cache on Dawn (generate.ts) against the CPU reference, which recomputes the whole
// sequence for every token (reference/generate.ts): greedy token for token on the shipped micro model and a
// random GQA model, with and without a LoRA adapter; sampling repeatable with a seed.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnv } from '../../envs/registry';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { Rng } from '../../util/rng';
import { makeModel } from '../model/make-model';
import { loadLlamaModel, memorySource, type ModelSource } from '../model/weights';
import { directorySource } from '../model/weights-node';
import { generateReference } from '../reference/generate';
import { destroyLora, uploadLora } from '../train/gpu-lora';
import { initLoraAdapter, LORA_TARGETS, type LoraAdapter } from '../train/lora';
import { LlamaEngine } from './engine';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

/** An adapter on every target with nonzero B, so that it changes what the model says. */
function randomAdapter(engine: LlamaEngine, seed: number): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initLoraAdapter(engine.config, { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] }, rng);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.normal() * 0.3;
  return adapter;
}

function taskPrompt(engine: LlamaEngine): number[] {
  const env = createEnv('tomato-salad');
  env.reset(0);
  return engine.tokenizer.encodePrompt(env.observe().prompt);
}

async function expectGreedyMatches(source: ModelSource, minTokens: number): Promise<void> {
  const engine = await LlamaEngine.load(ctx, source);
  const cpu = await loadLlamaModel(source);
  const prompt = taskPrompt(engine);
  const options = { maxTokens: 10, temperature: 0, seed: 0 };
  const adapter = randomAdapter(engine, 3);
  const lora = uploadLora(ctx.device, adapter);
  try {
    const gpuBase = await engine.generate(prompt, options);
    const gpuAdapted = await engine.generate(prompt, { ...options, lora });
    const cpuBase = await generateReference(cpu.weights, null, engine.tokenizer, prompt, options);
    const cpuAdapted = await generateReference(cpu.weights, adapter, engine.tokenizer, prompt, options);
    expect(gpuBase).toEqual(cpuBase);
    expect(gpuAdapted).toEqual(cpuAdapted);
    expect(gpuBase.tokenIds.length).toBeGreaterThanOrEqual(minTokens);
    // The adapter is in the forward: it changes what is said.
    expect(gpuAdapted.tokenIds).not.toEqual(gpuBase.tokenIds);
  } finally {
    destroyLora(lora);
    engine.dispose();
  }
}

describe('generation with a KV cache on Dawn', () => {
  it('greedy equals the CPU reference token for token: the micro model, with and without an adapter', async () => {
    await expectGreedyMatches(directorySource(resolve(process.cwd(), 'public/models/micro')), 1);
  });

  it('greedy equals the CPU reference token for token: a random GQA model, with and without an adapter', async () => {
    const made = makeModel({ seed: 11, heads: 4, kvHeads: 1, layers: 2, quantization: 'q0f32' });
    await expectGreedyMatches(memorySource(made.files, 'gqa'), 10);
  });

  it('sampling is repeatable with a seed, differs with another, and equals the reference', async () => {
    const made = makeModel({ seed: 12, heads: 4, kvHeads: 2, layers: 1, quantization: 'q4f32_1' });
    const source = memorySource(made.files, 'sampled');
    const engine = await LlamaEngine.load(ctx, source);
    const cpu = await loadLlamaModel(source);
    const prompt = taskPrompt(engine);
    const options = { maxTokens: 12, temperature: 1, seed: 7 };
    const first = await engine.generate(prompt, options);
    const again = await engine.generate(prompt, options);
    const other = await engine.generate(prompt, { ...options, seed: 8 });
    expect(again).toEqual(first);
    expect(other.tokenIds).not.toEqual(first.tokenIds);
    expect(await generateReference(cpu.weights, null, engine.tokenizer, prompt, options)).toEqual(first);
    engine.dispose();
  });

  it('refuses a prompt that fills the context window, in one line', async () => {
    const made = makeModel({ seed: 1, layers: 1, contextWindow: 16 });
    const engine = await LlamaEngine.load(ctx, memorySource(made.files, 'short'));
    const prompt = Array.from({ length: 16 }, () => 1);
    await expect(engine.generate(prompt, { maxTokens: 4, temperature: 0, seed: 0 })).rejects.toThrow(
      /prompt's 16 tokens leave no room in the context window \(16\)/,
    );
    engine.dispose();
  });
});
