import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { describe, expect, it } from 'vitest';
import {
  ARCHITECTURES,
  architectureConfig,
  catalogBaseUrl,
  catalogConfig,
  catalogFromModelList,
  estimateSizes,
  findCatalogRecord,
  isLlamaRecord,
  quantizationOfId,
  resolveModelBaseUrl,
  type WebLlmModelRecord,
} from './catalog';
import { llamaModelConfigJson, parseLlamaConfig } from './config';
import { loadCatalog } from './webllm';

// The installed web-llm's list, as the app and the CLI read it.
const webllmList = prebuiltAppConfig.model_list as WebLlmModelRecord[];
const catalog = catalogFromModelList(webllmList);
const record = (id: string) => findCatalogRecord(catalog, id)!;

describe("the catalog is web-llm's model list", () => {
  it('every Llama record of the installed web-llm has an architecture entry, and every entry is a web-llm record', () => {
    const llama = webllmList.filter(isLlamaRecord);
    const runnable = llama.filter((r) => quantizationOfId(r.model_id) !== undefined);
    expect(runnable.length).toBeGreaterThan(40);
    expect(runnable.filter((r) => !ARCHITECTURES.has(r.model_id)).map((r) => r.model_id)).toEqual([]);
    // No stale entries: an id web-llm dropped would show here.
    const ids = new Set(webllmList.map((r) => r.model_id));
    expect([...ARCHITECTURES.keys()].filter((id) => !ids.has(id))).toEqual([]);
    // The Llama records left out are the ones in a quantization this engine does not run (70B: q3f16_1).
    expect(llama.filter((r) => quantizationOfId(r.model_id) === undefined).map((r) => r.model_id)).toEqual([
      'Llama-3.1-70B-Instruct-q3f16_1-MLC',
      'Llama-3-70B-Instruct-q3f16_1-MLC',
    ]);
    expect(catalog.map((r) => r.id)).toEqual(runnable.map((r) => r.model_id));
  });

  it('the family rule keeps Llama models and leaves Mistral, Qwen, Phi, Gemma and embedders out', () => {
    const ids = catalog.map((r) => r.id);
    for (const id of [
      'Llama-3.2-1B-Instruct-q4f16_1-MLC',
      'TinyLlama-1.1B-Chat-v0.4-q4f32_1-MLC',
      'SmolLM2-135M-Instruct-q0f16-MLC',
      'Hermes-3-Llama-3.1-8B-q4f16_1-MLC',
      'DeepSeek-R1-Distill-Llama-8B-q4f16_1-MLC',
    ]) {
      expect(ids, id).toContain(id);
    }
    expect(ids.filter((id) => /Mistral|Qwen|Phi|phi|gemma|snowflake|OLMo|stablelm|RedPajama/.test(id))).toEqual([]);
    expect(isLlamaRecord({ model: 'x', model_id: 'Llama-3-embed-q4f16_1-MLC', model_lib: 'x', model_type: 1 })).toBe(
      false,
    );
  });

  it('takes the record fields from web-llm and the architecture from the table', async () => {
    const smol = record('SmolLM2-360M-Instruct-q4f16_1-MLC');
    const theirs = webllmList.find((r) => r.model_id === smol.id)!;
    expect(smol).toMatchObject({
      model: theirs.model,
      vramRequiredMB: theirs.vram_required_MB,
      requiredFeatures: ['shader-f16'],
      lowResourceRequired: true,
      contextWindow: 4096,
      quantization: 'q4f16_1',
    });
    expect(smol.record).toBe(theirs);
    expect(record('Llama-3.1-8B-Instruct-q4f32_1-MLC-1k').contextWindow).toBe(1024);
    // The app and the CLI load the same list through the lazy import.
    expect((await loadCatalog()).map((r) => r.id)).toEqual(catalog.map((r) => r.id));
  });

  it('a record of a newer web-llm, not in the table, is listed with its architecture unknown', () => {
    const [future] = catalogFromModelList([
      {
        model: 'https://huggingface.co/mlc-ai/Llama-4.0-2B-q4f16_1-MLC',
        model_id: 'Llama-4.0-2B-q4f16_1-MLC',
        model_lib: 'x.wasm',
        vram_required_MB: 1500,
      },
    ]);
    expect(future).toMatchObject({
      id: 'Llama-4.0-2B-q4f16_1-MLC',
      arch: undefined,
      contextWindow: undefined,
      vramRequiredMB: 1500,
    });
    expect(catalogConfig(future)).toBeUndefined();
  });

  it('every record parses into a valid LlamaConfig that round-trips through the mlc-chat-config writer', () => {
    for (const r of catalog) {
      const config = catalogConfig(r)!;
      expect(config.quantization, r.id).toBe(quantizationOfId(r.id));
      expect(config.contextWindow, r.id).toBe(r.contextWindow);
      expect(config.headDim * config.heads, r.id).toBeLessThanOrEqual(config.hidden * 2);
      const again = parseLlamaConfig({
        model_type: 'llama',
        quantization: config.quantization,
        model_config: llamaModelConfigJson(config),
        bos_token_id: config.bosTokenId,
        eos_token_id: config.eosTokenIds,
      });
      expect({ ...again, tokenizerFiles: config.tokenizerFiles }, r.id).toEqual(config);
    }
  });

  it('knows the standard architectures', () => {
    expect(catalogConfig(record('Llama-3.2-1B-Instruct-q4f16_1-MLC'))).toMatchObject({
      layers: 16,
      hidden: 2048,
      intermediate: 8192,
      heads: 32,
      kvHeads: 8,
      headDim: 64,
      vocabSize: 128256,
      tieEmbeddings: true,
      ropeTheta: 500000,
      ropeScaling: {
        type: 'llama3',
        factor: 32,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 8192,
      },
      rmsNormEps: 1e-5,
      bosTokenId: 128000,
      eosTokenIds: [128001, 128008, 128009],
      contextWindow: 4096,
      quantization: 'q4f16_1',
    });
    expect(catalogConfig(record('Llama-3.1-8B-Instruct-q4f32_1-MLC-1k'))).toMatchObject({
      layers: 32,
      hidden: 4096,
      kvHeads: 8,
      tieEmbeddings: false,
      ropeScaling: { factor: 8 },
      contextWindow: 1024,
      quantization: 'q4f32_1',
    });
    expect(architectureConfig('Llama-3-8B-Instruct-q4f16_1-MLC')).toMatchObject({
      ropeScaling: null,
      ropeTheta: 500000,
    });
    expect(architectureConfig('Llama-2-7b-chat-hf-q4f16_1-MLC')).toMatchObject({
      layers: 32,
      hidden: 4096,
      intermediate: 11008,
      heads: 32,
      kvHeads: 32,
      vocabSize: 32000,
      tieEmbeddings: false,
      ropeTheta: 10000,
      ropeScaling: null,
      bosTokenId: 1,
    });
    expect(catalogConfig(record('TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC'))).toMatchObject({
      layers: 22,
      hidden: 2048,
      intermediate: 5632,
      kvHeads: 4,
      contextWindow: 2048,
    });
    expect(architectureConfig('SmolLM2-360M-Instruct-q0f16-MLC')).toMatchObject({
      hidden: 960,
      heads: 15,
      kvHeads: 5,
      headDim: 64,
      layers: 32,
      vocabSize: 49152,
      tieEmbeddings: true,
      quantization: 'q0f16',
    });
    expect(findCatalogRecord(catalog, 'Llama-3.1-70B-Instruct-q3f16_1-MLC')).toBeUndefined();
    expect(() => architectureConfig('nope')).toThrow(/unknown model "nope": run `twosome models list`/);
  });

  it('estimates download sizes close to the published repos', () => {
    // Llama-3.2-1B q4f16_1 is ~0.7 GB on HF; Llama-2-7B q4f16_1 ~3.8 GB.
    const small = estimateSizes(architectureConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC'));
    expect(small.downloadBytes / 1e9).toBeGreaterThan(0.65);
    expect(small.downloadBytes / 1e9).toBeLessThan(0.75);
    expect(small.largestTensor).toBe('model.embed_tokens.q_weight');
    expect(small.largestTensorBytes).toBe((128256 * 2048) / 2);
    const big = estimateSizes(architectureConfig('Llama-2-7b-chat-hf-q4f16_1-MLC'));
    expect(big.downloadBytes / 1e9).toBeGreaterThan(3.5);
    expect(big.downloadBytes / 1e9).toBeLessThan(4.0);
    expect(estimateSizes(architectureConfig('Llama-3.2-1B-Instruct-q0f32-MLC')).largestRowBytes).toBe(8192 * 4); // down_proj: I = 8192 f32
  });
});

describe('base URLs', () => {
  it('maps catalog ids (the -1k variants share their repo) and custom Hugging Face repos to .../resolve/main/', () => {
    expect(catalogBaseUrl(record('Llama-3.2-1B-Instruct-q4f16_1-MLC'))).toBe(
      'https://huggingface.co/mlc-ai/Llama-3.2-1B-Instruct-q4f16_1-MLC/resolve/main/',
    );
    expect(catalogBaseUrl(record('Llama-3-8B-Instruct-q4f16_1-MLC-1k'))).toBe(
      'https://huggingface.co/mlc-ai/Llama-3-8B-Instruct-q4f16_1-MLC/resolve/main/',
    );
    const resolve = (what: string) => resolveModelBaseUrl(what, catalog);
    expect(resolve('TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC')).toBe(
      'https://huggingface.co/mlc-ai/TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC/resolve/main/',
    );
    expect(resolve('https://huggingface.co/me/My-Llama-q4f16_1-MLC')).toBe(
      'https://huggingface.co/me/My-Llama-q4f16_1-MLC/resolve/main/',
    );
    expect(resolve('https://huggingface.co/me/My-Llama-q4f16_1-MLC/')).toBe(
      'https://huggingface.co/me/My-Llama-q4f16_1-MLC/resolve/main/',
    );
    expect(resolve('https://huggingface.co/me/repo/resolve/v2/')).toBe('https://huggingface.co/me/repo/resolve/v2/');
    expect(resolve('http://localhost:8000/models/x')).toBe('http://localhost:8000/models/x/');
    expect(() => resolve('https://huggingface.co/me')).toThrow(/expected https:\/\/huggingface.co\/<org>\/<repo>/);
    expect(() => resolve('http://example.com/m/')).toThrow(/only https/);
    expect(() => resolve('Llama-9')).toThrow(/unknown model "Llama-9"/);
    // Before the catalog is loaded a catalog id is unknown, never guessed.
    expect(() => resolveModelBaseUrl('TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC', [])).toThrow(/unknown model/);
  });
});
