/**
 * A random-initialized Llama model in MLC's layout (what `twosome make-model` writes): mlc-chat-config.json,
 * tensor-cache.json, params_shard_<i>.bin and a tokenizer.json covering the environments' words. It lets
 * every test and the app run the real loading, tokenizing and scoring paths without downloading a real
 * model. Deterministic: the same options give byte-identical files. Platform-neutral (returns bytes; the
 * CLI writes them).
 *
 * Initialization (normal, std by tensor; scaled so activations stay O(1) and the logits are far from uniform
 * but sane, std about 2 over the vocabulary):
 *   embed_tokens, lm_head  2 / sqrt(H)      logits = final-norm hidden (RMS 1) . row: std 2
 *   qkv_proj, gate_up_proj 1 / sqrt(H)      q, k, v, gate, up entries with std about 1
 *   o_proj                 1 / sqrt(nh hd)
 *   down_proj              1 / sqrt(I)
 *   RMSNorm weights        1 + 0.1 N(0, 1)  (not all ones, so a test notices a missing weight)
 */
import { llamaModelConfigJson, quantizationInfo, type LlamaConfig, type QuantizationId } from './config';
import { environmentTexts, wordsOf } from './env-corpus';
import { md5Hex } from './md5';
import { f32ArrayToBf16, f32ArrayToF16, quantizeQ4 } from './quant';
import { expectedLlamaTensors, type TensorDtype } from './tensor-cache';
import { BOS_ID, buildMicroTokenizer, EOS_ID, type BuiltTokenizer } from './tokenizer-build';
import { Rng } from '../util/rng';

export const MAKE_MODEL_QUANTIZATIONS: readonly QuantizationId[] = ['q4f16_1', 'q4f32_1', 'q0f16', 'q0f32'];

export interface MakeModelOptions {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  quantization: QuantizationId;
  tieEmbeddings: boolean;
  ropeScaling: 'none' | 'llama3';
  seed: number;
  /** Largest shard in bytes (MLC: 32 MiB); a tensor larger than this gets a shard of its own. */
  maxShardBytes: number;
  contextWindow: number;
}

export const DEFAULT_MAKE_MODEL_OPTIONS: MakeModelOptions = {
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  intermediate: 128,
  quantization: 'q4f16_1',
  tieEmbeddings: false,
  ropeScaling: 'none',
  seed: 0,
  maxShardBytes: 32 * 1024 * 1024,
  contextWindow: 1024,
};

/** Llama-3.2's rope_scaling and theta, used for --rope-scaling llama3. */
const LLAMA3_ROPE = { theta: 500000, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };

export interface MadeFile {
  name: string;
  bytes: Uint8Array;
}

export interface MadeModel {
  config: LlamaConfig;
  tokenizer: BuiltTokenizer;
  /** In write order: shards, tensor-cache.json, tokenizer.json, mlc-chat-config.json. */
  files: MadeFile[];
  /** Parameters of the unquantized model. */
  paramCount: number;
}

/** Problems with the options, as messages naming the flag (empty when fine). */
export function checkMakeModelOptions(o: MakeModelOptions): string[] {
  const problems: string[] = [];
  const positive: [keyof MakeModelOptions, string][] = [
    ['hidden', '--hidden'],
    ['layers', '--layers'],
    ['heads', '--heads'],
    ['kvHeads', '--kv-heads'],
    ['intermediate', '--intermediate'],
    ['contextWindow', 'context window'],
    ['maxShardBytes', 'max shard size'],
  ];
  for (const [key, flag] of positive) {
    const v = o[key] as number;
    if (!Number.isInteger(v) || v < 1) problems.push(`${flag} must be a positive integer (got ${v})`);
  }
  if (problems.length > 0) return problems;
  if (o.hidden % o.heads !== 0) problems.push(`--hidden (${o.hidden}) must be a multiple of --heads (${o.heads})`);
  else if ((o.hidden / o.heads) % 2 !== 0) problems.push(`head size --hidden / --heads = ${o.hidden / o.heads} must be even (rotary embeddings rotate pairs)`);
  if (o.heads % o.kvHeads !== 0) problems.push(`--heads (${o.heads}) must be a multiple of --kv-heads (${o.kvHeads})`);
  if (!MAKE_MODEL_QUANTIZATIONS.includes(o.quantization)) problems.push(`--quant must be one of ${MAKE_MODEL_QUANTIZATIONS.join(', ')} (got ${o.quantization})`);
  else if (quantizationInfo(o.quantization).grouped) {
    if (o.hidden % 32 !== 0) problems.push(`--hidden (${o.hidden}) must be a multiple of 32 for ${o.quantization}`);
    if (o.intermediate % 32 !== 0) problems.push(`--intermediate (${o.intermediate}) must be a multiple of 32 for ${o.quantization}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) problems.push(`--seed must be a non-negative integer (got ${o.seed})`);
  return problems;
}

/** The config a set of options describes (vocabulary from the built tokenizer). */
export function makeModelConfig(o: MakeModelOptions, vocabSize: number): LlamaConfig {
  const llama3 = o.ropeScaling === 'llama3';
  return {
    modelType: 'llama',
    quantization: o.quantization,
    hidden: o.hidden,
    intermediate: o.intermediate,
    heads: o.heads,
    kvHeads: o.kvHeads,
    headDim: o.hidden / o.heads,
    layers: o.layers,
    rmsNormEps: 1e-5,
    vocabSize,
    tieEmbeddings: o.tieEmbeddings,
    ropeTheta: llama3 ? LLAMA3_ROPE.theta : 10000,
    ropeScaling: llama3
      ? {
          type: 'llama3',
          factor: LLAMA3_ROPE.factor,
          lowFreqFactor: LLAMA3_ROPE.lowFreqFactor,
          highFreqFactor: LLAMA3_ROPE.highFreqFactor,
          originalMaxPositionEmbeddings: LLAMA3_ROPE.originalMaxPositionEmbeddings,
        }
      : null,
    contextWindow: o.contextWindow,
    bosTokenId: BOS_ID,
    eosTokenIds: [EOS_ID],
    tokenizerFiles: ['tokenizer.json'],
  };
}

/** The float weights of a random model, by MLC base name (".weight" for norms, the linear's prefix otherwise). */
export function randomLlamaWeights(config: LlamaConfig, seed: number): Map<string, { shape: [number] | [number, number]; data: Float32Array }> {
  const rng = new Rng(seed);
  const { hidden: h, intermediate: i, heads, kvHeads, headDim: hd, vocabSize: v } = config;
  const out = new Map<string, { shape: [number] | [number, number]; data: Float32Array }>();
  const normal = (n: number, std: number) => Float32Array.from({ length: n }, () => rng.normal() * std);
  const linear = (name: string, rows: number, cols: number, std: number) => out.set(name, { shape: [rows, cols], data: normal(rows * cols, std) });
  const norm = (name: string) => out.set(name, { shape: [h], data: Float32Array.from({ length: h }, () => 1 + 0.1 * rng.normal()) });
  linear('model.embed_tokens', v, h, 2 / Math.sqrt(h));
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}`;
    norm(`${p}.input_layernorm.weight`);
    linear(`${p}.self_attn.qkv_proj`, (heads + 2 * kvHeads) * hd, h, 1 / Math.sqrt(h));
    linear(`${p}.self_attn.o_proj`, h, heads * hd, 1 / Math.sqrt(heads * hd));
    norm(`${p}.post_attention_layernorm.weight`);
    linear(`${p}.mlp.gate_up_proj`, 2 * i, h, 1 / Math.sqrt(h));
    linear(`${p}.mlp.down_proj`, h, i, 1 / Math.sqrt(i));
  }
  norm('model.norm.weight');
  if (!config.tieEmbeddings) linear('lm_head', v, h, 2 / Math.sqrt(h));
  return out;
}

interface StoredTensor {
  name: string;
  shape: number[];
  dtype: TensorDtype;
  format: 'raw' | 'f32-to-bf16';
  bytes: Uint8Array;
}

function bytesOf(array: Uint16Array | Uint32Array | Float32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** A float tensor in the model dtype: f16 raw, or f32 stored as bf16 (tvmjs "f32-to-bf16", as MLC writes). */
function storeFloat(name: string, shape: number[], data: Float32Array, dtype: 'float16' | 'float32'): StoredTensor {
  if (dtype === 'float16') return { name, shape, dtype, format: 'raw', bytes: bytesOf(f32ArrayToF16(data)) };
  return { name, shape, dtype, format: 'f32-to-bf16', bytes: bytesOf(f32ArrayToBf16(data)) };
}

/** The tensors as MLC stores them under the config's quantization, in MLC's order. */
export function storeLlamaTensors(config: LlamaConfig, weights: ReturnType<typeof randomLlamaWeights>): StoredTensor[] {
  const q = quantizationInfo(config.quantization);
  const stored = new Map<string, StoredTensor>();
  for (const [base, { shape, data }] of weights) {
    if (shape.length === 1) {
      stored.set(base, storeFloat(base, shape, data, q.modelDtype));
    } else if (q.grouped) {
      const [n, k] = shape;
      const { qWeight, scale } = quantizeQ4(data, n, k, q.modelDtype);
      stored.set(`${base}.q_weight`, { name: `${base}.q_weight`, shape: [n, k / 8], dtype: 'uint32', format: 'raw', bytes: bytesOf(qWeight) });
      stored.set(`${base}.q_scale`, storeFloat(`${base}.q_scale`, [n, k / q.groupSize], scale, q.modelDtype));
    } else {
      stored.set(`${base}.weight`, storeFloat(`${base}.weight`, shape, data, q.modelDtype));
    }
  }
  // Order and completeness from the one list the loader checks against.
  return expectedLlamaTensors(config).map((t) => {
    const s = stored.get(t.name);
    if (!s) throw new Error(`make-model: no data for ${t.name}`);
    return s;
  });
}

const encoder = new TextEncoder();
const jsonBytes = (value: unknown) => encoder.encode(`${JSON.stringify(value, null, 2)}\n`);

/** Packs tensors into shards of at most maxShardBytes (a bigger tensor alone) and builds tensor-cache.json. */
export function packShards(tensors: StoredTensor[], maxShardBytes: number, paramCount: number): { shards: MadeFile[]; cache: Record<string, unknown> } {
  const groups: StoredTensor[][] = [];
  let current: StoredTensor[] = [];
  let size = 0;
  for (const t of tensors) {
    if (current.length > 0 && size + t.bytes.length > maxShardBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(t);
    size += t.bytes.length;
  }
  if (current.length > 0) groups.push(current);

  const shards: MadeFile[] = [];
  const records = groups.map((group, index) => {
    const total = group.reduce((sum, t) => sum + t.bytes.length, 0);
    const bytes = new Uint8Array(total);
    let offset = 0;
    const tensorRecords = group.map((t) => {
      bytes.set(t.bytes, offset);
      const record = { name: t.name, shape: t.shape, dtype: t.dtype, format: t.format, nbytes: t.bytes.length, byteOffset: offset };
      offset += t.bytes.length;
      return record;
    });
    const dataPath = `params_shard_${index}.bin`;
    shards.push({ name: dataPath, bytes });
    return { dataPath, format: 'raw-shard', nbytes: total, records: tensorRecords, md5sum: md5Hex(bytes) };
  });
  const paramBytes = tensors.reduce((sum, t) => sum + t.bytes.length, 0);
  return {
    shards,
    cache: { metadata: { ParamSize: paramCount, ParamBytes: paramBytes, BitsPerParam: (paramBytes * 8) / paramCount }, records },
  };
}

export function makeModel(options: Partial<MakeModelOptions> = {}): MadeModel {
  const o: MakeModelOptions = { ...DEFAULT_MAKE_MODEL_OPTIONS, ...options };
  const problems = checkMakeModelOptions(o);
  if (problems.length > 0) throw new RangeError(problems.join('; '));

  const tokenizer = buildMicroTokenizer(wordsOf(environmentTexts()));
  const config = makeModelConfig(o, tokenizer.vocab.length);
  const weights = randomLlamaWeights(config, o.seed);
  const paramCount = [...weights.values()].reduce((sum, w) => sum + w.data.length, 0);
  const { shards, cache } = packShards(storeLlamaTensors(config, weights), o.maxShardBytes, paramCount);

  const chatConfig = {
    model_type: 'llama',
    quantization: config.quantization,
    model_config: llamaModelConfigJson(config),
    vocab_size: config.vocabSize,
    context_window_size: config.contextWindow,
    sliding_window_size: -1,
    prefill_chunk_size: config.contextWindow,
    attention_sink_size: -1,
    tensor_parallel_shards: 1,
    temperature: 1.0,
    presence_penalty: 0.0,
    frequency_penalty: 0.0,
    repetition_penalty: 1.0,
    top_p: 1.0,
    conv_template: {
      name: 'LM',
      system_template: '{system_message}',
      system_message: '',
      roles: { user: '', assistant: '' },
      role_templates: { user: '{user_message}', assistant: '{assistant_message}' },
      messages: [],
      seps: [''],
      role_content_sep: '',
      role_empty_sep: '',
      stop_str: [],
      system_prefix_token_ids: [BOS_ID],
      stop_token_ids: [EOS_ID],
      add_role_after_system_message: false,
    },
    pad_token_id: 0,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    tokenizer_files: ['tokenizer.json'],
    version: '0.1.0',
    twosome_make_model: { ...o },
  };

  return {
    config,
    tokenizer,
    paramCount,
    files: [
      ...shards,
      { name: 'tensor-cache.json', bytes: jsonBytes(cache) },
      { name: 'tokenizer.json', bytes: encoder.encode(JSON.stringify(tokenizer.json)) },
      { name: 'mlc-chat-config.json', bytes: jsonBytes(chatConfig) },
    ],
  };
}
