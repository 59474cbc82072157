/**
 * `mlc-chat-config.json` (what MLC's `gen_config` writes and web-llm reads) parsed into a typed, validated
 * LlamaConfig. Only the fields the Llama forward needs are kept; every error names the file and the field.
 *
 * Field sources (MLC `LlamaConfig.__post_init__`, python/mlc_llm/model/llama/llama_model.py):
 *   - num_key_value_heads 0 or absent -> num_attention_heads (plain multi-head attention);
 *   - head_dim 0 or absent -> hidden_size / num_attention_heads;
 *   - position_embedding_base 0 or absent -> rope_theta if given, else 10000;
 *   - rope_scaling without "rope_type" is ignored (MLC sets it to None); "llama3" is the only type it accepts
 *     for Llama. We also accept the older HF key "type".
 *   - tie_word_embeddings absent -> false (Llama-1/2 conversions do not write it).
 * Platform-neutral (browser and Node).
 */
import { isJsonObject, modelJsonRoot, parseModelJson } from './errors';

export const SUPPORTED_QUANTIZATIONS = ['q4f16_1', 'q4f32_1', 'q0f16', 'q0f32'] as const;
export type QuantizationId = (typeof SUPPORTED_QUANTIZATIONS)[number];

export interface QuantizationInfo {
  id: QuantizationId;
  /** 4-bit group quantization of every linear weight and the embedding (MLC "group-quant", layout NK). */
  grouped: boolean;
  /** Elements per scale (MLC q4*_1: 32). */
  groupSize: number;
  /** dtype of unquantized tensors (norms, q0 weights) and of the q4 scales. */
  modelDtype: 'float16' | 'float32';
}

export function quantizationInfo(id: QuantizationId): QuantizationInfo {
  switch (id) {
    case 'q4f16_1':
      return { id, grouped: true, groupSize: 32, modelDtype: 'float16' };
    case 'q4f32_1':
      return { id, grouped: true, groupSize: 32, modelDtype: 'float32' };
    case 'q0f16':
      return { id, grouped: false, groupSize: 0, modelDtype: 'float16' };
    case 'q0f32':
      return { id, grouped: false, groupSize: 0, modelDtype: 'float32' };
  }
}

export function isQuantizationId(value: string): value is QuantizationId {
  return (SUPPORTED_QUANTIZATIONS as readonly string[]).includes(value);
}

/** Llama-3 RoPE frequency scaling (HF `rope_scaling` with rope_type "llama3"). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface LlamaConfig {
  /** Always "llama" (other architectures are refused). */
  modelType: string;
  quantization: QuantizationId;
  /** H: residual stream width. */
  hidden: number;
  /** I: MLP width (gate_up_proj has 2I rows). */
  intermediate: number;
  /** Query heads. */
  heads: number;
  /** Key/value heads (GQA: heads is a multiple of kvHeads). */
  kvHeads: number;
  headDim: number;
  layers: number;
  rmsNormEps: number;
  vocabSize: number;
  /** Logits use the embedding matrix (no lm_head tensor). */
  tieEmbeddings: boolean;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  /** Longest sequence the model supports (positions 0 .. contextWindow-1). */
  contextWindow: number;
  bosTokenId: number;
  /** Llama-3 configs list several end tokens; older ones one. */
  eosTokenIds: number[];
  tokenizerFiles: string[];
}

type Json = Record<string, unknown>;

/** Parses the text of mlc-chat-config.json (JSON syntax errors are reported with the file name). */
export function parseLlamaConfigText(text: string, file = 'mlc-chat-config.json'): LlamaConfig {
  return parseLlamaConfig(parseModelJson(text, file), file);
}

export function parseLlamaConfig(json: unknown, file = 'mlc-chat-config.json'): LlamaConfig {
  const { root, fail } = modelJsonRoot(json, file, 'a JSON object (the mlc-chat-config.json of an MLC model)');

  const modelType = root.model_type;
  if (typeof modelType !== 'string') fail('missing "model_type" (expected "llama")');
  if (modelType !== 'llama')
    fail(
      `only Llama-architecture models are supported (got ${String(modelType)}); pick a Llama model such as Llama-3.2-1B-Instruct-q4f16_1-MLC`,
    );

  const quantization = root.quantization;
  if (typeof quantization !== 'string') fail(`missing "quantization" (one of ${SUPPORTED_QUANTIZATIONS.join(', ')})`);
  if (!isQuantizationId(quantization as string)) {
    fail(
      `unsupported quantization "${String(quantization)}": supported are ${SUPPORTED_QUANTIZATIONS.join(', ')}; use a model converted with one of them`,
    );
  }

  const mc = root.model_config;
  if (!isJsonObject(mc)) fail('missing "model_config" object');
  const model = mc as Json;

  const int = (
    obj: Json,
    key: string,
    where: string,
    opts: { optional?: boolean; min?: number } = {},
  ): number | undefined => {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (opts.optional) return undefined;
      fail(`missing "${where}${key}"`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value))
      fail(`"${where}${key}" must be an integer (got ${JSON.stringify(value)})`);
    const n = value as number;
    if (n < (opts.min ?? 1)) fail(`"${where}${key}" must be >= ${opts.min ?? 1} (got ${n})`);
    return n;
  };
  const num = (obj: Json, key: string, where: string, optional = false): number | undefined => {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (optional) return undefined;
      fail(`missing "${where}${key}"`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value))
      fail(`"${where}${key}" must be a number (got ${JSON.stringify(value)})`);
    return value as number;
  };

  const m = 'model_config.';
  const hidden = int(model, 'hidden_size', m)!;
  const intermediate = int(model, 'intermediate_size', m)!;
  const heads = int(model, 'num_attention_heads', m)!;
  const layers = int(model, 'num_hidden_layers', m)!;
  const vocabSize = int(model, 'vocab_size', m)!;
  const kvHeadsRaw = int(model, 'num_key_value_heads', m, { optional: true, min: 0 });
  const kvHeads = kvHeadsRaw ? kvHeadsRaw : heads;
  const headDimRaw = int(model, 'head_dim', m, { optional: true, min: 0 });
  const headDim = headDimRaw ? headDimRaw : Math.floor(hidden / heads);
  const rmsNormEps = num(model, 'rms_norm_eps', m)!;
  if (!(rmsNormEps > 0)) fail(`"${m}rms_norm_eps" must be > 0 (got ${rmsNormEps})`);

  if (heads % kvHeads !== 0)
    fail(`"${m}num_attention_heads" (${heads}) must be a multiple of "num_key_value_heads" (${kvHeads})`);
  if (headDim % 2 !== 0) fail(`head_dim must be even for rotary embeddings (got ${headDim})`);
  if (!headDimRaw && hidden % heads !== 0)
    fail(`"${m}hidden_size" (${hidden}) is not a multiple of num_attention_heads (${heads}) and no head_dim is given`);

  const tie = model.tie_word_embeddings;
  if (tie !== undefined && tie !== null && typeof tie !== 'boolean')
    fail(`"${m}tie_word_embeddings" must be true or false (got ${JSON.stringify(tie)})`);

  let ropeTheta = num(model, 'position_embedding_base', m, true) ?? 0;
  if (ropeTheta === 0) ropeTheta = num(model, 'rope_theta', m, true) ?? 10000;
  if (!(ropeTheta > 1)) fail(`"${m}position_embedding_base" must be > 1 (got ${ropeTheta})`);

  const ropeScaling = parseRopeScaling(model.rope_scaling, fail);

  const topContext = int(root, 'context_window_size', '', { optional: true, min: -1 });
  const modelContext = int(model, 'context_window_size', m, { optional: true, min: -1 });
  const contextWindow =
    (modelContext !== undefined && modelContext > 0 ? modelContext : undefined) ??
    (topContext !== undefined && topContext > 0 ? topContext : undefined);
  if (contextWindow === undefined)
    fail('missing a positive "context_window_size" (in model_config or at the top level)');

  const topVocab = int(root, 'vocab_size', '', { optional: true });
  if (topVocab !== undefined && topVocab !== vocabSize)
    fail(`"vocab_size" (${topVocab}) differs from "model_config.vocab_size" (${vocabSize})`);

  const bosTokenId = int(root, 'bos_token_id', '', { min: 0 })!;
  const eosRaw = root.eos_token_id;
  let eosTokenIds: number[] = [];
  if (Array.isArray(eosRaw)) eosTokenIds = eosRaw as number[];
  else if (eosRaw !== undefined && eosRaw !== null) eosTokenIds = [eosRaw as number];
  else fail('missing "eos_token_id"');
  if (!eosTokenIds.every((id) => Number.isInteger(id) && id >= 0))
    fail(`"eos_token_id" must be a token id or a list of them (got ${JSON.stringify(eosRaw)})`);
  for (const [name, id] of [
    ['bos_token_id', bosTokenId],
    ...eosTokenIds.map((id) => ['eos_token_id', id] as const),
  ] as const) {
    if (id >= vocabSize) fail(`"${name}" ${id} is outside the vocabulary (vocab_size ${vocabSize})`);
  }

  const files = root.tokenizer_files;
  const tokenizerFiles =
    Array.isArray(files) && files.every((f) => typeof f === 'string') ? (files as string[]) : ['tokenizer.json'];

  const config: LlamaConfig = {
    modelType: modelType as string,
    quantization: quantization as QuantizationId,
    hidden,
    intermediate,
    heads,
    kvHeads,
    headDim,
    layers,
    rmsNormEps,
    vocabSize,
    tieEmbeddings: tie === true,
    ropeTheta,
    ropeScaling,
    contextWindow: contextWindow as number,
    bosTokenId,
    eosTokenIds,
    tokenizerFiles,
  };
  checkQuantizableShapes(config, fail);
  checkPlausibleSize(config, fail);
  return config;
}

/**
 * Upper bounds far above any real Llama (Llama 3.1 405B: 126 layers, hidden 16384, MLP 53248, 128 heads of
 * 128, vocabulary 128256, context 131072; 4e11 parameters), checked before anything is sized from the config:
 * the tensor list, memory plans and GPU buffers all grow with these numbers, and a config of 10^8 layers
 * would exhaust memory long before a weight file could contradict it.
 */
export const LLAMA_CONFIG_BOUNDS = {
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  num_attention_heads: 1024,
  head_dim: 1024,
  vocab_size: 1 << 22,
  context_window_size: 1 << 21,
  parameters: 1e12,
} as const;

/** Parameters of a Llama model of this shape (embeddings, attention, MLP, norms, lm_head when untied). */
type ModelShape = Pick<
  LlamaConfig,
  'hidden' | 'intermediate' | 'heads' | 'kvHeads' | 'headDim' | 'layers' | 'vocabSize' | 'tieEmbeddings'
>;

export function llamaParameterCount(c: ModelShape): number {
  const attention = c.hidden * (c.heads + 2 * c.kvHeads) * c.headDim + c.heads * c.headDim * c.hidden;
  const perLayer = attention + 3 * c.hidden * c.intermediate + 2 * c.hidden;
  return c.vocabSize * c.hidden * (c.tieEmbeddings ? 1 : 2) + c.layers * perLayer + c.hidden;
}

function checkPlausibleSize(config: LlamaConfig, fail: (detail: string) => never): void {
  const b = LLAMA_CONFIG_BOUNDS;
  const fields: [string, number, number][] = [
    ['model_config.num_hidden_layers', config.layers, b.num_hidden_layers],
    ['model_config.hidden_size', config.hidden, b.hidden_size],
    ['model_config.intermediate_size', config.intermediate, b.intermediate_size],
    ['model_config.num_attention_heads', config.heads, b.num_attention_heads],
    ['head_dim', config.headDim, b.head_dim],
    ['model_config.vocab_size', config.vocabSize, b.vocab_size],
    ['context_window_size', config.contextWindow, b.context_window_size],
  ];
  for (const [name, value, max] of fields) {
    if (value > max) {
      const why = "the config is corrupt or not a Llama model's";
      fail(`"${name}" is ${value}, more than any Llama model has (at most ${max} here); ${why}`);
    }
  }
  const params = llamaParameterCount(config);
  if (params > b.parameters) {
    const most = 'more than any Llama model (at most 1e12 here)';
    fail(`the shapes make ${params.toExponential(2)} parameters, ${most}; the config is corrupt`);
  }
}

function parseRopeScaling(raw: unknown, fail: (detail: string) => never): Llama3RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  if (!isJsonObject(raw)) fail('"model_config.rope_scaling" must be an object or null');
  const obj = raw as Json;
  const type = obj.rope_type ?? obj.type;
  if (type === undefined) return null; // as MLC: a rope_scaling without rope_type is ignored
  if (type !== 'llama3')
    fail(
      `unsupported RoPE scaling type ${JSON.stringify(type)}: only "llama3" (or no rope_scaling) is supported for Llama`,
    );
  const field = (key: string): number => {
    const value = obj[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      fail(`"model_config.rope_scaling.${key}" must be a positive number (got ${JSON.stringify(value)})`);
    return value as number;
  };
  const scaling: Llama3RopeScaling = {
    type: 'llama3',
    factor: field('factor'),
    lowFreqFactor: field('low_freq_factor'),
    highFreqFactor: field('high_freq_factor'),
    originalMaxPositionEmbeddings: field('original_max_position_embeddings'),
  };
  if (!(scaling.highFreqFactor > scaling.lowFreqFactor))
    fail('"model_config.rope_scaling.high_freq_factor" must be greater than "low_freq_factor"');
  return scaling;
}

/** Group quantization needs every quantized row length (K of W[N, K]) to be a multiple of the group size. */
function checkQuantizableShapes(config: LlamaConfig, fail: (detail: string) => never): void {
  const q = quantizationInfo(config.quantization);
  if (!q.grouped) return;
  const ks: [string, number][] = [
    ['hidden_size', config.hidden],
    ['intermediate_size', config.intermediate],
    ['num_attention_heads * head_dim', config.heads * config.headDim],
  ];
  for (const [name, k] of ks) {
    if (k % q.groupSize !== 0)
      fail(`${name} (${k}) must be a multiple of ${q.groupSize} for ${config.quantization} group quantization`);
  }
}

/** The JSON fields of mlc-chat-config.json that describe a config (inverse of parseLlamaConfig, for make-model). */
export function llamaModelConfigJson(config: LlamaConfig): Json {
  return {
    hidden_size: config.hidden,
    intermediate_size: config.intermediate,
    num_attention_heads: config.heads,
    num_hidden_layers: config.layers,
    rms_norm_eps: config.rmsNormEps,
    vocab_size: config.vocabSize,
    tie_word_embeddings: config.tieEmbeddings,
    position_embedding_base: config.ropeTheta,
    rope_scaling: config.ropeScaling
      ? {
          rope_type: 'llama3',
          factor: config.ropeScaling.factor,
          low_freq_factor: config.ropeScaling.lowFreqFactor,
          high_freq_factor: config.ropeScaling.highFreqFactor,
          original_max_position_embeddings: config.ropeScaling.originalMaxPositionEmbeddings,
        }
      : null,
    context_window_size: config.contextWindow,
    prefill_chunk_size: config.contextWindow,
    num_key_value_heads: config.kvHeads,
    head_dim: config.headDim,
    tensor_parallel_shards: 1,
    max_batch_size: 1,
  };
}
