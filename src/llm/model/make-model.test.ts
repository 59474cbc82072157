import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTensorCacheText } from './tensor-cache';
import { DEFAULT_MAKE_MODEL_OPTIONS, makeModel, randomLlamaWeights, type MakeModelOptions } from './make-model';
import { llamaForward } from '../reference/llama';
import { loadLlamaModel, memorySource } from './weights';

const MICRO = resolve(process.cwd(), 'public/models/micro');

/** Standard deviation of the first position's logits: a random model's outputs should spread a few units. */
function firstRowStd(logits: Float32Array, vocab: number): number {
  const row = Array.from(logits.subarray(0, vocab));
  const mean = row.reduce((a, b) => a + b, 0) / row.length;
  return Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length);
}

describe('makeModel', () => {
  it('is deterministic: the same options give byte-identical files, another seed other weights', () => {
    const a = makeModel({ seed: 5, layers: 1 });
    const b = makeModel({ seed: 5, layers: 1 });
    expect(a.files.map((f) => f.name)).toEqual([
      'params_shard_0.bin',
      'tensor-cache.json',
      'tokenizer.json',
      'mlc-chat-config.json',
    ]);
    a.files.forEach((f, i) =>
      expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(b.files[i].bytes)), f.name).toBe(0),
    );
    const c = makeModel({ seed: 6, layers: 1 });
    expect(Buffer.compare(Buffer.from(a.files[0].bytes), Buffer.from(c.files[0].bytes))).not.toBe(0);
    expect(Buffer.compare(Buffer.from(a.files[2].bytes), Buffer.from(c.files[2].bytes))).toBe(0); // same tokenizer
  });

  it('reproduces the shipped public/models/micro byte for byte from the defaults', () => {
    const made = makeModel(DEFAULT_MAKE_MODEL_OPTIONS);
    for (const file of made.files) {
      const shipped = readFileSync(resolve(MICRO, file.name));
      expect(
        Buffer.compare(shipped, Buffer.from(file.bytes)),
        `${file.name} differs: regenerate with the command in public/models/micro/README.md`,
      ).toBe(0);
    }
  });

  it('keeps the default model small (a few hundred KB at most)', () => {
    const total = makeModel().files.reduce((s, f) => s + f.bytes.length, 0);
    expect(total).toBeLessThan(400_000);
  });

  it('splits shards at the size limit, each with its md5, and the model still loads', async () => {
    const made = makeModel({ layers: 2, maxShardBytes: 8 * 1024 });
    const cache = parseTensorCacheText(
      new TextDecoder().decode(made.files.find((f) => f.name === 'tensor-cache.json')!.bytes),
    );
    expect(cache.shards.length).toBeGreaterThan(3);
    for (const shard of cache.shards) {
      const biggest = Math.max(...shard.tensors.map((t) => t.nbytes));
      expect(shard.nbytes <= 8 * 1024 || shard.tensors.length === 1 || biggest > 8 * 1024).toBe(true);
      expect(shard.md5sum).toMatch(/^[0-9a-f]{32}$/);
    }
    const loaded = await loadLlamaModel(memorySource(made.files));
    expect(loaded.cache.shards).toHaveLength(cache.shards.length);
  });

  it('rejects impossible shapes with messages naming the flags', () => {
    expect(() => makeModel({ hidden: 60 })).toThrow(/--hidden \(60\) must be a multiple of 32 for q4f16_1/);
    expect(() => makeModel({ heads: 3 })).toThrow(/--hidden \(64\) must be a multiple of --heads \(3\)/);
    expect(() => makeModel({ kvHeads: 3 })).toThrow(/--heads \(4\) must be a multiple of --kv-heads \(3\)/);
    expect(() => makeModel({ hidden: 96, heads: 32 })).toThrow(/head size .* must be even/);
    expect(() => makeModel({ layers: 0 })).toThrow(/--layers must be a positive integer/);
  });

  it('--vocab pads the embedding and lm_head to a real vocabulary size; the tokenizer stays', async () => {
    const made = makeModel({ layers: 1, vocab: 1000 });
    expect(made.config.vocabSize).toBe(1000);
    expect(made.tokenizer!.vocab.length).toBe(710);
    const loaded = await loadLlamaModel(memorySource(made.files));
    expect(loaded.config.vocabSize).toBe(1000);
    expect(loaded.weights.embed.length).toBe(1000 * 64);
    expect(() => makeModel({ vocab: 700 })).toThrow(
      /--vocab must be 0 \(the tokenizer's 710\) or at least 710 \(got 700\)/,
    );
    // The defaults' bytes do not depend on the new options (the shipped micro model test covers the rest).
    const config = JSON.parse(
      new TextDecoder().decode(made.files.find((f) => f.name === 'mlc-chat-config.json')!.bytes),
    );
    expect(config.twosome_make_model.vocab).toBe(1000);
    expect('init' in config.twosome_make_model).toBe(false);
  });

  for (const quantization of ['q4f16_1', 'q4f32_1', 'q0f16', 'q0f32'] as const) {
    it(`--init fast (${quantization}): deterministic, loads, weights with the normal init's scale, sane logits`, async () => {
      const options: Partial<MakeModelOptions> = {
        layers: 2,
        quantization,
        init: 'fast',
        seed: 3,
        maxShardBytes: 16 * 1024,
      };
      const made = makeModel(options);
      const again = makeModel(options);
      made.files.forEach((f, i) =>
        expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(again.files[i].bytes)), f.name).toBe(0),
      );
      const loaded = await loadLlamaModel(memorySource(made.files));
      expect(loaded.config).toEqual(made.config);
      const normal = await loadLlamaModel(memorySource(makeModel({ ...options, init: 'normal' }).files));
      const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
      for (const pick of [
        (w: typeof loaded.weights) => w.embed,
        (w: typeof loaded.weights) => w.layers[1].qkv,
        (w: typeof loaded.weights) => w.layers[0].down,
      ]) {
        const ratio = rms(pick(loaded.weights)) / rms(pick(normal.weights));
        expect(ratio).toBeGreaterThan(0.85);
        expect(ratio).toBeLessThan(1.15);
      }
      const { logits } = llamaForward(loaded.weights, [1, 20, 300, 400]);
      expect(logits.every(Number.isFinite)).toBe(true);
      const std = firstRowStd(logits, made.config.vocabSize);
      expect(std).toBeGreaterThan(0.5);
      expect(std).toBeLessThan(10);
    });
  }

  const variants: [string, Partial<MakeModelOptions>][] = [
    ['defaults (q4f16_1, GQA 4/2, untied, plain RoPE)', {}],
    ['q4f32_1 (f32 scales and norms stored as bf16)', { quantization: 'q4f32_1' }],
    ['q0f32 (unquantized, stored as bf16)', { quantization: 'q0f32' }],
    ['q0f16', { quantization: 'q0f16' }],
    ['tied embeddings', { tieEmbeddings: true }],
    ['multi-head attention (kv heads = heads)', { kvHeads: 4 }],
    ['multi-query attention (1 kv head)', { kvHeads: 1 }],
    ['llama3 RoPE scaling', { ropeScaling: 'llama3' }],
    [
      'odd sizes: hidden 96, 3 heads, intermediate 160, 3 layers',
      { hidden: 96, heads: 3, kvHeads: 1, intermediate: 160, layers: 3 },
    ],
  ];
  for (const [name, options] of variants) {
    it(`${name}: writes a model that weights.ts loads and the reference runs`, async () => {
      const made = makeModel({ layers: 1, ...options });
      const loaded = await loadLlamaModel(memorySource(made.files));
      const o = { ...DEFAULT_MAKE_MODEL_OPTIONS, layers: 1, ...options };
      expect(loaded.config).toEqual(made.config);
      expect(loaded.config).toMatchObject({
        hidden: o.hidden,
        layers: o.layers,
        heads: o.heads,
        kvHeads: o.kvHeads,
        intermediate: o.intermediate,
        quantization: o.quantization,
        tieEmbeddings: o.tieEmbeddings,
      });
      expect(loaded.config.ropeScaling?.type ?? 'none').toBe(o.ropeScaling === 'llama3' ? 'llama3' : 'none');
      expect(loaded.weights.lmHead === loaded.weights.embed).toBe(o.tieEmbeddings);
      expect(loaded.tokenizerJson).toBeDefined();

      // The stored weights are the float initialization up to the format's rounding.
      const floats = randomLlamaWeights(made.config, o.seed);
      const pairs: [string, Float32Array][] = [
        ['model.embed_tokens', loaded.weights.embed],
        ['model.layers.0.self_attn.qkv_proj', loaded.weights.layers[0].qkv],
        ['model.layers.0.mlp.down_proj', loaded.weights.layers[0].down],
        ['model.norm.weight', loaded.weights.finalNorm],
      ];
      const quantized = o.quantization.startsWith('q4');
      for (const [base, got] of pairs) {
        const want = floats.get(base)!.data;
        expect(got.length).toBe(want.length);
        let maxAbs = 0;
        let maxErr = 0;
        for (let i = 0; i < want.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(want[i]));
          maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
        }
        const isNorm = base.endsWith('.weight');
        // q4: half a step of max/7 (+ scale rounding); f16 ~2^-11, bf16 ~2^-8 relative.
        const bound = quantized && !isNorm ? maxAbs / 14 + maxAbs * 2 ** -7 : maxAbs * 2 ** -8;
        expect(maxErr, base).toBeLessThanOrEqual(bound);
      }

      const tokens = [1, 20, 300, 400, 5, 600];
      const { logits, hidden } = llamaForward(loaded.weights, tokens);
      expect(logits.length).toBe(tokens.length * made.config.vocabSize);
      expect(hidden.length).toBe(tokens.length * made.config.hidden);
      expect(logits.every(Number.isFinite)).toBe(true);
      // Non-uniform but sane: logit spread of a few units.
      const std = firstRowStd(logits, made.config.vocabSize);
      expect(std).toBeGreaterThan(0.5);
      expect(std).toBeLessThan(10);
    });
  }
});
