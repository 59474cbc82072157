import { describe, expect, it } from 'vitest';
import { catalogConfig } from './catalog';
import type { LlamaConfig } from './config';
import { LORA_TARGETS } from './lora';
import { planTrainingMemory, type MemoryPlan } from './memory-plan';

const GiB = 2 ** 30;
const batch = { prompts: 4, promptTokens: 200, actions: 8, actionTokens: 5 };
const term = (plan: MemoryPlan, name: string) => {
  const t = plan.breakdown.find((x) => x.name === name);
  if (!t) throw new Error(`no term ${name}`);
  return t.bytes;
};

describe('training memory plan', () => {
  const llama2 = catalogConfig('Llama-2-7b-chat-hf-q4f16_1-MLC');

  it('acceptance: Llama-2-7b q4f16_1, LoRA r 8 on q and v, 4 prompts x 200 tokens x 8 actions of 5 tokens: peak <= 5 GiB', () => {
    const plan = planTrainingMemory(llama2, { batch });
    expect(plan.peakBytes).toBeLessThanOrEqual(5 * GiB);
    expect(plan.peakBytes).toBe(plan.weightsBytes + plan.activationBytes + plan.optimizerBytes);
    expect(plan.breakdown.reduce((s, t) => s + t.bytes, 0)).toBe(plan.peakBytes);
    expect(plan.rows).toBe(4 * (200 + 8 * 5));
    expect(plan.logitRows).toBe(4 * 8 * 5);
    // the paper's trainable counts (spec 2.1)
    expect(plan.loraParams).toBe(4_194_304);
    expect(plan.criticParams).toBe(4_719_104);
    expect(plan.optimizerBytes).toBe(16 * (4_194_304 + 4_719_104));
    // the numbers as of this writing (a change here should be deliberate)
    expect(plan.weightsBytes).toBe(3_791_273_984);
    expect(plan.peakBytes).toBe(5_041_171_712);
  });

  it('weights as the GPU holds them: q4 words, scales f16 (q4f16_1) or f32 (q4f32_1), norms f32', () => {
    const c = llama2;
    const linears: [number, number][] = [[c.vocabSize, c.hidden], [c.vocabSize, c.hidden]];
    for (let l = 0; l < c.layers; l++) linears.push([(c.heads + 2 * c.kvHeads) * c.headDim, c.hidden], [c.hidden, c.heads * c.headDim], [2 * c.intermediate, c.hidden], [c.hidden, c.intermediate]);
    const norms = (2 * c.layers + 1) * c.hidden * 4;
    const words = linears.reduce((s, [n, k]) => s + ((n * k) / 8) * 4, 0);
    const scales = linears.reduce((s, [n, k]) => s + (n * k) / 32, 0);
    expect(planTrainingMemory(c, { batch }).weightsBytes).toBe(words + 2 * scales + norms);
    expect(planTrainingMemory({ ...c, quantization: 'q4f32_1' }, { batch }).weightsBytes).toBe(words + 4 * scales + norms);
    // tied embeddings: no lm_head
    const tied = planTrainingMemory({ ...c, tieEmbeddings: true }, { batch }).weightsBytes;
    expect(words + 2 * scales + norms - tied).toBe(((c.vocabSize * c.hidden) / 8) * 4 + 2 * ((c.vocabSize * c.hidden) / 32));
  });

  it('activation terms follow the shared layout: checkpoints (L + 1) [R, D], logits [J, V], one layer of workspace', () => {
    const c: LlamaConfig = { ...llama2, layers: 3, hidden: 64, intermediate: 96, heads: 4, kvHeads: 2, headDim: 16, vocabSize: 500 };
    const b = { prompts: 2, promptTokens: 10, actions: 3, actionTokens: 4 };
    const plan = planTrainingMemory(c, { batch: b });
    const R = 2 * (10 + 3 * 4);
    const J = 2 * 3 * 4;
    expect(term(plan, 'layer-input checkpoints')).toBe(4 * R * 64 * 4);
    expect(term(plan, 'logits')).toBe(J * 500 * 4);
    expect(term(plan, 'layer: qkv')).toBe(R * (4 + 2 * 2) * 16 * 4);
    expect(term(plan, 'layer: attention probabilities')).toBe(4 * R * (10 + 4) * 4);
    expect(term(plan, 'layer: gate_up')).toBe(R * 2 * 96 * 4);
    // the per-layer workspace does not grow with depth; only the checkpoints do
    const deeper = planTrainingMemory({ ...c, layers: 6 }, { batch: b });
    expect(deeper.activationBytes - plan.activationBytes).toBe(3 * R * 64 * 4);
  });

  it('LoRA on all seven targets of a GQA model', () => {
    const c = catalogConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC');
    const plan = planTrainingMemory(c, { batch, lora: { r: 4, targets: [...LORA_TARGETS] } });
    const { hidden: D, intermediate: I, heads, kvHeads, headDim: hd } = c;
    const perLayer = [
      [D, heads * hd],
      [D, kvHeads * hd],
      [D, kvHeads * hd],
      [heads * hd, D],
      [D, I],
      [D, I],
      [I, D],
    ].reduce((s, [inDim, out]) => s + 4 * (inDim + out), 0);
    expect(plan.loraParams).toBe(c.layers * perLayer);
    expect(term(plan, 'layer: LoRA intermediates u = x A^T')).toBe(7 * plan.rows * 4 * 4);
  });

  it('rejects impossible batches', () => {
    expect(() => planTrainingMemory(llama2, { batch: { ...batch, prompts: 0 } })).toThrow(/prompts must be a positive integer/);
    expect(() => planTrainingMemory(llama2, { batch: { ...batch, promptTokens: 4095, actionTokens: 5 } })).toThrow(/context window of 4096/);
    expect(() => planTrainingMemory(llama2, { batch, lora: { r: 8, targets: [] } })).toThrow(/at least one target/);
  });
});
