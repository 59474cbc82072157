/**
 * A whole MLC Llama model read into dequantized float32 weights for the CPU reference (tests, the CLI's
 * checks). Every step is validated with an error that names the file: mlc-chat-config.json (architecture,
 * fields), tensor-cache.json or ndarray-cache.json (schema, exact tensor list, shapes, dtypes), each shard
 * (size, md5). Dequantizing a real 1B model this way needs ~5 GB: the reference is for small models.
 *
 * Platform-neutral: files come through a ModelSource (a directory in Node: weights-node.ts; a fetch or
 * Cache API reader in the browser).
 */
import { parseLlamaConfigText, quantizationInfo, type LlamaConfig } from './config';
import { ModelFormatError } from './errors';
import { dequantizeQ4 } from './quant';
import {
  checkFiniteTensors,
  checkLlamaTensors,
  checkShardBytes,
  decodeFloatTensor,
  decodeU32Tensor,
  llamaLayerTensors,
  parseTensorCacheText,
  type TensorCache,
} from './tensor-cache';

/**
 * The most bytes a read may return, and what the file is (for the message). Sources check it before reading
 * where they can (a file's size, a Content-Length, a picked File's size) and stop a stream at it; readModelFile
 * checks what any source returns.
 */
export interface ReadLimit {
  maxBytes: number;
  what: string;
}

/** Where a model's files come from. */
export interface ModelSource {
  /** How errors name a file of this source (e.g. the full path). */
  describe(file: string): string;
  /**
   * The file's bytes, or undefined when it does not exist. `file` is relative to the model's directory; a
   * name that resolves outside it is refused (ModelFormatError), never read.
   */
  read(file: string, limit?: ReadLimit): Promise<Uint8Array | undefined>;
}

const MiB = 1024 * 1024;

/**
 * Caps of a model's small files. Real ones: mlc-chat-config.json ~2 KB, tensor-cache.json ~100 KB (a 70B model
 * ~1 MB), tokenizer.json 2-17 MB (Llama 3: 9 MB). A larger file is not what it claims to be; reading it
 * whole (a 1 GB tokenizer.json) would exhaust memory before any parser could say so.
 */
type SmallModelFile = 'mlc-chat-config.json' | 'tensor-cache.json' | 'ndarray-cache.json' | 'tokenizer.json';

export const MODEL_FILE_LIMITS: Readonly<Record<SmallModelFile, ReadLimit>> = {
  'mlc-chat-config.json': { maxBytes: 1 * MiB, what: 'mlc-chat-config.json (a few KB in any MLC model)' },
  'tensor-cache.json': { maxBytes: 64 * MiB, what: 'the tensor index' },
  'ndarray-cache.json': { maxBytes: 64 * MiB, what: 'the tensor index' },
  'tokenizer.json': { maxBytes: 64 * MiB, what: 'tokenizer.json (Llama 3: 9 MB)' },
};

/** A shard may hold exactly the bytes its index says: more is refused before it is read. */
export function shardLimit(nbytes: number): ReadLimit {
  const what = `this weight shard (tensor-cache.json says ${nbytes} bytes; the file belongs to another model?)`;
  return { maxBytes: nbytes, what };
}

/** The message of a file over its limit (sources use it so every source says the same). */
export function overLimitDetail(size: number, limit: ReadLimit): string {
  return `${size} bytes, over the limit of ${limit.maxBytes} for ${limit.what}`;
}

/** Reads a model file through any source, bounded by `limit` (checked again here, whatever the source did). */
export async function readModelFile(source: ModelSource, file: string, limit: ReadLimit) {
  const bytes = await source.read(file, limit);
  if (bytes && bytes.length > limit.maxBytes) {
    throw new ModelFormatError(source.describe(file), overLimitDetail(bytes.length, limit));
  }
  return bytes;
}

export function outsideModelError(source: Pick<ModelSource, 'describe'>, file: string): ModelFormatError {
  const detail = `the file name ${JSON.stringify(file)} points outside the model's directory`;
  const refused = "the model's index is not valid (refused, nothing was read)";
  return new ModelFormatError(source.describe(''), `${detail}; ${refused}`);
}

/** Files held in memory (make-model's output, tests, files fetched by the app), by name. */
export function memorySource(files: Iterable<{ name: string; bytes: Uint8Array }>, label = 'model'): ModelSource {
  const map = new Map<string, Uint8Array>();
  for (const f of files) map.set(f.name, f.bytes);
  return {
    describe: (file) => `${label}/${file}`,
    read: async (file) => map.get(file),
  };
}

export interface LlamaLayerWeights {
  /** [H] */
  inputNorm: Float32Array;
  /** [(nh + 2 nkv) hd, H]: Q rows, then K, then V. */
  qkv: Float32Array;
  /** [H, nh hd] */
  o: Float32Array;
  /** [H] */
  postNorm: Float32Array;
  /** [2 I, H]: gate rows, then up rows. */
  gateUp: Float32Array;
  /** [H, I] */
  down: Float32Array;
}

export interface LlamaWeights {
  config: LlamaConfig;
  /** [V, H] */
  embed: Float32Array;
  layers: LlamaLayerWeights[];
  /** [H] */
  finalNorm: Float32Array;
  /** [V, H]; the same array as `embed` when the embeddings are tied. */
  lmHead: Float32Array;
}

export interface LoadedModel {
  config: LlamaConfig;
  cache: TensorCache;
  /** "tensor-cache.json" or "ndarray-cache.json". */
  cacheFile: string;
  weights: LlamaWeights;
  /** tokenizer.json bytes when the model has one. */
  tokenizerJson: Uint8Array | undefined;
}

export interface LoadOptions {
  /** Check each shard's md5sum (default true; ~1 s per 100 MB in JS). */
  verifyMd5?: boolean;
}

const decoder = new TextDecoder();

async function requireFile(source: ModelSource, file: string, what: string, limit: ReadLimit): Promise<Uint8Array> {
  const bytes = await readModelFile(source, file, limit);
  if (!bytes) throw new ModelFormatError(source.describe(file), `missing (${what}); is this an MLC model directory?`);
  return bytes;
}

/** Reads the config and the tensor index, whichever name the index has. */
export async function readModelIndex(
  source: ModelSource,
): Promise<{ config: LlamaConfig; cache: TensorCache; cacheFile: string }> {
  const configFile = 'mlc-chat-config.json';
  const what = "the model's architecture and quantization";
  const configBytes = await requireFile(source, configFile, what, MODEL_FILE_LIMITS[configFile]);
  const config = parseLlamaConfigText(decoder.decode(configBytes), source.describe(configFile));
  let cacheFile: 'tensor-cache.json' | 'ndarray-cache.json' = 'tensor-cache.json';
  let cacheBytes = await readModelFile(source, cacheFile, MODEL_FILE_LIMITS[cacheFile]);
  if (!cacheBytes) {
    cacheFile = 'ndarray-cache.json';
    cacheBytes = await readModelFile(source, cacheFile, MODEL_FILE_LIMITS[cacheFile]);
  }
  if (!cacheBytes)
    throw new ModelFormatError(
      source.describe('tensor-cache.json'),
      'missing (nor is there an ndarray-cache.json): the index of the weight shards',
    );
  const cache = parseTensorCacheText(decoder.decode(cacheBytes), source.describe(cacheFile));
  checkLlamaTensors(cache, config, source.describe(cacheFile));
  return { config, cache, cacheFile };
}

/** Reads and checks every shard, by dataPath. */
export async function readShards(
  source: ModelSource,
  cache: TensorCache,
  options: LoadOptions = {},
): Promise<Map<string, Uint8Array>> {
  const shards = new Map<string, Uint8Array>();
  for (const shard of cache.shards) {
    const what = 'a weight shard listed in the tensor cache';
    const bytes = await requireFile(source, shard.dataPath, what, shardLimit(shard.nbytes));
    checkShardBytes(shard, bytes, source.describe(shard.dataPath), options.verifyMd5 ?? true);
    checkFiniteTensors(shard, bytes, source.describe(shard.dataPath));
    shards.set(shard.dataPath, bytes);
  }
  return shards;
}

/** Dequantized float32 weights from a checked cache and its shards. */
export function assembleLlamaWeights(
  config: LlamaConfig,
  cache: TensorCache,
  shards: ReadonlyMap<string, Uint8Array>,
): LlamaWeights {
  const q = quantizationInfo(config.quantization);
  const shardOf = (name: string) => {
    const record = cache.tensors.get(name);
    if (!record) throw new ModelFormatError('tensor-cache.json', `missing tensor "${name}"`);
    const bytes = shards.get(cache.shards[record.shard].dataPath);
    if (!bytes) throw new ModelFormatError(cache.shards[record.shard].dataPath, 'shard not loaded');
    return { record, bytes };
  };
  const float = (name: string) => {
    const { record, bytes } = shardOf(name);
    return decodeFloatTensor(record, bytes);
  };
  /** W [n, k] of a linear layer (or the embedding), dequantized. */
  const linear = (prefix: string, n: number, k: number): Float32Array => {
    if (!q.grouped) return float(`${prefix}.weight`);
    const { record, bytes } = shardOf(`${prefix}.q_weight`);
    return dequantizeQ4(decodeU32Tensor(record, bytes), float(`${prefix}.q_scale`), n, k);
  };
  const { hidden: h, vocabSize: v } = config;
  const embed = linear('model.embed_tokens', v, h);
  const layers: LlamaLayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    const layer = {} as LlamaLayerWeights;
    for (const { field, name, shape } of llamaLayerTensors(config)) {
      const full = `model.layers.${l}.${name}`;
      layer[field] = shape.length === 1 ? float(full) : linear(full, shape[0], shape[1]);
    }
    layers.push(layer);
  }
  return {
    config,
    embed,
    layers,
    finalNorm: float('model.norm.weight'),
    lmHead: config.tieEmbeddings ? embed : linear('lm_head', v, h),
  };
}

/** Config, index, shards and tokenizer of a model, all checked, with dequantized weights. */
export async function loadLlamaModel(source: ModelSource, options: LoadOptions = {}): Promise<LoadedModel> {
  const { config, cache, cacheFile } = await readModelIndex(source);
  const shards = await readShards(source, cache, options);
  const weights = assembleLlamaWeights(config, cache, shards);
  const tokenizerJson = await readModelFile(source, 'tokenizer.json', MODEL_FILE_LIMITS['tokenizer.json']);
  return { config, cache, cacheFile, weights, tokenizerJson };
}
