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
import { expectedLlamaTensors, llamaLayerTensors, type TensorDtype } from './tensor-cache';
import { BOS_ID, buildMicroTokenizer, EOS_ID, type BuiltTokenizer } from './tokenizer-build';
import { tokenizerSpecials } from './tokenizer-special';
import { Rng } from '../../util/rng';

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
  /**
   * vocab_size: 0 for the tokenizer's own size (710); larger pads the embedding and lm_head with rows no
   * token of the tokenizer uses (real models pad too), so that a model has a real model's shapes
   * (Llama-2: 32000, Llama-3: 128256).
   */
  vocab: number;
  /**
   * 'normal': float weights N(0, std), then quantized exactly as MLC does. 'fast': the stored tensors drawn
   * directly with the same standard deviations (fastStoredTensors), ~100x faster: for speed tests at 7B sizes.
   */
  init: 'normal' | 'fast';
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
  vocab: 0,
  init: 'normal',
};

/** Llama-3.2's rope_scaling and theta, used for --rope-scaling llama3. */
const LLAMA3_ROPE = {
  theta: 500000,
  factor: 32,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192,
};

export interface MadeFile {
  name: string;
  bytes: Uint8Array;
}

export interface MadeModel {
  config: LlamaConfig;
  /** The built micro tokenizer; null when a tokenizer.json was given. */
  tokenizer: BuiltTokenizer | null;
  /** In write order: shards, tensor-cache.json, tokenizer.json, mlc-chat-config.json. */
  files: MadeFile[];
  /** Parameters of the unquantized model. */
  paramCount: number;
}

/** Problems with the options, as messages naming the flag (empty when fine); `tokens`: the tokenizer's size. */
export function checkMakeModelOptions(o: MakeModelOptions, tokens = makeModelTokenizer().vocab.length): string[] {
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
  else if ((o.hidden / o.heads) % 2 !== 0)
    problems.push(`head size --hidden / --heads = ${o.hidden / o.heads} must be even (rotary embeddings rotate pairs)`);
  if (o.heads % o.kvHeads !== 0) problems.push(`--heads (${o.heads}) must be a multiple of --kv-heads (${o.kvHeads})`);
  if (!MAKE_MODEL_QUANTIZATIONS.includes(o.quantization))
    problems.push(`--quant must be one of ${MAKE_MODEL_QUANTIZATIONS.join(', ')} (got ${o.quantization})`);
  else if (quantizationInfo(o.quantization).grouped) {
    if (o.hidden % 32 !== 0) problems.push(`--hidden (${o.hidden}) must be a multiple of 32 for ${o.quantization}`);
    if (o.intermediate % 32 !== 0)
      problems.push(`--intermediate (${o.intermediate}) must be a multiple of 32 for ${o.quantization}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) problems.push(`--seed must be a non-negative integer (got ${o.seed})`);
  if (!Number.isInteger(o.vocab) || (o.vocab !== 0 && o.vocab < tokens))
    problems.push(`--vocab must be 0 (the tokenizer's ${tokens}) or at least ${tokens} (got ${o.vocab})`);
  if (o.init !== 'normal' && o.init !== 'fast') problems.push(`--init must be normal or fast (got ${o.init})`);
  return problems;
}

/** The config a set of options describes (vocabulary and BOS/EOS from the tokenizer: the built one by default). */
export function makeModelConfig(
  o: MakeModelOptions,
  vocabSize: number,
  specials: { bosId: number; eosIds: number[] } = { bosId: BOS_ID, eosIds: [EOS_ID] },
): LlamaConfig {
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
    bosTokenId: specials.bosId,
    eosTokenIds: [...specials.eosIds],
    tokenizerFiles: ['tokenizer.json'],
  };
}

/** One float weight of the model, in the order the RNG draws it (which is also MLC's storage order). */
interface WeightPlan {
  /** MLC base name: ".weight" for norms, the linear's prefix otherwise. */
  name: string;
  shape: [number] | [number, number];
  /** Standard deviation of a linear's entries; null for an RMSNorm weight (1 + 0.1 N(0, 1)). */
  std: number | null;
}

function weightPlan(config: LlamaConfig): WeightPlan[] {
  const { hidden: h, vocabSize: v } = config;
  const plan: WeightPlan[] = [];
  const linear = (name: string, rows: number, cols: number, std: number) =>
    plan.push({ name, shape: [rows, cols], std });
  const norm = (name: string) => plan.push({ name, shape: [h], std: null });
  linear('model.embed_tokens', v, h, 2 / Math.sqrt(h));
  for (let l = 0; l < config.layers; l++) {
    // A layer's linears: std 1 / sqrt(fan in).
    for (const { name, shape } of llamaLayerTensors(config)) {
      const full = `model.layers.${l}.${name}`;
      if (shape.length === 1) norm(full);
      else linear(full, shape[0], shape[1], 1 / Math.sqrt(shape[1]));
    }
  }
  norm('model.norm.weight');
  if (!config.tieEmbeddings) linear('lm_head', v, h, 2 / Math.sqrt(h));
  return plan;
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The float weights of a random model one by one, drawn from one RNG stream in the order of weightPlan. */
function* randomLlamaWeightEntries(
  config: LlamaConfig,
  seed: number,
): Generator<[string, { shape: [number] | [number, number]; data: Float32Array }]> {
  const rng = new Rng(seed);
  for (const w of weightPlan(config)) {
    const data = new Float32Array(elements(w.shape));
    if (w.std === null) for (let k = 0; k < data.length; k++) data[k] = 1 + 0.1 * rng.normal();
    else for (let k = 0; k < data.length; k++) data[k] = rng.normal() * w.std;
    yield [w.name, { shape: w.shape, data }];
  }
}

/** The float weights of a random model, by MLC base name (".weight" for norms, the linear's prefix otherwise). */
export function randomLlamaWeights(
  config: LlamaConfig,
  seed: number,
): Map<string, { shape: [number] | [number, number]; data: Float32Array }> {
  return new Map(randomLlamaWeightEntries(config, seed));
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

/** One float weight as MLC stores it under the config's quantization: q_weight + q_scale, or one tensor. */
function storeWeight(
  config: LlamaConfig,
  base: string,
  shape: [number] | [number, number],
  data: Float32Array,
): StoredTensor[] {
  const q = quantizationInfo(config.quantization);
  if (shape.length === 1) return [storeFloat(base, shape, data, q.modelDtype)];
  if (!q.grouped) return [storeFloat(`${base}.weight`, shape, data, q.modelDtype)];
  const [n, k] = shape;
  const { qWeight, scale } = quantizeQ4(data, n, k, q.modelDtype);
  return [
    { name: `${base}.q_weight`, shape: [n, k / 8], dtype: 'uint32', format: 'raw', bytes: bytesOf(qWeight) },
    storeFloat(`${base}.q_scale`, [n, k / q.groupSize], scale, q.modelDtype),
  ];
}

/** 2^-32: a u32 as a uniform float in [0, 1). */
const U32_TO_UNIT = 1 / 4294967296;

/**
 * `init: 'fast'`: the stored tensors drawn directly, without float weights or quantization, ~100x faster than
 * 'normal' (a 7B model in seconds instead of about an hour), for speed tests at real shapes. Same standard
 * deviations as 'normal': a q4 weight's nibbles are the sum of two uniform 0..7 draws (0..14, triangular
 * around the zero point 7, variance 10.5) and each group's scale is std / sqrt(10.5) times a uniform factor
 * in [0.75, 1.25); unquantized linears are uniform with the std; norms 1 + 0.1 N(0, 1) as in 'normal'.
 */
function* fastStoredTensors(config: LlamaConfig, seed: number): Generator<StoredTensor> {
  const q = quantizationInfo(config.quantization);
  const rng = new Rng(seed);
  for (const w of weightPlan(config)) {
    if (w.std === null) {
      const data = new Float32Array(elements(w.shape));
      for (let k = 0; k < data.length; k++) data[k] = 1 + 0.1 * rng.normal();
      yield storeFloat(w.name, w.shape, data, q.modelDtype);
    } else if (q.grouped) {
      const [n, k] = w.shape as [number, number];
      const qWeight = new Uint32Array((n * k) / 8);
      // The bulk of the bytes: Marsaglia's xorshift32 (seeded from the stream) in a local, several times faster than Rng.
      let x = rng.nextU32() | 1;
      for (let j = 0; j < qWeight.length; j++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const a = x & 0x77777777;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        qWeight[j] = (a + (x & 0x77777777)) >>> 0;
      }
      const scale = new Float32Array((n * k) / q.groupSize);
      const s0 = w.std / Math.sqrt(10.5);
      for (let j = 0; j < scale.length; j++) scale[j] = s0 * (0.75 + 0.5 * rng.nextU32() * U32_TO_UNIT);
      yield { name: `${w.name}.q_weight`, shape: [n, k / 8], dtype: 'uint32', format: 'raw', bytes: bytesOf(qWeight) };
      yield storeFloat(`${w.name}.q_scale`, [n, k / q.groupSize], scale, q.modelDtype);
    } else {
      const data = new Float32Array(elements(w.shape));
      const a = w.std * Math.sqrt(3);
      for (let j = 0; j < data.length; j++) data[j] = a * (2 * rng.nextU32() * U32_TO_UNIT - 1);
      yield storeFloat(`${w.name}.weight`, w.shape, data, q.modelDtype);
    }
  }
}

/** The stored tensors of a model, one by one in MLC's order (checked against the loader's list as they come). */
function* storedTensorStream(config: LlamaConfig, o: MakeModelOptions): Generator<StoredTensor> {
  const expected = expectedLlamaTensors(config);
  let index = 0;
  const source =
    o.init === 'fast'
      ? fastStoredTensors(config, o.seed)
      : (function* () {
          for (const [base, { shape, data }] of randomLlamaWeightEntries(config, o.seed))
            yield* storeWeight(config, base, shape, data);
        })();
  for (const t of source) {
    if (expected[index]?.name !== t.name)
      throw new Error(`make-model: made ${t.name} where ${expected[index]?.name ?? 'nothing'} was expected`);
    index++;
    yield t;
  }
  if (index !== expected.length) throw new Error(`make-model: made ${index} tensors, expected ${expected.length}`);
}

const encoder = new TextEncoder();
const jsonBytes = (value: unknown) => encoder.encode(`${JSON.stringify(value, null, 2)}\n`);

interface ShardRecord {
  dataPath: string;
  format: 'raw-shard';
  nbytes: number;
  records: { name: string; shape: number[]; dtype: TensorDtype; format: string; nbytes: number; byteOffset: number }[];
  md5sum: string;
}

/**
 * Packs tensors, as they come, into shards of at most maxShardBytes (a bigger tensor alone): yields each
 * shard's file as soon as it is full and pushes its tensor-cache record to `records`.
 */
function* packShardStream(
  tensors: Iterable<StoredTensor>,
  maxShardBytes: number,
  records: ShardRecord[],
): Generator<MadeFile> {
  let current: StoredTensor[] = [];
  let size = 0;
  const flush = (): MadeFile => {
    const bytes = new Uint8Array(size);
    let offset = 0;
    const tensorRecords = current.map((t) => {
      bytes.set(t.bytes, offset);
      const record = {
        name: t.name,
        shape: t.shape,
        dtype: t.dtype,
        format: t.format,
        nbytes: t.bytes.length,
        byteOffset: offset,
      };
      offset += t.bytes.length;
      return record;
    });
    const dataPath = `params_shard_${records.length}.bin`;
    records.push({ dataPath, format: 'raw-shard', nbytes: size, records: tensorRecords, md5sum: md5Hex(bytes) });
    current = [];
    size = 0;
    return { name: dataPath, bytes };
  };
  for (const t of tensors) {
    if (current.length > 0 && size + t.bytes.length > maxShardBytes) yield flush();
    current.push(t);
    size += t.bytes.length;
  }
  if (current.length > 0) yield flush();
}

function tensorCacheJson(records: ShardRecord[], paramCount: number): Record<string, unknown> {
  const paramBytes = records.reduce((sum, r) => sum + r.nbytes, 0);
  return {
    metadata: { ParamSize: paramCount, ParamBytes: paramBytes, BitsPerParam: (paramBytes * 8) / paramCount },
    records,
  };
}

let tokenizerMemo: BuiltTokenizer | null = null;
/** The tokenizer every made model gets (the environments' words). */
function makeModelTokenizer(): BuiltTokenizer {
  tokenizerMemo ??= buildMicroTokenizer(wordsOf(environmentTexts()));
  return tokenizerMemo;
}

export interface MadeModelStream extends Omit<MadeModel, 'files'> {
  /**
   * The files in write order (shards, tensor-cache.json, tokenizer.json, mlc-chat-config.json), each made
   * when asked for: only one shard is in memory at a time. Iterate once.
   */
  files: Iterable<MadeFile>;
}

/**
 * makeModel, streamed: the shards are made one at a time as `files` is iterated (what the CLI writes).
 * `tokenizerJson`: a real tokenizer.json (e.g. Llama-3's) to ship instead of the built micro tokenizer; the
 * vocabulary (at least its size, or --vocab) and BOS/EOS then come from it (tokenizer-special.ts).
 */
export function makeModelStream(options: Partial<MakeModelOptions> = {}, tokenizerJson?: string): MadeModelStream {
  const o: MakeModelOptions = { ...DEFAULT_MAKE_MODEL_OPTIONS, ...options };
  const specials =
    tokenizerJson === undefined ? undefined : tokenizerSpecials(tokenizerJson, 'the given tokenizer.json');
  const problems = checkMakeModelOptions(o, specials?.vocabSize);
  if (problems.length > 0) throw new RangeError(problems.join('; '));

  const tokenizer = specials ? null : makeModelTokenizer();
  const config = specials
    ? makeModelConfig(o, o.vocab || specials.vocabSize, specials)
    : makeModelConfig(o, o.vocab || tokenizer!.vocab.length);
  const paramCount = weightPlan(config).reduce((sum, w) => sum + elements(w.shape), 0);
  const chatConfig = mlcChatConfig(config, o, specials !== undefined);
  const tokenizerBytes = encoder.encode(tokenizerJson ?? JSON.stringify(tokenizer!.json));

  function* files(): Generator<MadeFile> {
    const records: ShardRecord[] = [];
    yield* packShardStream(storedTensorStream(config, o), o.maxShardBytes, records);
    yield { name: 'tensor-cache.json', bytes: jsonBytes(tensorCacheJson(records, paramCount)) };
    yield { name: 'tokenizer.json', bytes: tokenizerBytes };
    yield { name: 'mlc-chat-config.json', bytes: jsonBytes(chatConfig) };
  }
  return { config, tokenizer, paramCount, files: files() };
}

export function makeModel(options: Partial<MakeModelOptions> = {}, tokenizerJson?: string): MadeModel {
  const stream = makeModelStream(options, tokenizerJson);
  return { ...stream, files: [...stream.files] };
}

/**
 * mlc-chat-config.json; its twosome_make_model record lists vocab and init only when not the defaults (and
 * `tokenizer: "given"` for a given tokenizer.json), so older models' bytes stay.
 */
function mlcChatConfig(config: LlamaConfig, o: MakeModelOptions, givenTokenizer: boolean): Record<string, unknown> {
  const record: Partial<MakeModelOptions> & { tokenizer?: string } = { ...o };
  if (givenTokenizer) record.tokenizer = 'given';
  if (o.vocab === DEFAULT_MAKE_MODEL_OPTIONS.vocab) delete record.vocab;
  if (o.init === DEFAULT_MAKE_MODEL_OPTIONS.init) delete record.init;
  return {
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
      system_prefix_token_ids: [config.bosTokenId],
      stop_token_ids: [...config.eosTokenIds],
      add_role_after_system_message: false,
    },
    pad_token_id: 0,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : [...config.eosTokenIds],
    tokenizer_files: ['tokenizer.json'],
    version: '0.1.0',
    twosome_make_model: record,
  };
}
