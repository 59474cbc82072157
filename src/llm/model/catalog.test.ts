import { describe, expect, it } from 'vitest';
import { canRun, catalogBaseUrl, catalogConfig, catalogRecord, estimateSizes, MODEL_CATALOG, quantizationOfId, resolveModelBaseUrl } from './catalog';
import { llamaModelConfigJson, parseLlamaConfig } from './config';

const GiB = 2 ** 30;
const bigAdapter = { maxStorageBufferBindingSize: 4 * GiB - 4, maxBufferSize: 4 * GiB - 4 };

describe('MODEL_CATALOG', () => {
  it('has unique ids, supported quantizations, and every record parses into a valid LlamaConfig', () => {
    const ids = MODEL_CATALOG.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(45);
    for (const r of MODEL_CATALOG) {
      const config = catalogConfig(r);
      expect(config.quantization, r.id).toBe(quantizationOfId(r.id));
      expect(config.contextWindow, r.id).toBe(r.contextWindow);
      expect(config.headDim * config.heads, r.id).toBeLessThanOrEqual(config.hidden * 2);
      // The config round-trips through the project's own mlc-chat-config writer and parser.
      const again = parseLlamaConfig({
        model_type: 'llama',
        quantization: config.quantization,
        model_config: llamaModelConfigJson(config),
        bos_token_id: config.bosTokenId,
        eos_token_id: config.eosTokenIds,
      });
      expect({ ...again, tokenizerFiles: config.tokenizerFiles }, r.id).toEqual(config);
      expect(r.model, r.id).toBe(`https://huggingface.co/mlc-ai/${r.id.replace(/-1k$/, '')}`);
      expect(r.vramRequiredMB, r.id).toBeGreaterThan(300);
    }
  });

  it('knows the standard architectures', () => {
    expect(catalogConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC')).toMatchObject({
      layers: 16,
      hidden: 2048,
      intermediate: 8192,
      heads: 32,
      kvHeads: 8,
      headDim: 64,
      vocabSize: 128256,
      tieEmbeddings: true,
      ropeTheta: 500000,
      ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
      bosTokenId: 128000,
      contextWindow: 4096,
      quantization: 'q4f16_1',
    });
    expect(catalogConfig('Llama-3.1-8B-Instruct-q4f32_1-MLC-1k')).toMatchObject({ layers: 32, hidden: 4096, kvHeads: 8, tieEmbeddings: false, ropeScaling: { factor: 8 }, contextWindow: 1024, quantization: 'q4f32_1' });
    expect(catalogConfig('Llama-3-8B-Instruct-q4f16_1-MLC')).toMatchObject({ ropeScaling: null, ropeTheta: 500000 });
    expect(catalogConfig('Llama-2-7b-chat-hf-q4f16_1-MLC')).toMatchObject({ layers: 32, hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, vocabSize: 32000, tieEmbeddings: false, ropeTheta: 10000, ropeScaling: null, bosTokenId: 1 });
    expect(catalogConfig('TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC')).toMatchObject({ layers: 22, hidden: 2048, intermediate: 5632, kvHeads: 4, contextWindow: 2048 });
    expect(catalogConfig('SmolLM2-360M-Instruct-q0f16-MLC')).toMatchObject({ hidden: 960, heads: 15, kvHeads: 5, headDim: 64, layers: 32, vocabSize: 49152, tieEmbeddings: true, quantization: 'q0f16' });
    expect(catalogRecord('SmolLM2-360M-Instruct-q4f16_1-MLC')).toMatchObject({ vramRequiredMB: 376.06, requiredFeatures: ['shader-f16'], lowResourceRequired: true });
    expect(catalogRecord('Llama-3.1-70B-Instruct-q3f16_1-MLC')).toBeUndefined();
    expect(() => catalogConfig('nope')).toThrow(/unknown model "nope": run `twosome models list`/);
  });

  it('estimates download sizes close to the published repos', () => {
    // Llama-3.2-1B q4f16_1 is ~0.7 GB on HF; Llama-2-7B q4f16_1 ~3.8 GB.
    const small = estimateSizes(catalogConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC'));
    expect(small.downloadBytes / 1e9).toBeGreaterThan(0.65);
    expect(small.downloadBytes / 1e9).toBeLessThan(0.75);
    expect(small.largestTensor).toBe('model.embed_tokens.q_weight');
    expect(small.largestTensorBytes).toBe((128256 * 2048) / 2);
    const big = estimateSizes(catalogConfig('Llama-2-7b-chat-hf-q4f16_1-MLC'));
    expect(big.downloadBytes / 1e9).toBeGreaterThan(3.5);
    expect(big.downloadBytes / 1e9).toBeLessThan(4.0);
  });
});

describe('base URLs', () => {
  it('maps catalog ids (the -1k variants share their repo) and custom Hugging Face repos to .../resolve/main/', () => {
    expect(catalogBaseUrl('Llama-3.2-1B-Instruct-q4f16_1-MLC')).toBe('https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f16_1-MLC/resolve/main/');
    expect(catalogBaseUrl('Llama-3-8B-Instruct-q4f16_1-MLC-1k')).toBe('https://huggingface.co/mlc-ai/Llama-3-8B-Instruct-q4f16_1-MLC/resolve/main/');
    expect(resolveModelBaseUrl('TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC')).toBe('https://huggingface.co/mlc-ai/TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC/resolve/main/');
    expect(resolveModelBaseUrl('https://huggingface.co/me/My-Llama-q4f16_1-MLC')).toBe('https://huggingface.co/me/My-Llama-q4f16_1-MLC/resolve/main/');
    expect(resolveModelBaseUrl('https://huggingface.co/me/My-Llama-q4f16_1-MLC/')).toBe('https://huggingface.co/me/My-Llama-q4f16_1-MLC/resolve/main/');
    expect(resolveModelBaseUrl('https://huggingface.co/me/repo/resolve/v2/')).toBe('https://huggingface.co/me/repo/resolve/v2/');
    expect(resolveModelBaseUrl('http://localhost:8000/models/x')).toBe('http://localhost:8000/models/x/');
    expect(() => resolveModelBaseUrl('https://huggingface.co/me')).toThrow(/expected https:\/\/huggingface.co\/<org>\/<repo>/);
    expect(() => resolveModelBaseUrl('http://example.com/m/')).toThrow(/only https/);
    expect(() => resolveModelBaseUrl('Llama-9')).toThrow(/unknown model "Llama-9"/);
  });
});

describe('canRun', () => {
  const tiny = catalogRecord('TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC')!;

  it('runs without shader-f16 (a warning), unless features are strict', () => {
    const result = canRun(tiny, [], bigAdapter);
    expect(result.ok).toBe(true);
    expect(result.warnings[0]).toMatch(/web-llm needs shader-f16 for TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC; this engine runs it without/);
    expect(canRun(tiny, ['shader-f16'], bigAdapter)).toEqual({ ok: true, reason: '', warnings: [] });
    expect(canRun(tiny, new Set<string>(), bigAdapter, { strictFeatures: true })).toMatchObject({ ok: false, reason: expect.stringMatching(/needs the WebGPU feature shader-f16.*pick the q4f32_1 variant/) });
  });

  it('splits a tensor larger than a binding and refuses only a row that does not fit one', () => {
    const defaults = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };
    const small = canRun(catalogRecord('Llama-3.2-1B-Instruct-q4f16_1-MLC')!, [], defaults); // 125 MiB embedding
    expect(small.ok).toBe(true);
    expect(small.warnings.filter((w) => /row chunks/.test(w))).toEqual([]);
    // Llama-3 8B's 251 MiB embedding (128256 x 4096 q4) goes up in row chunks.
    const llama8 = canRun(catalogRecord('Llama-3.1-8B-Instruct-q4f16_1-MLC')!, [], defaults);
    expect(llama8.ok).toBe(true);
    expect(llama8.warnings).toContain('model.embed_tokens.q_weight (251 MiB) is larger than one GPU buffer may be (128 MiB): it is uploaded in row chunks');
    const q0 = canRun(catalogRecord('Llama-3.2-1B-Instruct-q0f32-MLC')!, [], { maxStorageBufferBindingSize: 2 * GiB, maxBufferSize: 512 * 2 ** 20 });
    expect(q0.ok).toBe(true);
    // A row that does not fit: Llama-3.2-1B q0f32's widest rows are down_proj's, 8192 f32 (32 KiB).
    const tiny = canRun(catalogRecord('Llama-3.2-1B-Instruct-q0f32-MLC')!, [], { maxStorageBufferBindingSize: 4096, maxBufferSize: 2 * GiB });
    expect(tiny.ok).toBe(false);
    expect(tiny.reason).toMatch(/^Llama-3.2-1B-Instruct-q0f32-MLC: one row of tensor \S+ needs \d+ bytes in one GPU buffer \(rows cannot be split\) but this adapter allows maxStorageBufferBindingSize 4096 bytes; pick a smaller model$/);
    expect(estimateSizes(catalogConfig('Llama-3.2-1B-Instruct-q0f32-MLC')).largestRowBytes).toBe(8192 * 4); // down_proj: I = 8192 f32
  });

  it('compares web-llm VRAM with a memory budget and flags unverified architectures', () => {
    const llama7 = catalogRecord('Llama-2-7b-chat-hf-q4f32_1-MLC')!;
    expect(canRun(llama7, [], bigAdapter, { memoryBudgetMB: 8000 }).reason).toBe('Llama-2-7b-chat-hf-q4f32_1-MLC needs about 9110 MB of GPU memory (web-llm\'s figure) but the budget is 8000 MB; pick a smaller model');
    expect(canRun(llama7, [], bigAdapter, { memoryBudgetMB: 10000 }).ok).toBe(true);
    const hermes = canRun(catalogRecord('Hermes-2-Pro-Llama-3-8B-q4f16_1-MLC')!, [], bigAdapter);
    expect(hermes.ok).toBe(true);
    expect(hermes.warnings.join()).toMatch(/unverified fields \(vocabSize/);
  });
});
