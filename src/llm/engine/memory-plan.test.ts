import { describe, expect, it } from 'vitest';
import { catalogConfig } from '../model/catalog';
import type { LlamaConfig } from '../model/config';
import { LORA_TARGETS } from '../train/lora';
import { largestWeightBuffer, planTrainingMemory, sharedLayoutKeys, type MemoryPlan } from './memory-plan';
import { gatherSources, keyReaders, planScoring } from './scoring-layout';

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
    // params, gradients, m, v (f32 each); AdamW's and Adam's norm partials (one per 256 elements of each of
    // 128 LoRA tensors of 32768, and of the critic's 4096 x 1024, 1024 x 512, 512 x 1) and 8-word infos.
    expect(plan.optimizerBytes).toBe(16 * (4_194_304 + 4_719_104) + 4 * (128 * 128 + 8) + 4 * (16384 + 2048 + 2 + 8));
    // the numbers as of this writing (a change here should be deliberate)
    expect(plan.weightsBytes).toBe(3_791_273_984);
    // (7_864_320 of it: the lm_head input gradient's 3 partial sums [3, J 160, D 4096], kernels/linear.ts)
    expect(plan.activationBytes).toBe(1_111_775_320);
    expect(plan.peakBytes).toBe(5_045_803_168);
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
    const plan = planTrainingMemory(c, { batch: b, criticHidden: [32], criticBatch: 5 });
    const R = 2 * (10 + 3 * 4);
    const J = 2 * 3 * 4;
    expect(term(plan, 'forward: layer-input checkpoints')).toBe(4 * R * 64 * 4);
    expect(term(plan, 'forward: logits')).toBe(J * 500 * 4);
    expect(term(plan, 'backward: dlogits')).toBe(J * 500 * 4);
    expect(term(plan, 'forward: qkv')).toBe(R * (4 + 2 * 2) * 16 * 4);
    expect(term(plan, 'forward: gate_up')).toBe(R * 2 * 96 * 4);
    // flash-style attention: a log-sum-exp and a delta per row and head, no [H, R, K] probabilities or dS
    expect(term(plan, 'forward: lse')).toBe(R * 4 * 4);
    expect(term(plan, 'backward: delta')).toBe(R * 4 * 4);
    expect(plan.breakdown.some((t) => /probabilit|dS/.test(t.name))).toBe(false);
    // the critic's pass: features [B_v, D], a1 [B_v, 32], a2 [B_v, 1], dv [B_v], da1 [B_v, 32]
    expect(term(plan, 'critic features') + term(plan, 'critic a1, a2') + term(plan, 'critic dv, da1')).toBe(5 * (64 + 32 + 1 + 1 + 32) * 4);
    // the per-layer workspace does not grow with depth; only the checkpoints do
    const deeper = planTrainingMemory({ ...c, layers: 6 }, { batch: b, criticHidden: [32], criticBatch: 5 });
    expect(deeper.activationBytes - plan.activationBytes).toBe(3 * R * 64 * 4);
  });

  it("layout-dependent terms equal the engine's layout of P prompts of T tokens with N actions of n tokens", () => {
    const c: LlamaConfig = { ...llama2, headDim: 16 };
    for (const [P, T, N, n] of [[1, 1, 1, 1], [2, 13, 3, 4], [3, 40, 5, 7]]) {
      const requests = Array.from({ length: P }, () => ({ promptTokens: Array(T).fill(1), actionTokens: Array.from({ length: N }, () => Array(n).fill(2)) }));
      const layout = planScoring(requests);
      const R = layout.tokens.length;
      const J = layout.logitRows.length;
      const plan = planTrainingMemory(c, { batch: { prompts: P, promptTokens: T, actions: N, actionTokens: n } });
      expect([plan.rows, plan.logitRows]).toEqual([R, J]);
      const { readers, offsets } = keyReaders(layout.segments, R);
      expect(sharedLayoutKeys(P, T, N, n)).toBe(readers.length);
      expect(term(plan, 'backward: reader offsets, readers')).toBe((offsets.length + readers.length) * 4);
      const gather = gatherSources(layout.logitRows, R);
      expect(term(plan, 'backward: gather offsets, sources')).toBe((gather.offsets.length + gather.sources.length) * 4);
      const layoutWords = layout.tokens.length + layout.positions.length + layout.segments.length + layout.logitRows.length + layout.targets.length + layout.lastPromptRows.length;
      expect(term(plan, 'forward: layout')).toBe(layoutWords * 4);
      // the rope table covers positions 0 .. max position: [max + 1, hd / 2, 2]
      expect(term(plan, 'forward: rope cos/sin')).toBe((Math.max(...layout.positions) + 1) * 16 * 4);
    }
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
    expect(term(plan, 'forward: LoRA u')).toBe(7 * plan.rows * 4 * 4);
    expect(term(plan, 'backward: du')).toBe(plan.rows * 4 * 4);
    expect(term(plan, 'LoRA A, B')).toBe(plan.loraParams * 4);
  });

  it('largest buffer: a weight over the binding limit counts as its largest row chunk, as gpu-weights.ts uploads it', () => {
    // Llama-3.1-8B: the embedding's q_weight [128256, 4096 / 8] u32 is 250.5 MiB; rows of 2 KiB. A small batch,
    // so no activation comes near.
    const llama3 = catalogConfig('Llama-3.1-8B-Instruct-q4f16_1-MLC');
    const small = { prompts: 1, promptTokens: 50, actions: 2, actionTokens: 3 };
    const rowBytes = (llama3.hidden / 8) * 4;
    expect(planTrainingMemory(llama3, { batch: small, maxBindingBytes: 2 ** 30 }).largestBuffer).toEqual({ name: 'weight model.embed_tokens.q_weight', bytes: 128256 * rowBytes });
    // WebGPU's default 128 MiB binding: 2 chunks, the first of 65536 rows (exactly 128 MiB); the default option.
    const chunked = { name: 'weight model.embed_tokens.q_weight rows 0..65536 (1 of 2 chunks)', bytes: 65536 * rowBytes };
    expect(planTrainingMemory(llama3, { batch: small }).largestBuffer).toEqual(chunked);
    expect(planTrainingMemory(llama3, { batch: small, maxBindingBytes: 128 * 2 ** 20 }).largestBuffer).toEqual(chunked);
    // 100 MB: floor(100e6 / 2048) = 48828 rows a chunk, 3 chunks.
    expect(largestWeightBuffer(llama3, 100e6)).toEqual({ name: 'weight model.embed_tokens.q_weight rows 0..48828 (1 of 3 chunks)', bytes: 48828 * rowBytes });
    // The default batch's gate_up [960, 2 x 14336] f32 (105 MiB) is larger than a 64 MiB weight chunk.
    const gateUp = { name: 'forward: gate_up [R, 2I]', bytes: 960 * 2 * 14336 * 4 };
    expect(planTrainingMemory(llama3, { batch, maxBindingBytes: 64 * 2 ** 20 }).largestBuffer).toEqual(gateUp);
    expect(planTrainingMemory(llama3, { batch }).largestActivation).toEqual(gateUp);
    // A small model's largest buffer can be the critic's W2 [512, 1024] f32 (2 MiB).
    const tiny: LlamaConfig = { ...llama2, layers: 2, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, headDim: 16, vocabSize: 710 };
    expect(planTrainingMemory(tiny, { batch: small }).largestBuffer).toEqual({ name: 'critic W [h2, h1]', bytes: 512 * 1024 * 4 });
    // Llama-2-7b's largest tensor (an untied 32000 x 4096 q4 embedding, 62.5 MiB) fits the default limit whole.
    expect(largestWeightBuffer(llama2, 128 * 2 ** 20)).toEqual({ name: 'weight model.embed_tokens.q_weight', bytes: (32000 * 4096) / 2 });
  });

  it('rejects impossible batches', () => {
    expect(() => planTrainingMemory(llama2, { batch: { ...batch, prompts: 0 } })).toThrow(/prompts must be a positive integer/);
    expect(() => planTrainingMemory(llama2, { batch: { ...batch, promptTokens: 4095, actionTokens: 5 } })).toThrow(/context window of 4096/);
    expect(() => planTrainingMemory(llama2, { batch, lora: { r: 8, targets: [] } })).toThrow(/at least one target/);
  });
});
