/**
 * The Llama-architecture models of web-llm's `prebuiltAppConfig.model_list`, as data: what web-llm's record
 * says (id, HF repo, VRAM, low-resource flag, required WebGPU features, context window override) plus the
 * architecture, so the app can show sizes, build a LlamaConfig and decide whether a GPU can run a model before
 * downloading anything. Platform-neutral.
 *
 * Records: copied from `prebuiltAppConfig.model_list` of @mlc-ai/web-llm 0.2.86 (the newest on npm when this
 * was written; 165 records). Kept: every record whose model is a Llama architecture (MLC model_type "llama")
 * in a quantization this engine supports (q4f16_1, q4f32_1, q0f16, q0f32). Left out: Llama-3-70B and
 * Llama-3.1-70B (only q3f16_1, unsupported), Mistral-based models (Mistral, Hermes-2-Pro-Mistral, OpenHermes,
 * NeuralHermes, WizardMath: MLC model_type "mistral", sliding window), Ministral-3, and every non-Llama family
 * (Qwen, Phi, Gemma, OLMo, StableLM, RedPajama, snowflake embedders). The `-MLC-1k` ids are web-llm's
 * records with a 1024-token context: the same weights repo (their `model` has no "-1k"), another wasm.
 *
 * Architectures: from the HF config.json of each base model (meta-llama/Llama-2-7b-chat-hf,
 * meta-llama/Llama-2-13b-chat-hf, meta-llama/Meta-Llama-3-8B-Instruct, meta-llama/Llama-3.1-8B-Instruct,
 * meta-llama/Llama-3.2-1B-Instruct, meta-llama/Llama-3.2-3B-Instruct, deepseek-ai/DeepSeek-R1-Distill-Llama-8B,
 * NousResearch/Hermes-2-Pro-Llama-3-8B, NousResearch/Hermes-2-Theta-Llama-3-8B, NousResearch/Hermes-3-Llama-3.1-8B,
 * NousResearch/Hermes-3-Llama-3.2-3B, HuggingFaceTB/SmolLM2-{135M,360M,1.7B}-Instruct,
 * TinyLlama/TinyLlama-1.1B-Chat-v{1.0,0.4}), written from knowledge of those files, not fetched (no network
 * here). Fields we are unsure of are listed per architecture in `unsure` (chiefly vocab sizes and eos ids of
 * fine-tunes that added tokens); the downloaded mlc-chat-config.json is authoritative and the loader checks
 * the weights against it, so a wrong value here can only mislead a size estimate or a pre-download check.
 */
import { parseLlamaConfig, isQuantizationId, type Llama3RopeScaling, type LlamaConfig, type QuantizationId } from './config';
import { expectedLlamaTensors, type TensorDtype } from './tensor-cache';
import { checkModelUrl, ModelUrlError } from './url-source';
import { formatBytes } from '../../util/format';

export interface CatalogArchitecture {
  /** HF repo of the base model whose config.json this is. */
  hfConfig: string;
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
  vocabSize: number;
  tieEmbeddings: boolean;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  rmsNormEps: number;
  bosTokenId: number;
  eosTokenIds: number[];
  /** HF max_position_embeddings (what the model was trained for; web-llm runs a smaller window). */
  maxPositionEmbeddings: number;
  /** Fields taken on less than full confidence (see the file comment). */
  unsure: string[];
}

export interface CatalogRecord {
  /** web-llm's model_id. */
  id: string;
  /** web-llm's `model`: the HF repo URL (without /resolve/main/). */
  model: string;
  quantization: QuantizationId;
  /** web-llm's vram_required_MB (its compiled wasm: weights, KV cache at its context window, workspace). */
  vramRequiredMB: number;
  lowResourceRequired: boolean;
  /** WebGPU features web-llm's wasm for this record needs (e.g. "shader-f16"). */
  requiredFeatures: string[];
  /** web-llm's overrides.context_window_size. */
  contextWindow: number;
  arch: CatalogArchitecture;
}

const LLAMA3_ROPE_32: Llama3RopeScaling = { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
const LLAMA3_ROPE_8: Llama3RopeScaling = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };

type Arch = CatalogArchitecture;
const llama2_7b: Arch = { hfConfig: 'meta-llama/Llama-2-7b-chat-hf', hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, headDim: 128, layers: 32, vocabSize: 32000, tieEmbeddings: false, ropeTheta: 10000, ropeScaling: null, rmsNormEps: 1e-5, bosTokenId: 1, eosTokenIds: [2], maxPositionEmbeddings: 4096, unsure: [] };
const llama2_13b: Arch = { ...llama2_7b, hfConfig: 'meta-llama/Llama-2-13b-chat-hf', hidden: 5120, intermediate: 13824, heads: 40, kvHeads: 40, layers: 40 };
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
const llama31_8b: Arch = { ...llama3_8b, hfConfig: 'meta-llama/Llama-3.1-8B-Instruct', ropeScaling: LLAMA3_ROPE_8, eosTokenIds: [128001, 128008, 128009], maxPositionEmbeddings: 131072, unsure: [] };
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
const llama32_3b: Arch = { ...llama32_1b, hfConfig: 'meta-llama/Llama-3.2-3B-Instruct', hidden: 3072, heads: 24, headDim: 128, layers: 28 };
const deepseekR1Llama8b: Arch = { ...llama31_8b, hfConfig: 'deepseek-ai/DeepSeek-R1-Distill-Llama-8B', eosTokenIds: [128001] };
const hermes2ProLlama3: Arch = { ...llama3_8b, hfConfig: 'NousResearch/Hermes-2-Pro-Llama-3-8B', vocabSize: 128288, eosTokenIds: [128003], unsure: ['vocabSize (added tool-call tokens)', 'eosTokenIds'] };
const hermes2ThetaLlama3: Arch = { ...llama3_8b, hfConfig: 'NousResearch/Hermes-2-Theta-Llama-3-8B', eosTokenIds: [128003], unsure: ['vocabSize', 'eosTokenIds'] };
const hermes3Llama31_8b: Arch = { ...llama31_8b, hfConfig: 'NousResearch/Hermes-3-Llama-3.1-8B', eosTokenIds: [128039], unsure: ['eosTokenIds'] };
const hermes3Llama32_3b: Arch = { ...llama32_3b, hfConfig: 'NousResearch/Hermes-3-Llama-3.2-3B', eosTokenIds: [128039], unsure: ['eosTokenIds', 'tieEmbeddings'] };
const tinyLlamaV10: Arch = {
  hfConfig: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
  hidden: 2048,
  intermediate: 5632,
  heads: 32,
  kvHeads: 4,
  headDim: 64,
  layers: 22,
  vocabSize: 32000,
  tieEmbeddings: false,
  ropeTheta: 10000,
  ropeScaling: null,
  rmsNormEps: 1e-5,
  bosTokenId: 1,
  eosTokenIds: [2],
  maxPositionEmbeddings: 2048,
  unsure: [],
};
const tinyLlamaV04: Arch = { ...tinyLlamaV10, hfConfig: 'TinyLlama/TinyLlama-1.1B-Chat-v0.4', vocabSize: 32003, unsure: ['vocabSize (ChatML tokens added: 32000 or 32003)'] };
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
const smol2_360m: Arch = { ...smol2_1_7b, hfConfig: 'HuggingFaceTB/SmolLM2-360M-Instruct', hidden: 960, intermediate: 2560, heads: 15, kvHeads: 5, layers: 32, ropeTheta: 100000 };
const smol2_135m: Arch = { ...smol2_1_7b, hfConfig: 'HuggingFaceTB/SmolLM2-135M-Instruct', hidden: 576, intermediate: 1536, heads: 9, kvHeads: 3, layers: 30, ropeTheta: 100000 };

/** [id, vram_required_MB, low_resource_required, required_features, context_window_size] as in web-llm 0.2.86. */
type Row = [string, number, boolean, string[], number];
const F16 = ['shader-f16'];

const ROWS: [Arch, Row[]][] = [
  [llama32_1b, [
    ['Llama-3.2-1B-Instruct-q4f32_1-MLC', 1128.82, true, [], 4096],
    ['Llama-3.2-1B-Instruct-q4f16_1-MLC', 879.04, true, [], 4096],
    ['Llama-3.2-1B-Instruct-q0f32-MLC', 5106.26, true, [], 4096],
    ['Llama-3.2-1B-Instruct-q0f16-MLC', 2573.13, true, [], 4096],
  ]],
  [llama32_3b, [
    ['Llama-3.2-3B-Instruct-q4f32_1-MLC', 2951.51, true, [], 4096],
    ['Llama-3.2-3B-Instruct-q4f16_1-MLC', 2263.69, true, [], 4096],
  ]],
  [llama31_8b, [
    ['Llama-3.1-8B-Instruct-q4f32_1-MLC-1k', 5295.7, true, [], 1024],
    ['Llama-3.1-8B-Instruct-q4f16_1-MLC-1k', 4598.34, true, [], 1024],
    ['Llama-3.1-8B-Instruct-q4f32_1-MLC', 6101.01, false, [], 4096],
    ['Llama-3.1-8B-Instruct-q4f16_1-MLC', 5001, false, [], 4096],
  ]],
  [deepseekR1Llama8b, [
    ['DeepSeek-R1-Distill-Llama-8B-q4f32_1-MLC', 6101.01, false, [], 4096],
    ['DeepSeek-R1-Distill-Llama-8B-q4f16_1-MLC', 5001, false, [], 4096],
  ]],
  [hermes2ThetaLlama3, [
    ['Hermes-2-Theta-Llama-3-8B-q4f16_1-MLC', 4976.13, false, [], 4096],
    ['Hermes-2-Theta-Llama-3-8B-q4f32_1-MLC', 6051.27, false, [], 4096],
  ]],
  [hermes2ProLlama3, [
    ['Hermes-2-Pro-Llama-3-8B-q4f16_1-MLC', 4976.13, false, [], 4096],
    ['Hermes-2-Pro-Llama-3-8B-q4f32_1-MLC', 6051.27, false, [], 4096],
  ]],
  [hermes3Llama32_3b, [
    ['Hermes-3-Llama-3.2-3B-q4f32_1-MLC', 2951.51, true, [], 4096],
    ['Hermes-3-Llama-3.2-3B-q4f16_1-MLC', 2263.69, true, [], 4096],
  ]],
  [hermes3Llama31_8b, [
    ['Hermes-3-Llama-3.1-8B-q4f32_1-MLC', 5779.27, false, [], 4096],
    ['Hermes-3-Llama-3.1-8B-q4f16_1-MLC', 4876.13, false, [], 4096],
  ]],
  [smol2_1_7b, [
    ['SmolLM2-1.7B-Instruct-q4f16_1-MLC', 1774.19, true, F16, 4096],
    ['SmolLM2-1.7B-Instruct-q4f32_1-MLC', 2692.38, true, [], 4096],
  ]],
  [smol2_360m, [
    ['SmolLM2-360M-Instruct-q0f16-MLC', 871.99, true, F16, 4096],
    ['SmolLM2-360M-Instruct-q0f32-MLC', 1743.99, true, [], 4096],
    ['SmolLM2-360M-Instruct-q4f16_1-MLC', 376.06, true, F16, 4096],
    ['SmolLM2-360M-Instruct-q4f32_1-MLC', 579.61, true, [], 4096],
  ]],
  [smol2_135m, [
    ['SmolLM2-135M-Instruct-q0f16-MLC', 359.69, true, F16, 4096],
    ['SmolLM2-135M-Instruct-q0f32-MLC', 719.38, true, [], 4096],
  ]],
  [tinyLlamaV10, [
    ['TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC', 697.24, true, F16, 2048],
    ['TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC', 839.98, true, [], 2048],
    ['TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC-1k', 675.24, true, F16, 1024],
    ['TinyLlama-1.1B-Chat-v1.0-q4f32_1-MLC-1k', 795.98, true, [], 1024],
  ]],
  [llama3_8b, [
    ['Llama-3-8B-Instruct-q4f32_1-MLC-1k', 5295.7, true, [], 1024],
    ['Llama-3-8B-Instruct-q4f16_1-MLC-1k', 4598.34, true, [], 1024],
    ['Llama-3-8B-Instruct-q4f32_1-MLC', 6101.01, false, [], 4096],
    ['Llama-3-8B-Instruct-q4f16_1-MLC', 5001, false, [], 4096],
  ]],
  [llama2_7b, [
    ['Llama-2-7b-chat-hf-q4f32_1-MLC-1k', 5284.01, false, [], 1024],
    ['Llama-2-7b-chat-hf-q4f16_1-MLC-1k', 4618.52, false, F16, 1024],
    ['Llama-2-7b-chat-hf-q4f32_1-MLC', 9109.03, false, [], 4096],
    ['Llama-2-7b-chat-hf-q4f16_1-MLC', 6749.02, false, F16, 4096],
  ]],
  [llama2_13b, [['Llama-2-13b-chat-hf-q4f16_1-MLC', 11814.09, false, F16, 4096]]],
  [tinyLlamaV04, [
    ['TinyLlama-1.1B-Chat-v0.4-q4f16_1-MLC', 697.24, true, F16, 2048],
    ['TinyLlama-1.1B-Chat-v0.4-q4f32_1-MLC', 839.98, true, [], 2048],
    ['TinyLlama-1.1B-Chat-v0.4-q4f16_1-MLC-1k', 675.24, true, F16, 1024],
    ['TinyLlama-1.1B-Chat-v0.4-q4f32_1-MLC-1k', 795.98, true, [], 1024],
  ]],
];

/** The quantization named in a model id ("...-q4f16_1-MLC-1k" -> q4f16_1), or undefined. */
export function quantizationOfId(id: string): QuantizationId | undefined {
  const match = /-(q\d+f\d+(?:_\d+)?)-/.exec(`${id}-`);
  return match && isQuantizationId(match[1]) ? match[1] : undefined;
}

function makeRecord(arch: Arch, [id, vram, low, features, context]: Row): CatalogRecord {
  const quantization = quantizationOfId(id);
  if (!quantization) throw new Error(`catalog: no supported quantization in ${id}`);
  // web-llm's `model` is the weights repo: the id without the "-1k" context suffix.
  const repo = id.replace(/-1k$/, '');
  return { id, model: `https://huggingface.co/mlc-ai/${repo}`, quantization, vramRequiredMB: vram, lowResourceRequired: low, requiredFeatures: [...features], contextWindow: context, arch };
}

/** Every catalog record, in web-llm's order within each family. */
export const MODEL_CATALOG: readonly CatalogRecord[] = ROWS.flatMap(([arch, rows]) => rows.map((row) => makeRecord(arch, row)));

export function catalogRecord(id: string): CatalogRecord | undefined {
  return MODEL_CATALOG.find((r) => r.id === id);
}

function recordOf(idOrRecord: string | CatalogRecord): CatalogRecord {
  if (typeof idOrRecord !== 'string') return idOrRecord;
  const record = catalogRecord(idOrRecord);
  if (!record) throw new ModelUrlError(`unknown model "${idOrRecord}": run \`twosome models list\` for the catalog, or give an https:// URL of an MLC model`);
  return record;
}

/** The mlc-chat-config.json fields this record implies (what MLC's gen_config would write, less the chat template). */
export function catalogChatConfigJson(idOrRecord: string | CatalogRecord): Record<string, unknown> {
  const r = recordOf(idOrRecord);
  const a = r.arch;
  return {
    model_type: 'llama',
    quantization: r.quantization,
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
      context_window_size: r.contextWindow,
    },
    vocab_size: a.vocabSize,
    context_window_size: r.contextWindow,
    bos_token_id: a.bosTokenId,
    eos_token_id: a.eosTokenIds.length === 1 ? a.eosTokenIds[0] : a.eosTokenIds,
    tokenizer_files: ['tokenizer.json'],
  };
}

/** The LlamaConfig of a catalog model, through the same validation as a downloaded mlc-chat-config.json. */
export function catalogConfig(idOrRecord: string | CatalogRecord): LlamaConfig {
  const r = recordOf(idOrRecord);
  return parseLlamaConfig(catalogChatConfigJson(r), `catalog:${r.id}`);
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
export function catalogBaseUrl(idOrRecord: string | CatalogRecord): string {
  return huggingFaceBaseUrl(recordOf(idOrRecord).model);
}

/**
 * A catalog id, a Hugging Face repo URL (`https://huggingface.co/<org>/<repo>` -> `.../resolve/main/`), or
 * any other accepted model URL (https, http on localhost: used as the directory) -> the base URL of the files.
 */
export function resolveModelBaseUrl(idOrUrl: string): string {
  const record = catalogRecord(idOrUrl);
  if (record) return catalogBaseUrl(record);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(idOrUrl)) {
    throw new ModelUrlError(`unknown model "${idOrUrl}": run \`twosome models list\` for the catalog, or give an https:// URL of an MLC model (e.g. https://huggingface.co/mlc-ai/<repo>)`);
  }
  const parsed = checkModelUrl(idOrUrl);
  const host = parsed.hostname.toLowerCase();
  if (host === 'huggingface.co' || host === 'hf.co' || host === 'www.huggingface.co') {
    const parts = parsed.pathname.split('/').filter(Boolean);
    if (parts.length < 2) throw new ModelUrlError(`${idOrUrl}: expected https://huggingface.co/<org>/<repo> (an MLC model repo)`);
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

// ---------------------------------------------------------------------------------------------------------
// Can this adapter run it?

export interface AdapterLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface CanRunOptions {
  /**
   * GPU memory the caller is willing to use, in MB (WebGPU does not report a device's memory; the app may
   * ask the user or use a heuristic). Compared with web-llm's vram_required_MB, a conservative figure.
   */
  memoryBudgetMB?: number;
  /**
   * Treat the record's required_features (web-llm's wasm needs them) as hard requirements. Off by default:
   * this engine reads f16 data as packed u32 (`unpack2x16float`) and has f32 kernels, so it runs without
   * shader-f16, only slower.
   */
  strictFeatures?: boolean;
}

export interface CanRunResult {
  ok: boolean;
  /** Why not (when !ok), else a short note ("" when nothing to say). */
  reason: string;
  /** Things that do not stop the model but the user may want to know. */
  warnings: string[];
}


export function canRun(record: CatalogRecord, adapterFeatures: Iterable<string>, limits: AdapterLimits, options: CanRunOptions = {}): CanRunResult {
  const features = new Set(adapterFeatures);
  const warnings: string[] = [];
  const missing = record.requiredFeatures.filter((f) => !features.has(f));
  if (missing.length > 0) {
    if (options.strictFeatures) return { ok: false, reason: `${record.id} needs the WebGPU feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this adapter lacks; pick the q4f32_1 variant`, warnings };
    warnings.push(`web-llm needs ${missing.join(', ')} for ${record.id}; this engine runs it without (f16 read as packed words), somewhat slower`);
  }
  const config = catalogConfig(record);
  const sizes = estimateSizes(config);
  // A tensor larger than a binding is uploaded in row chunks (engine/gpu-weights.ts); only a row must fit one buffer.
  const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (sizes.largestRowBytes > binding) {
    const which = sizes.largestRowBytes > limits.maxStorageBufferBindingSize ? `maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize} bytes` : `maxBufferSize ${limits.maxBufferSize} bytes`;
    return {
      ok: false,
      reason: `${record.id}: one row of tensor ${sizes.largestRowTensor} needs ${sizes.largestRowBytes} bytes in one GPU buffer (rows cannot be split) but this adapter allows ${which}; pick a smaller model`,
      warnings,
    };
  }
  if (sizes.largestTensorBytes > binding) {
    const tensor = `${sizes.largestTensor} (${formatBytes(sizes.largestTensorBytes)})`;
    const limit = formatBytes(binding);
    warnings.push(`${tensor} is larger than one GPU buffer may be (${limit}): it is uploaded in row chunks`);
  }
  if (options.memoryBudgetMB !== undefined && record.vramRequiredMB > options.memoryBudgetMB) {
    return { ok: false, reason: `${record.id} needs about ${Math.ceil(record.vramRequiredMB)} MB of GPU memory (web-llm's figure) but the budget is ${Math.floor(options.memoryBudgetMB)} MB; pick a smaller model`, warnings };
  }
  if (record.arch.unsure.length > 0) warnings.push(`catalog architecture of ${record.id} has unverified fields (${record.arch.unsure.join('; ')}); the downloaded mlc-chat-config.json decides`);
  return { ok: true, reason: '', warnings };
}
