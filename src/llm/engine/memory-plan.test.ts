import { describe, expect, it } from 'vitest';
import { architectureConfig } from '../model/catalog';
import type { LlamaConfig } from '../model/config';
import { LORA_TARGETS } from '../train/lora';
import { passBucket, planLadder } from './activations';
import { largestWeightBuffer, planTrainingMemory, type MemoryPlan } from './memory-plan';
import { attentionReaderCapacity } from './kernels/attention';
import { gatherSources, keyReaders, planScoring } from './scoring-layout';

const GiB = 2 ** 30;
/**
 * Llama-2-7b's planned activations for `batch` as of this writing (a change here should be deliberate; flash
 * attention's reader lists per (key block, query tile) took 7,495,156 bytes off the per-key-row lists; 7,864,320
 * of it are the lm_head input gradient's 3 partial sums [3, J 160, D 4096], kernels/linear.ts; the policy loss
 * on the GPU added 2,664 bytes, rl/policy-loss-gpu.ts).
 */
const ACTIVATION_BYTES = 1_168_761_136;
const batch = { prompts: 4, promptTokens: 200, actions: 8, actionTokens: 5 };
const term = (plan: MemoryPlan, name: string) => {
  const t = plan.breakdown.find((x) => x.name === name);
  if (!t) throw new Error(`no term ${name}`);
  return t.bytes;
};

describe('training memory plan', () => {
  const llama2 = architectureConfig('Llama-2-7b-chat-hf-q4f16_1-MLC');

  it('acceptance: Llama-2-7b q4f16_1, LoRA r 8 on q and v, 4 prompts x 200 tokens x 8 actions of 5 tokens: peak <= 5 GiB', () => {
    const plan = planTrainingMemory(llama2, { batch });
    expect(plan.peakBytes).toBeLessThanOrEqual(5 * GiB);
    expect(plan.peakBytes).toBe(plan.weightsBytes + plan.activationBytes + plan.optimizerBytes);
    expect(plan.breakdown.reduce((s, t) => s + t.bytes, 0)).toBe(plan.peakBytes);
    expect(plan.rows).toBe(4 * (200 + 8 * 5));
    expect(plan.logitRows).toBe(4 * 8 * 5);
    // allocated for the buckets the engine rounds a pass up to: 960 rows -> 1024, 160 scored tokens stay 160
    expect([plan.paddedRows, plan.paddedLogitRows]).toEqual([1024, 160]);
    // the paper's trainable counts (spec 2.1)
    expect(plan.loraParams).toBe(4_194_304);
    expect(plan.criticParams).toBe(4_719_104);
    // params, gradients, m, v (f32 each); AdamW's and Adam's norm partials (one per 256 elements of each of
    // 128 LoRA tensors of 32768, and of the critic's 4096 x 1024, 1024 x 512, 512 x 1), 8-word infos and
    // 2-word step arguments.
    expect(plan.optimizerBytes).toBe(
      16 * (4_194_304 + 4_719_104) + 4 * (128 * 128 + 8 + 2) + 4 * (16384 + 2048 + 2 + 8 + 2),
    );
    // the numbers as of this writing (a change here should be deliberate)
    expect(plan.weightsBytes).toBe(3_791_273_984);
    expect(plan.activationBytes).toBe(ACTIVATION_BYTES);
    expect(plan.peakBytes).toBe(3_791_273_984 + ACTIVATION_BYTES + plan.optimizerBytes);
  });

  it('weights as the GPU holds them: q4 words, scales f16 (q4f16_1) or f32 (q4f32_1), norms f32', () => {
    const c = llama2;
    const linears: [number, number][] = [
      [c.vocabSize, c.hidden],
      [c.vocabSize, c.hidden],
    ];
    for (let l = 0; l < c.layers; l++)
      linears.push(
        [(c.heads + 2 * c.kvHeads) * c.headDim, c.hidden],
        [c.hidden, c.heads * c.headDim],
        [2 * c.intermediate, c.hidden],
        [c.hidden, c.intermediate],
      );
    const norms = (2 * c.layers + 1) * c.hidden * 4;
    const words = linears.reduce((s, [n, k]) => s + ((n * k) / 8) * 4, 0);
    const scales = linears.reduce((s, [n, k]) => s + (n * k) / 32, 0);
    expect(planTrainingMemory(c, { batch }).weightsBytes).toBe(words + 2 * scales + norms);
    expect(planTrainingMemory({ ...c, quantization: 'q4f32_1' }, { batch }).weightsBytes).toBe(
      words + 4 * scales + norms,
    );
    // tied embeddings: no lm_head
    const tied = planTrainingMemory({ ...c, tieEmbeddings: true }, { batch }).weightsBytes;
    expect(words + 2 * scales + norms - tied).toBe(
      ((c.vocabSize * c.hidden) / 8) * 4 + 2 * ((c.vocabSize * c.hidden) / 32),
    );
  });

  it('activation terms follow the shared layout: checkpoints (L + 1) [R, D], logits [J, V], one layer of workspace', () => {
    const c: LlamaConfig = {
      ...llama2,
      layers: 3,
      hidden: 64,
      intermediate: 96,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      vocabSize: 500,
    };
    const b = { prompts: 2, promptTokens: 10, actions: 3, actionTokens: 4 };
    const plan = planTrainingMemory(c, { batch: b, criticHidden: [32], criticBatch: 5 });
    // 44 rows and 24 scored tokens, allocated for their buckets 48 and 24
    const [R, J] = [48, 24];
    expect([plan.rows, plan.logitRows, plan.paddedRows, plan.paddedLogitRows]).toEqual([44, 24, R, J]);
    expect(term(plan, 'forward: layer-input checkpoints')).toBe(4 * R * 64 * 4);
    expect(term(plan, 'forward: logits')).toBe(J * 500 * 4);
    expect(term(plan, 'backward: dlogits')).toBe(J * 500 * 4);
    expect(term(plan, 'forward: qkv')).toBe(R * (4 + 2 * 2) * 16 * 4);
    expect(term(plan, 'forward: gate_up')).toBe(R * 2 * 96 * 4);
    // flash-style attention: a log-sum-exp and a delta per row and head, no [H, R, K] probabilities or dS
    expect(term(plan, 'forward: lse')).toBe(R * 4 * 4);
    expect(term(plan, 'backward: delta')).toBe(R * 4 * 4);
    expect(plan.breakdown.some((t) => /probabilit|dS/.test(t.name))).toBe(false);
    // the critic's pass: features [B_v, D], a1 [B_v, 32], a2 [B_v, 1], dv [B_v], da1 [B_v, 32]; the value loss's
    // targets [B_v, 2] and loss [1]
    expect(term(plan, 'critic features') + term(plan, 'critic a1, a2') + term(plan, 'critic dv, da1')).toBe(
      5 * (64 + 32 + 1 + 1 + 32) * 4,
    );
    expect(term(plan, 'critic value-loss targets, loss')).toBe((5 * 2 + 1) * 4);
    // the per-layer workspace does not grow with depth; only the checkpoints do
    const deeper = planTrainingMemory({ ...c, layers: 6 }, { batch: b, criticHidden: [32], criticBatch: 5 });
    expect(deeper.activationBytes - plan.activationBytes).toBe(3 * R * 64 * 4);
  });

  it("layout-dependent terms equal the engine's layout of P prompts of T tokens with N actions of n tokens", () => {
    const c: LlamaConfig = { ...llama2, headDim: 16 };
    for (const [P, T, N, n] of [
      [1, 1, 1, 1],
      [2, 13, 3, 4],
      [3, 40, 5, 7],
    ]) {
      const requests = Array.from({ length: P }, () => ({
        promptTokens: Array(T).fill(1),
        actionTokens: Array.from({ length: N }, () => Array(n).fill(2)),
      }));
      const layout = planScoring(requests);
      const R = layout.tokens.length;
      const J = layout.logitRows.length;
      const plan = planTrainingMemory(c, { batch: { prompts: P, promptTokens: T, actions: N, actionTokens: n } });
      expect([plan.rows, plan.logitRows]).toEqual([R, J]);
      // Allocated for the buckets of R, J and P; padded rows read themselves as keys.
      const [Rp, Jp, Pp] = [passBucket(R), passBucket(J), passBucket(P)];
      expect([plan.paddedRows, plan.paddedLogitRows]).toEqual([Rp, Jp]);
      // Every row's attended keys: prompt row i reads i + 1, action token j reads T + j + 1.
      const { readers } = keyReaders(layout.segments, R);
      expect(readers.length).toBe(P * ((T * (T + 1)) / 2 + N * (n * T + (n * (n + 1)) / 2)));
      const gather = gatherSources(layout.logitRows, R);
      expect(gather.sources.length).toBe(J);
      // The engine's plans on the workspace: a ladder of rungs up to Rp, each a forward plan for the adapter and
      // one for the frozen model (tokens, positions, segments [R, 4], logit rows, targets, last prompt rows) and a
      // backward plan with room for every key reader a layout of its rows can have (row r reads at most r + 1).
      const rungs = planLadder(Rp);
      expect(rungs.at(-1)).toBe(Rp);
      const sum = (f: (r: number) => number) => rungs.reduce((a, r) => a + f(r), 0);
      // head_dim 16 takes attention's thread variant: a word per key reader.
      expect(term(plan, 'backward: reader offsets, readers')).toBe(sum((r) => r + 1 + (r * (r + 1)) / 2) * 4);
      // head_dim 64 takes the flash kernels: a word per (key block, query tile) pair, at most.
      const batch = { prompts: P, promptTokens: T, actions: N, actionTokens: n };
      const flashPlan = planTrainingMemory({ ...c, headDim: 64 }, { batch });
      const flashRoom = (r: number) =>
        attentionReaderCapacity({ rows: r, heads: c.heads, kvHeads: c.kvHeads, headDim: 64 }, (r * (r + 1)) / 2);
      expect(flashRoom(Rp)).toBeLessThan((Rp * (Rp + 1)) / 2);
      expect(term(flashPlan, 'backward: reader offsets, readers')).toBe(sum((r) => r + 1 + flashRoom(r)) * 4);
      expect(term(plan, 'backward: gather offsets, sources')).toBe(sum((r) => r + 1 + Jp) * 4);
      expect(term(plan, 'forward: layout')).toBe(2 * sum((r) => 6 * r + 2 * Jp + Pp) * 4);
      // the rope table covers positions 0 .. max position, rounded up: [bucket(max + 1), hd / 2, 2]
      expect(term(plan, 'forward: rope cos/sin')).toBe(passBucket(Math.max(...layout.positions) + 1) * 16 * 4);
    }
  });

  it('LoRA on all seven targets of a GQA model', () => {
    const c = architectureConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC');
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
    expect(term(plan, 'forward: LoRA u')).toBe(7 * plan.paddedRows * 4 * 4);
    expect(term(plan, 'backward: du')).toBe(plan.paddedRows * 4 * 4);
    expect(term(plan, 'LoRA A, B')).toBe(plan.loraParams * 4);
  });

  it('largest buffer: a weight over the binding limit counts as its largest row chunk, as gpu-weights.ts uploads it', () => {
    // Llama-3.1-8B: the embedding's q_weight [128256, 4096 / 8] u32 is 250.5 MiB; rows of 2 KiB. A small batch,
    // so no activation comes near.
    const llama3 = architectureConfig('Llama-3.1-8B-Instruct-q4f16_1-MLC');
    const small = { prompts: 1, promptTokens: 50, actions: 2, actionTokens: 3 };
    const rowBytes = (llama3.hidden / 8) * 4;
    expect(planTrainingMemory(llama3, { batch: small, maxBindingBytes: 2 ** 30 }).largestBuffer).toEqual({
      name: 'weight model.embed_tokens.q_weight',
      bytes: 128256 * rowBytes,
    });
    // WebGPU's default 128 MiB binding: 2 chunks, the first of 65536 rows (exactly 128 MiB); the default option.
    const chunked = {
      name: 'weight model.embed_tokens.q_weight rows 0..65536 (1 of 2 chunks)',
      bytes: 65536 * rowBytes,
    };
    expect(planTrainingMemory(llama3, { batch: small }).largestBuffer).toEqual(chunked);
    expect(planTrainingMemory(llama3, { batch: small, maxBindingBytes: 128 * 2 ** 20 }).largestBuffer).toEqual(chunked);
    // 100 MB: floor(100e6 / 2048) = 48828 rows a chunk, 3 chunks.
    expect(largestWeightBuffer(llama3, 100e6)).toEqual({
      name: 'weight model.embed_tokens.q_weight rows 0..48828 (1 of 3 chunks)',
      bytes: 48828 * rowBytes,
    });
    // The default batch's gate_up [960, 2 x 14336] f32 (105 MiB) is larger than a 64 MiB weight chunk: past the
    // binding limit, so not padded (the engine would split the batch); under 128 MiB, padded to 1024 rows.
    const gateUp = { name: 'forward: gate_up [R, 2I]', bytes: 960 * 2 * 14336 * 4 };
    expect(planTrainingMemory(llama3, { batch, maxBindingBytes: 64 * 2 ** 20 }).largestBuffer).toEqual(gateUp);
    expect(planTrainingMemory(llama3, { batch }).largestActivation).toEqual({ ...gateUp, bytes: 1024 * 2 * 14336 * 4 });
    // A small model's largest buffer can be the critic's W2 [512, 1024] f32 (2 MiB).
    const tiny: LlamaConfig = {
      ...llama2,
      layers: 2,
      hidden: 64,
      intermediate: 128,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      vocabSize: 710,
    };
    expect(planTrainingMemory(tiny, { batch: small }).largestBuffer).toEqual({
      name: 'critic W [h2, h1]',
      bytes: 512 * 1024 * 4,
    });
    // Llama-2-7b's largest tensor (an untied 32000 x 4096 q4 embedding, 62.5 MiB) fits the default limit whole.
    expect(largestWeightBuffer(llama2, 128 * 2 ** 20)).toEqual({
      name: 'weight model.embed_tokens.q_weight',
      bytes: (32000 * 4096) / 2,
    });
  });

  it('rejects impossible batches', () => {
    expect(() => planTrainingMemory(llama2, { batch: { ...batch, prompts: 0 } })).toThrow(
      /prompts must be a positive integer/,
    );
    expect(() => planTrainingMemory(llama2, { batch: { ...batch, promptTokens: 4095, actionTokens: 5 } })).toThrow(
      /context window of 4096/,
    );
    expect(() => planTrainingMemory(llama2, { batch, lora: { r: 8, targets: [] } })).toThrow(/at least one target/);
  });
});
