/**
 * The model catalog: web-llm's own model list (`prebuiltAppConfig.model_list` of the installed
 * @mlc-ai/web-llm), its Llama-architecture records picked at run time, joined with what web-llm cannot say
 * before a download: the architecture (layers, widths, vocabulary, RoPE) a memory plan and a fit check need.
 * Platform-neutral; web-llm itself is loaded lazily (webllm.ts), this file only reads its records.
 *
 * Which records are Llama: web-llm's records carry no architecture field, so the rule is the model family in
 * the id, the one naming convention MLC and web-llm keep: Llama-2/3/3.1/3.2 and their fine-tunes with "Llama"
 * in the name (Hermes-*-Llama-*, DeepSeek-R1-Distill-Llama-*), TinyLlama, SmolLM2 (all MLC model_type
 * "llama"); an embedding or vision record (model_type set) is not. Kept: the quantizations this engine runs
 * (q4f16_1, q4f32_1, q0f16, q0f32); left out: the 70B records (q3f16_1 only). Mistral-based ids (Hermes-2-Pro-
 * Mistral, OpenHermes, NeuralHermes, WizardMath, Ministral) do not match: MLC model_type "mistral".
 *
 * The architecture table (ARCHITECTURES, keyed by model id) is the only copied data. Values are from the HF
 * config.json of each base model (meta-llama/Llama-2-7b-chat-hf, meta-llama/Llama-2-13b-chat-hf,
 * meta-llama/Meta-Llama-3-8B-Instruct, meta-llama/Llama-3.1-8B-Instruct, meta-llama/Llama-3.2-1B-Instruct,
 * meta-llama/Llama-3.2-3B-Instruct, deepseek-ai/DeepSeek-R1-Distill-Llama-8B, NousResearch/Hermes-2-Pro-Llama-3-8B,
 * NousResearch/Hermes-2-Theta-Llama-3-8B, NousResearch/Hermes-3-Llama-3.1-8B, NousResearch/Hermes-3-Llama-3.2-3B,
 * HuggingFaceTB/SmolLM2-{135M,360M,1.7B}-Instruct, TinyLlama/TinyLlama-1.1B-Chat-v{1.0,0.4}), written from
 * knowledge of those files, not fetched (no network here). Fields we are unsure of are listed per architecture
 * in `unsure`; the downloaded mlc-chat-config.json is authoritative and the loader checks the weights against
 * it, so a wrong value here can only mislead a size estimate or a fit check. catalog.test.ts checks that every
 * Llama record of the installed web-llm has an entry; a record of a newer web-llm without one is still listed,
 * with its architecture unknown until downloaded.
 */
import {
  parseLlamaConfig,
  isQuantizationId,
  type Llama3RopeScaling,
  type LlamaConfig,
  type QuantizationId,
} from './config';
import { expectedLlamaTensors, type TensorDtype } from './tensor-cache';
import { checkModelUrl, ModelUrlError } from './url-source';

/**
 * The fields of web-llm's ModelRecord (lib/config.d.ts) read here. A record is kept as web-llm gave it
 * (CatalogRecord.record), since web-llm's cache helpers take the record itself (in an AppConfig).
 */
export interface WebLlmModelRecord {
  model: string;
  model_id: string;
  model_lib: string;
  overrides?: { context_window_size?: number };
  vram_required_MB?: number;
  low_resource_required?: boolean;
  required_features?: string[];
  /** web-llm's ModelType: 0 LLM, 1 embedding, 2 VLM; absent means LLM. */
  model_type?: number;
}

/** The fields of the parsed config (config.ts) that the catalog records per model, ahead of any download. */
export type CatalogConfigFields =
  | 'hidden'
  | 'intermediate'
  | 'heads'
  | 'kvHeads'
  | 'headDim'
  | 'layers'
  | 'vocabSize'
  | 'tieEmbeddings'
  | 'ropeTheta'
  | 'ropeScaling'
  | 'rmsNormEps'
  | 'bosTokenId'
  | 'eosTokenIds';

export interface CatalogArchitecture extends Pick<LlamaConfig, CatalogConfigFields> {
  /** HF repo of the base model whose config.json this is. */
  hfConfig: string;
  /** HF max_position_embeddings (what the model was trained for; web-llm runs a smaller window). */
  maxPositionEmbeddings: number;
  /** Fields taken on less than full confidence (see the file comment). */
  unsure: string[];
}

export interface CatalogRecord {
  /** web-llm's model_id. */
  id: string;
  /** web-llm's `model`: the weights repo URL (without /resolve/main/). */
  model: string;
  quantization: QuantizationId;
  /** web-llm's vram_required_MB (its compiled wasm: weights, KV cache at its context window, workspace). */
  vramRequiredMB: number | undefined;
  lowResourceRequired: boolean;
  /** WebGPU features web-llm's wasm for this record needs (e.g. "shader-f16"). */
  requiredFeatures: string[];
  /** web-llm's overrides.context_window_size, else the architecture's trained context. */
  contextWindow: number | undefined;
  /** From the architecture table; undefined for a record of a web-llm newer than the table. */
  arch: CatalogArchitecture | undefined;
  /** web-llm's record, as is (for its cache helpers). */
  record: WebLlmModelRecord;
}

const LLAMA3_ROPE_32: Llama3RopeScaling = {
  type: 'llama3',
  factor: 32,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192,
};
const LLAMA3_ROPE_8: Llama3RopeScaling = {
  type: 'llama3',
  factor: 8,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings: 8192,
};

type Arch = CatalogArchitecture;
const llama2_7b: Arch = {
  hfConfig: 'meta-llama/Llama-2-7b-chat-hf',
  hidden: 4096,
  intermediate: 11008,
  heads: 32,
  kvHeads: 32,
  headDim: 128,
  layers: 32,
  vocabSize: 32000,
  tieEmbeddings: false,
  ropeTheta: 10000,
  ropeScaling: null,
  rmsNormEps: 1e-5,
  bosTokenId: 1,
  eosTokenIds: [2],
  maxPositionEmbeddings: 4096,
  unsure: [],
};
const llama2_13b: Arch = {
  ...llama2_7b,
  hfConfig: 'meta-llama/Llama-2-13b-chat-hf',
  hidden: 5120,
  intermediate: 13824,
  heads: 40,
  kvHeads: 40,
  layers: 40,
};
const llama3_8b: Arch = {
  hfConfig: 'meta-llama/Meta-Llama-3-8B-Instruct',
  hidden: 4096,
  intermediate: 14336,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  layers: 32,
  vocabSize: 128256,
  tieEmbeddings: false,
  ropeTheta: 500000,
  ropeScaling: null,
  rmsNormEps: 1e-5,
  bosTokenId: 128000,
  eosTokenIds: [128001, 128009],
  maxPositionEmbeddings: 8192,
  unsure: ['eosTokenIds (config.json says 128009, generation_config [128001, 128009])'],
};
const llama31_8b: Arch = {
  ...llama3_8b,
  hfConfig: 'meta-llama/Llama-3.1-8B-Instruct',
  ropeScaling: LLAMA3_ROPE_8,
  eosTokenIds: [128001, 128008, 128009],
  maxPositionEmbeddings: 131072,
  unsure: [],
};
const llama32_1b: Arch = {
  hfConfig: 'meta-llama/Llama-3.2-1B-Instruct',
  hidden: 2048,
  intermediate: 8192,
  heads: 32,
  kvHeads: 8,
  headDim: 64,
  layers: 16,
  vocabSize: 128256,
  tieEmbeddings: true,
  ropeTheta: 500000,
  ropeScaling: LLAMA3_ROPE_32,
  rmsNormEps: 1e-5,
  bosTokenId: 128000,
  eosTokenIds: [128001, 128008, 128009],
  maxPositionEmbeddings: 131072,
  unsure: [],
};
const llama32_3b: Arch = {
  ...llama32_1b,
  hfConfig: 'meta-llama/Llama-3.2-3B-Instruct',
  hidden: 3072,
  heads: 24,
  headDim: 128,
  layers: 28,
};
const deepseekR1Llama8b: Arch = {
  ...llama31_8b,
  hfConfig: 'deepseek-ai/DeepSeek-R1-Distill-Llama-8B',
  eosTokenIds: [128001],
};
const hermes2ProLlama3: Arch = {
  ...llama3_8b,
  hfConfig: 'NousResearch/Hermes-2-Pro-Llama-3-8B',
  vocabSize: 128288,
  eosTokenIds: [128003],
  unsure: ['vocabSize (added tool-call tokens)', 'eosTokenIds'],
};
const hermes2ThetaLlama3: Arch = {
  ...llama3_8b,
  hfConfig: 'NousResearch/Hermes-2-Theta-Llama-3-8B',
  eosTokenIds: [128003],
  unsure: ['vocabSize', 'eosTokenIds'],
};
const hermes3Llama31_8b: Arch = {
  ...llama31_8b,
  hfConfig: 'NousResearch/Hermes-3-Llama-3.1-8B',
  eosTokenIds: [128039],
  unsure: ['eosTokenIds'],
};
const hermes3Llama32_3b: Arch = {
  ...llama32_3b,
  hfConfig: 'NousResearch/Hermes-3-Llama-3.2-3B',
  eosTokenIds: [128039],
  unsure: ['eosTokenIds', 'tieEmbeddings'],
};
const tinyLlamaV10: Arch = {
  ...llama2_7b, // Llama 2's architecture and tokenizer, smaller
  hfConfig: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
  hidden: 2048,
  intermediate: 5632,
  heads: 32,
  kvHeads: 4,
  headDim: 64,
  layers: 22,
  maxPositionEmbeddings: 2048,
};
const tinyLlamaV04: Arch = {
  ...tinyLlamaV10,
  hfConfig: 'TinyLlama/TinyLlama-1.1B-Chat-v0.4',
  vocabSize: 32003,
  unsure: ['vocabSize (ChatML tokens added: 32000 or 32003)'],
};
const smol2_1_7b: Arch = {
  hfConfig: 'HuggingFaceTB/SmolLM2-1.7B-Instruct',
  hidden: 2048,
  intermediate: 8192,
  heads: 32,
  kvHeads: 32,
  headDim: 64,
  layers: 24,
  vocabSize: 49152,
  tieEmbeddings: true,
  ropeTheta: 130000,
  ropeScaling: null,
  rmsNormEps: 1e-5,
  bosTokenId: 1,
  eosTokenIds: [2],
  maxPositionEmbeddings: 8192,
  unsure: [],
};
const smol2_360m: Arch = {
  ...smol2_1_7b,
  hfConfig: 'HuggingFaceTB/SmolLM2-360M-Instruct',
  hidden: 960,
  intermediate: 2560,
  heads: 15,
  kvHeads: 5,
  layers: 32,
  ropeTheta: 100000,
};
const smol2_135m: Arch = {
  ...smol2_1_7b,
  hfConfig: 'HuggingFaceTB/SmolLM2-135M-Instruct',
  hidden: 576,
  intermediate: 1536,
  heads: 9,
  kvHeads: 3,
  layers: 30,
  ropeTheta: 100000,
};

/** Model ids by architecture: the ids of the Llama records of @mlc-ai/web-llm 0.2.86 (catalog.test.ts). */
const IDS_BY_ARCHITECTURE: [Arch, string[]][] = [
  [
    llama32_1b,
    [
      'Llama-3.2-1B-Instruct-q4f32_1-MLC',
      'Llama-3.2-1B-Instruct-q4f16_1-MLC',
      'Llama-3.2-1B-Instruct-q0f32-MLC',
      'Llama-3.2-1B-Instruct-q0f16-MLC',
    ],
  ],
  [llama32_3b, ['Llama-3.2-3B-Instruct-q4f32_1-MLC', 'Llama-3.2-3B-Instruct-q4f16_1-MLC']],
  [
    llama31_8b,
    [
      'Llama-3.1-8B-Instruct-q4f32_1-MLC-1k',
      'Llama-3.1-8B-Instruct-q4f16_1-MLC-1k',
      'Llama-3.1-8B-Instruct-q4f32_1-MLC',
      'Llama-3.1-8B-Instruct-q4f16_1-MLC',
    ],
  ],
  [deepseekR1Llama8b, ['DeepSeek-R1-Distill-Llama-8B-q4f32_1-MLC', 'DeepSeek-R1-Distill-Llama-8B-q4f16_1-MLC']],
  [hermes2ThetaLlama3, ['Hermes-2-Theta-Llama-3-8B-q4f16_1-MLC', 'Hermes-2-Theta-Llama-3-8B-q4f32_1-MLC']],
  [hermes2ProLlama3, ['Hermes-2-Pro-Llama-3-8B-q4f16_1-MLC', 'Hermes-2-Pro-Llama-3-8B-q4f32_1-MLC']],
  [hermes3Llama32_3b, ['Hermes-3-Llama-3.2-3B-q4f32_1-MLC', 'Hermes-3-Llama-3.2-3B-q4f16_1-MLC']],
  [hermes3Llama31_8b, ['Hermes-3-Llama-3.1-8B-q4f32_1-MLC', 'Hermes-3-Llama-3.1-8B-q4f16_1-MLC']],
  [smol2_1_7b, ['SmolLM2-1.7B-Instruct-q4f16_1-MLC', 'SmolLM2-1.7B-Instruct-q4f32_1-MLC']],
  [
    smol2_360m,
    [
      'SmolLM2-360M-Instruct-q0f16-MLC',
      'SmolLM2-360M-Instruct-q0f32-MLC',
      'SmolLM2-360M-Instruct-q4f16_1-MLC',
      'SmolLM2-360M-Instruct-q4f32_1-MLC',
    ],
  ],
  [smol2_135m, ['SmolLM2-135M-Instruct-q0f16-MLC', 'SmolLM2-135M-Instruct-q0f32-MLC']],
  [
    tinyLlamaV10,
    [
      'TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC',
      'TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC',
      'TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC-1k',
      'TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC-1k',
    ],
  ],
  [
    llama3_8b,
    [
      'Llama-3-8B-Instruct-q4f32_1-MLC-1k',
      'Llama-3-8B-Instruct-q4f16_1-MLC-1k',
      'Llama-3-8B-Instruct-q4f32_1-MLC',
      'Llama-3-8B-Instruct-q4f16_1-MLC',
    ],
  ],
  [
    llama2_7b,
    [
      'Llama-2-7b-chat-hf-q4f32_1-MLC-1k',
      'Llama-2-7b-chat-hf-q4f16_1-MLC-1k',
      'Llama-2-7b-chat-hf-q4f32_1-MLC',
      'Llama-2-7b-chat-hf-q4f16_1-MLC',
    ],
  ],
  [llama2_13b, ['Llama-2-13b-chat-hf-q4f16_1-MLC']],
  [
    tinyLlamaV04,
    [
      'TinyLlama-1.1B-Chat-v0.4-q4f16_1-MLC',
      'TinyLlama-1.1B-Chat-v0.4-q4f32_1-MLC',
      'TinyLlama-1.1B-Chat-v0.4-q4f16_1-MLC-1k',
      'TinyLlama-1.1B-Chat-v0.4-q4f32_1-MLC-1k',
    ],
  ],
];

/** The architecture table, keyed by web-llm model id. */
export const ARCHITECTURES: ReadonlyMap<string, CatalogArchitecture> = new Map(
  IDS_BY_ARCHITECTURE.flatMap(([arch, ids]) => ids.map((id) => [id, arch] as const)),
);

/** The architecture of a web-llm model id, if the table has it. */
export function architectureOf(id: string): CatalogArchitecture | undefined {
  return ARCHITECTURES.get(id);
}

/** The quantization named in a model id ("...-q4f16_1-MLC-1k" -> q4f16_1), or undefined. */
export function quantizationOfId(id: string): QuantizationId | undefined {
  const match = /-(q\d+f\d+(?:_\d+)?)-/.exec(`${id}-`);
  return match && isQuantizationId(match[1]) ? match[1] : undefined;
}

/** The model families MLC compiles as model_type "llama" (see the file comment). */
const LLAMA_FAMILY = /(?:^|-)(?:Llama|TinyLlama|SmolLM2?)-/;

/** Whether a web-llm record is a Llama-architecture language model (by the family in its id). */
export function isLlamaRecord(record: WebLlmModelRecord): boolean {
  return LLAMA_FAMILY.test(record.model_id) && (record.model_type === undefined || record.model_type === 0);
}

/** A web-llm record as a catalog record (undefined for a quantization this engine does not run). */
export function catalogRecordOf(record: WebLlmModelRecord): CatalogRecord | undefined {
  const quantization = quantizationOfId(record.model_id);
  if (!quantization) return undefined;
  const arch = architectureOf(record.model_id);
  return {
    id: record.model_id,
    model: record.model,
    quantization,
    vramRequiredMB: record.vram_required_MB,
    lowResourceRequired: record.low_resource_required ?? false,
    requiredFeatures: [...(record.required_features ?? [])],
    contextWindow: record.overrides?.context_window_size ?? arch?.maxPositionEmbeddings,
    arch,
    record,
  };
}

/** The catalog of a web-llm model list (prebuiltAppConfig.model_list): its Llama records, in web-llm's order. */
export function catalogFromModelList(list: readonly WebLlmModelRecord[]): CatalogRecord[] {
  return list.filter(isLlamaRecord).flatMap((r) => catalogRecordOf(r) ?? []);
}

/** The record of `id` in a catalog. */
export function findCatalogRecord(catalog: readonly CatalogRecord[], id: string): CatalogRecord | undefined {
  return catalog.find((r) => r.id === id);
}

/** The mlc-chat-config.json fields of an architecture (what MLC's gen_config would write, less the chat template). */
function chatConfigJson(
  a: CatalogArchitecture,
  quantization: QuantizationId,
  contextWindow: number,
): Record<string, unknown> {
  return {
    model_type: 'llama',
    quantization,
    model_config: {
      hidden_size: a.hidden,
      intermediate_size: a.intermediate,
      num_attention_heads: a.heads,
      num_key_value_heads: a.kvHeads,
      head_dim: a.headDim,
      num_hidden_layers: a.layers,
      rms_norm_eps: a.rmsNormEps,
      vocab_size: a.vocabSize,
      tie_word_embeddings: a.tieEmbeddings,
      position_embedding_base: a.ropeTheta,
      rope_scaling: a.ropeScaling
        ? {
            rope_type: 'llama3',
            factor: a.ropeScaling.factor,
            low_freq_factor: a.ropeScaling.lowFreqFactor,
            high_freq_factor: a.ropeScaling.highFreqFactor,
            original_max_position_embeddings: a.ropeScaling.originalMaxPositionEmbeddings,
          }
        : null,
      context_window_size: contextWindow,
    },
    vocab_size: a.vocabSize,
    context_window_size: contextWindow,
    bos_token_id: a.bosTokenId,
    eos_token_id: a.eosTokenIds.length === 1 ? a.eosTokenIds[0] : a.eosTokenIds,
    tokenizer_files: ['tokenizer.json'],
  };
}

/**
 * The LlamaConfig of a model id of the table, through the same validation as a downloaded
 * mlc-chat-config.json. `contextWindow` defaults to the architecture's trained context: give web-llm's
 * (CatalogRecord.contextWindow, or use catalogConfig) where the window matters; shapes do not depend on it.
 */
export function architectureConfig(id: string, contextWindow?: number): LlamaConfig {
  const arch = architectureOf(id);
  const quantization = quantizationOfId(id);
  if (!arch || !quantization) {
    throw new ModelUrlError(
      `unknown model "${id}": run \`twosome models list\` for the catalog, or give an https:// URL of an MLC model`,
    );
  }
  const json = chatConfigJson(arch, quantization, contextWindow ?? arch.maxPositionEmbeddings);
  return parseLlamaConfig(json, `catalog:${id}`);
}

/** The LlamaConfig of a catalog record (web-llm's context window), or undefined when its architecture is unknown. */
export function catalogConfig(record: CatalogRecord): LlamaConfig | undefined {
  return record.arch ? architectureConfig(record.id, record.contextWindow) : undefined;
}

/**
 * web-llm's cleanModelUrl: "https://huggingface.co/ORG/REPO" -> "https://huggingface.co/ORG/REPO/resolve/main/";
 * a URL that already has "/resolve/<rev>/" is kept. web-llm applies the rule to every URL; we apply it to
 * huggingface.co (and hf.co) URLs only and use any other URL as the model directory as given.
 */
export function huggingFaceBaseUrl(url: string): string {
  let u = url.endsWith('/') ? url : `${url}/`;
  if (!/.+\/resolve\/.+\//.test(u)) u += 'resolve/main/';
  return new URL(u).href;
}

/** The directory URL (ending in "/") of a catalog record's files: the cache-key prefix web-llm uses. */
export function catalogBaseUrl(record: CatalogRecord): string {
  return huggingFaceBaseUrl(record.model);
}

/**
 * A catalog id (of `catalog`), a Hugging Face repo URL (`https://huggingface.co/<org>/<repo>` ->
 * `.../resolve/main/`), or any other accepted model URL (https, http on localhost: used as the directory) -> the base
 * URL of the files.
 */
export function resolveModelBaseUrl(idOrUrl: string, catalog: readonly CatalogRecord[]): string {
  const record = findCatalogRecord(catalog, idOrUrl);
  if (record) return catalogBaseUrl(record);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(idOrUrl)) {
    throw new ModelUrlError(
      `unknown model "${idOrUrl}": run \`twosome models list\` for the catalog, or give an https:// URL of an MLC model (e.g. https://huggingface.co/mlc-ai/<repo>)`,
    );
  }
  const parsed = checkModelUrl(idOrUrl);
  const host = parsed.hostname.toLowerCase();
  if (host === 'huggingface.co' || host === 'hf.co' || host === 'www.huggingface.co') {
    const parts = parsed.pathname.split('/').filter(Boolean);
    if (parts.length < 2)
      throw new ModelUrlError(`${idOrUrl}: expected https://huggingface.co/<org>/<repo> (an MLC model repo)`);
    return huggingFaceBaseUrl(parsed.href);
  }
  return parsed.href;
}

// ---------------------------------------------------------------------------------------------------------
// Sizes, from the architecture.

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes one element takes in the shards (MLC writes float32 tensors as bf16, "f32-to-bf16"). */
function storedBytes(dtype: TensorDtype): number {
  return dtype === 'uint32' || dtype === 'int32' ? 4 : dtype === 'uint8' || dtype === 'int8' ? 1 : 2;
}

/**
 * Bytes on the GPU in this engine (engine/gpu-weights.ts): q4 words and f16 matrices as stored; other floats
 * widened to f32.
 */
export function gpuBytes(dtype: TensorDtype, shape: readonly number[]): number {
  if (dtype === 'uint32') return 4;
  if (dtype === 'float16' && shape.length === 2) return 2;
  return 4;
}

export interface SizeEstimate {
  /** Sum of the weight tensors as stored in the shards (the download, less ~1-3 MB of JSON and tokenizer). */
  downloadBytes: number;
  /** Weights as this engine holds them on the GPU. */
  gpuWeightBytes: number;
  /**
   * The largest tensor on the GPU (one tensor larger than a binding allows is split by rows:
   * engine/gpu-weights.ts).
   */
  largestTensorBytes: number;
  largestTensor: string;
  /** The largest row of any tensor (a 1-D tensor is one row): what must fit maxStorageBufferBindingSize and maxBufferSize. */
  largestRowBytes: number;
  largestRowTensor: string;
}

export function estimateSizes(config: LlamaConfig): SizeEstimate {
  let downloadBytes = 0;
  let gpuWeightBytes = 0;
  let largestTensorBytes = 0;
  let largestTensor = '';
  let largestRowBytes = 0;
  let largestRowTensor = '';
  for (const t of expectedLlamaTensors(config)) {
    const n = elements(t.shape);
    downloadBytes += n * storedBytes(t.dtype);
    const g = n * gpuBytes(t.dtype, t.shape);
    gpuWeightBytes += g;
    if (g > largestTensorBytes) {
      largestTensorBytes = g;
      largestTensor = t.name;
    }
    const row = t.shape.length >= 2 ? g / t.shape[0] : g;
    if (row > largestRowBytes) {
      largestRowBytes = row;
      largestRowTensor = t.name;
    }
  }
  return { downloadBytes, gpuWeightBytes, largestTensorBytes, largestTensor, largestRowBytes, largestRowTensor };
}
