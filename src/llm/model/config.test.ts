import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHITECTURES } from './catalog';
import { llamaModelConfigJson, parseLlamaConfig, parseLlamaConfigText, SUPPORTED_QUANTIZATIONS } from './config';
import { ModelFormatError } from './errors';
import { thrownBy } from '../../util/testing';

/** Representative of MLC's Llama-3.2-1B-Instruct-q4f16_1-MLC config (fields as gen_config writes them). */
function llama32Config(): Record<string, any> {
  return {
    model_type: 'llama',
    quantization: 'q4f16_1',
    model_config: {
      hidden_size: 2048,
      intermediate_size: 8192,
      num_attention_heads: 32,
      num_hidden_layers: 16,
      rms_norm_eps: 1e-5,
      vocab_size: 128256,
      tie_word_embeddings: true,
      position_embedding_base: 500000.0,
      rope_scaling: {
        factor: 32.0,
        high_freq_factor: 4.0,
        low_freq_factor: 1.0,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
      context_window_size: 131072,
      prefill_chunk_size: 8192,
      num_key_value_heads: 8,
      head_dim: 64,
      tensor_parallel_shards: 1,
      max_batch_size: 128,
    },
    vocab_size: 128256,
    context_window_size: 131072,
    sliding_window_size: -1,
    prefill_chunk_size: 8192,
    attention_sink_size: -1,
    tensor_parallel_shards: 1,
    pad_token_id: 0,
    bos_token_id: 128000,
    eos_token_id: [128001, 128008, 128009],
    tokenizer_files: ['tokenizer.json', 'tokenizer_config.json'],
    version: '0.1.0',
  };
}

/** A Llama-2-era config: no head_dim, no num_key_value_heads, no tie_word_embeddings, no rope_scaling. */
function llama2Config(): Record<string, any> {
  return {
    model_type: 'llama',
    quantization: 'q4f32_1',
    model_config: {
      hidden_size: 4096,
      intermediate_size: 11008,
      num_attention_heads: 32,
      num_hidden_layers: 32,
      rms_norm_eps: 1e-5,
      vocab_size: 32000,
      position_embedding_base: 10000,
      context_window_size: 4096,
    },
    vocab_size: 32000,
    bos_token_id: 1,
    eos_token_id: 2,
  };
}

const errorOf = (fn: () => unknown) => thrownBy(fn, ModelFormatError);

describe('parseLlamaConfig', () => {
  it('reads a Llama-3.2-style config: GQA, head_dim, tied embeddings, llama3 rope scaling, several EOS ids', () => {
    // The fixture is that model's config, so it parses to the catalog's Llama-3.2-1B architecture (whose values
    // catalog.test.ts pins), with the context window MLC compiled it for.
    const { hfConfig, maxPositionEmbeddings, unsure, ...arch } = ARCHITECTURES.get(
      'Llama-3.2-1B-Instruct-q4f16_1-MLC',
    )!;
    expect(parseLlamaConfig(llama32Config())).toMatchObject({
      ...arch,
      modelType: 'llama',
      quantization: 'q4f16_1',
      contextWindow: 131072,
    });
  });

  it('fills MLC defaults for older configs: kv heads = heads, head_dim = hidden / heads, untied, no scaling', () => {
    const c = parseLlamaConfig(llama2Config());
    expect(c).toMatchObject({
      kvHeads: 32,
      headDim: 128,
      tieEmbeddings: false,
      ropeScaling: null,
      ropeTheta: 10000,
      eosTokenIds: [2],
      tokenizerFiles: ['tokenizer.json'],
    });
  });

  it('falls back to rope_theta and to the top-level context_window_size', () => {
    const j = llama2Config();
    delete j.model_config.position_embedding_base;
    delete j.model_config.context_window_size;
    j.model_config.rope_theta = 1234;
    j.context_window_size = 2048;
    const c = parseLlamaConfig(j);
    expect(c.ropeTheta).toBe(1234);
    expect(c.contextWindow).toBe(2048);
  });

  it('ignores a rope_scaling without rope_type, as MLC does, and accepts the HF key "type"', () => {
    const j = llama32Config();
    delete j.model_config.rope_scaling.rope_type;
    expect(parseLlamaConfig(j).ropeScaling).toBeNull();
    j.model_config.rope_scaling.type = 'llama3';
    expect(parseLlamaConfig(j).ropeScaling?.factor).toBe(32);
  });

  it('round-trips through llamaModelConfigJson', () => {
    const c = parseLlamaConfig(llama32Config());
    const back = parseLlamaConfig({ ...llama32Config(), model_config: llamaModelConfigJson(c) });
    expect(back).toEqual(c);
  });

  it('parses the shipped micro model config', () => {
    const text = readFileSync(resolve(process.cwd(), 'public/models/micro/mlc-chat-config.json'), 'utf8');
    const c = parseLlamaConfigText(text);
    expect(c).toMatchObject({
      modelType: 'llama',
      quantization: 'q4f16_1',
      hidden: 64,
      layers: 2,
      heads: 4,
      kvHeads: 2,
      headDim: 16,
      intermediate: 128,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });
});

describe('parseLlamaConfig errors name the file and say what to do', () => {
  it('refuses other architectures', () => {
    const e = errorOf(() =>
      parseLlamaConfig({ ...llama32Config(), model_type: 'qwen2' }, 'models/x/mlc-chat-config.json'),
    );
    expect(e.message).toContain('models/x/mlc-chat-config.json');
    expect(e.message).toContain('only Llama-architecture models are supported (got qwen2)');
    expect(errorOf(() => parseLlamaConfig({ ...llama32Config(), model_type: undefined })).message).toContain(
      'missing "model_type"',
    );
  });

  it('lists the supported quantizations', () => {
    const e = errorOf(() => parseLlamaConfig({ ...llama32Config(), quantization: 'q3f16_1' }));
    expect(e.message).toContain('unsupported quantization "q3f16_1"');
    for (const q of SUPPORTED_QUANTIZATIONS) expect(e.message).toContain(q);
  });

  it('names a missing or malformed field', () => {
    const j = llama32Config();
    delete j.model_config.hidden_size;
    expect(errorOf(() => parseLlamaConfig(j)).message).toContain('missing "model_config.hidden_size"');
    const k = llama32Config();
    k.model_config.num_hidden_layers = 2.5;
    expect(errorOf(() => parseLlamaConfig(k)).message).toContain('"model_config.num_hidden_layers" must be an integer');
    const m = llama32Config();
    delete m.model_config;
    expect(errorOf(() => parseLlamaConfig(m)).message).toContain('missing "model_config"');
    const n = llama32Config();
    delete n.bos_token_id;
    expect(errorOf(() => parseLlamaConfig(n)).message).toContain('missing "bos_token_id"');
    const e = llama32Config();
    e.model_config.rms_norm_eps = 0;
    expect(errorOf(() => parseLlamaConfig(e)).message).toContain('rms_norm_eps" must be > 0');
  });

  it('checks consistency: GQA divisibility, vocab sizes, token ids, group size, context window', () => {
    const a = llama32Config();
    a.model_config.num_key_value_heads = 5;
    expect(errorOf(() => parseLlamaConfig(a)).message).toContain('must be a multiple of "num_key_value_heads" (5)');
    const b = llama32Config();
    b.vocab_size = 128000;
    expect(errorOf(() => parseLlamaConfig(b)).message).toContain('differs from "model_config.vocab_size"');
    const c = llama32Config();
    c.bos_token_id = 200000;
    expect(errorOf(() => parseLlamaConfig(c)).message).toContain('outside the vocabulary');
    const d = llama32Config();
    d.model_config.intermediate_size = 8200;
    expect(errorOf(() => parseLlamaConfig(d)).message).toContain(
      'intermediate_size (8200) must be a multiple of 32 for q4f16_1',
    );
    const e = llama32Config();
    delete e.model_config.context_window_size;
    delete e.context_window_size;
    expect(errorOf(() => parseLlamaConfig(e)).message).toContain('context_window_size');
  });

  it('refuses implausible sizes before anything is sized from them (10^8 layers, 2^31 tokens, 10^13 weights)', () => {
    const cases: [(c: Record<string, any>) => void, string][] = [
      [
        (c) => (c.model_config.num_hidden_layers = 100_000_000),
        '"model_config.num_hidden_layers" is 100000000, more than any Llama model has (at most 1024 here)',
      ],
      [(c) => (c.model_config.hidden_size = 1 << 20), '"model_config.hidden_size" is 1048576'],
      [(c) => (c.model_config.intermediate_size = 1 << 24), '"model_config.intermediate_size" is 16777216'],
      [(c) => (c.model_config.vocab_size = c.vocab_size = 2 ** 31), '"model_config.vocab_size" is 2147483648'],
      [
        (c) => (c.model_config.context_window_size = c.context_window_size = 2 ** 30),
        '"context_window_size" is 1073741824',
      ],
      [(c) => (c.model_config.head_dim = 4096), '"head_dim" is 4096'],
      [
        // Each within its bound, together 5e13 parameters.
        (c) => {
          Object.assign(c.model_config, { num_hidden_layers: 1024, hidden_size: 65536, intermediate_size: 262144 });
        },
        'parameters, more than any Llama model',
      ],
    ];
    for (const [edit, message] of cases) {
      const c = llama32Config();
      edit(c);
      expect(errorOf(() => parseLlamaConfig(c)).message, message).toContain(message);
    }
  });

  it('refuses unsupported rope scaling types', () => {
    const j = llama32Config();
    j.model_config.rope_scaling = { rope_type: 'yarn', factor: 4 };
    expect(errorOf(() => parseLlamaConfig(j)).message).toContain('unsupported RoPE scaling type "yarn"');
    const k = llama32Config();
    delete k.model_config.rope_scaling.factor;
    expect(errorOf(() => parseLlamaConfig(k)).message).toContain('rope_scaling.factor');
  });

  it('reports invalid JSON and non-objects', () => {
    expect(errorOf(() => parseLlamaConfigText('{"model_type":', 'a/mlc-chat-config.json')).message).toMatch(
      /^a\/mlc-chat-config\.json: not valid JSON/,
    );
    expect(errorOf(() => parseLlamaConfig([1, 2])).message).toContain('expected a JSON object');
  });
});
