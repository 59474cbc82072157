/**
 * `tensor-cache.json` (older conversions: `ndarray-cache.json`, same schema): the index of an MLC model's
 * weight shards. Parsing, validation, decoding of one tensor's bytes, the list of tensors a Llama config
 * needs, and the check that a cache provides exactly those. Platform-neutral.
 *
 * Schema (tvmjs dump_ndarray_cache, as web-llm reads it):
 *   { metadata: { ParamSize, ParamBytes, BitsPerParam },
 *     records: [ { dataPath: "params_shard_0.bin", format: "raw-shard", nbytes, md5sum,
 *                  records: [ { name, shape: [..], dtype, format, nbytes, byteOffset } ] } ] }
 * Decoding: a record with dtype "float32" and format "f32-to-bf16" holds bf16 (2 bytes per element, widened
 * by << 16); every other record is raw little-endian in its dtype. The format label alone is not reliable:
 * converters write "f32-to-bf16" on uint32 and float16 records too, and those are raw.
 */
import { quantizationInfo, type LlamaConfig } from './config';
import { isJsonObject, ModelFormatError, modelJsonRoot, parseModelJson } from './errors';
import { md5Hex } from './md5';
import { isContainedModelPath } from '../../util/model-path';
import { bf16ArrayToF32, f16ArrayToF32 } from './quant';

export type TensorDtype =
  'float32' | 'float16' | 'bfloat16' | 'uint32' | 'int32' | 'uint16' | 'int16' | 'uint8' | 'int8';

const DTYPE_BYTES: Record<TensorDtype, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  uint32: 4,
  int32: 4,
  uint16: 2,
  int16: 2,
  uint8: 1,
  int8: 1,
};

export interface TensorRecord {
  name: string;
  shape: number[];
  dtype: TensorDtype;
  /** "raw" or "f32-to-bf16" (see the file comment for when the latter means bf16). */
  format: string;
  nbytes: number;
  byteOffset: number;
  /** Index of its shard in TensorCache.shards. */
  shard: number;
}

export interface ShardRecord {
  dataPath: string;
  format: string;
  nbytes: number;
  /** Lowercase hex, or undefined where the cache gives none. */
  md5sum: string | undefined;
  tensors: TensorRecord[];
}

export interface TensorCache {
  metadata: Record<string, unknown>;
  shards: ShardRecord[];
  /** Every tensor by name. */
  tensors: Map<string, TensorRecord>;
}

/** True where the stored bytes are bf16 standing for a float32 tensor. */
export function isBf16Encoded(record: Pick<TensorRecord, 'dtype' | 'format'>): boolean {
  return record.dtype === 'float32' && record.format === 'f32-to-bf16';
}

/** Bytes per stored element (2 for f32-to-bf16 float32 records). */
export function storedElementBytes(record: Pick<TensorRecord, 'dtype' | 'format'>): number {
  return isBf16Encoded(record) ? 2 : DTYPE_BYTES[record.dtype];
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function parseTensorCacheText(text: string, file = 'tensor-cache.json'): TensorCache {
  return parseTensorCache(parseModelJson(text, file), file);
}

/** Parses and validates the index (not the shard bytes: see checkShardBytes). */
export function parseTensorCache(json: unknown, file = 'tensor-cache.json'): TensorCache {
  const { root, fail } = modelJsonRoot(json, file, 'a JSON object with "records"');
  if (!Array.isArray(root.records)) fail('missing "records" (the list of shards)');
  const shards: ShardRecord[] = [];
  const tensors = new Map<string, TensorRecord>();
  const dataPaths = new Set<string>();
  (root.records as unknown[]).forEach((rawShard, shardIndex) => {
    const where = `records[${shardIndex}]`;
    if (!isJsonObject(rawShard)) fail(`${where} must be an object`);
    const shard = rawShard as Record<string, unknown>;
    if (typeof shard.dataPath !== 'string' || shard.dataPath === '') fail(`${where} has no "dataPath"`);
    const dataPath = shard.dataPath as string;
    // A dataPath such as "../other-model/x.bin", "/etc/passwd" or "https://elsewhere/x" would read outside
    // the model: the index names files inside it only.
    if (!isContainedModelPath(dataPath)) {
      const shown = JSON.stringify(dataPath.slice(0, 200));
      const inside = 'a file name inside the model\'s directory (no "..", no absolute path or URL)';
      fail(`${where} "dataPath" ${shown} is not ${inside}`);
    }
    if (dataPaths.has(dataPath)) fail(`shard "${dataPath}" is listed twice`);
    dataPaths.add(dataPath);
    if (shard.format !== undefined && shard.format !== 'raw-shard')
      fail(`shard "${dataPath}" has format ${JSON.stringify(shard.format)}; only "raw-shard" is supported`);
    if (!isCount(shard.nbytes)) fail(`shard "${dataPath}": "nbytes" must be a non-negative integer`);
    const md5 = shard.md5sum;
    if (md5 !== undefined && (typeof md5 !== 'string' || !/^[0-9a-fA-F]{32}$/.test(md5)))
      fail(`shard "${dataPath}": "md5sum" must be 32 hex digits`);
    if (!Array.isArray(shard.records)) fail(`shard "${dataPath}" has no "records" (its tensors)`);
    const list: TensorRecord[] = [];
    (shard.records as unknown[]).forEach((rawTensor, tensorIndex) => {
      const tw = `shard "${dataPath}" records[${tensorIndex}]`;
      if (!isJsonObject(rawTensor)) fail(`${tw} must be an object`);
      const t = rawTensor as Record<string, unknown>;
      if (typeof t.name !== 'string' || t.name === '') fail(`${tw} has no "name"`);
      const name = t.name as string;
      if (tensors.has(name)) fail(`tensor "${name}" appears twice (duplicate name)`);
      if (!Array.isArray(t.shape) || !t.shape.every(isCount))
        fail(`tensor "${name}": "shape" must be a list of non-negative integers`);
      if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES))
        fail(
          `tensor "${name}": unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`,
        );
      if (!isCount(t.nbytes)) fail(`tensor "${name}": "nbytes" must be a non-negative integer`);
      if (!isCount(t.byteOffset)) fail(`tensor "${name}": "byteOffset" must be a non-negative integer`);
      const record: TensorRecord = {
        name,
        shape: [...(t.shape as number[])],
        dtype: t.dtype as TensorDtype,
        format: typeof t.format === 'string' ? t.format : 'raw',
        nbytes: t.nbytes as number,
        byteOffset: t.byteOffset as number,
        shard: shardIndex,
      };
      const expected = elementCount(record.shape) * storedElementBytes(record);
      if (record.nbytes !== expected) {
        fail(
          `tensor "${name}": nbytes ${record.nbytes} does not match shape [${record.shape.join(', ')}] x ${storedElementBytes(record)} bytes (${record.dtype}${isBf16Encoded(record) ? ' stored as bf16' : ''}) = ${expected}`,
        );
      }
      if (record.byteOffset + record.nbytes > (shard.nbytes as number)) {
        fail(
          `tensor "${name}": bytes [${record.byteOffset}, ${record.byteOffset + record.nbytes}) run past the end of shard "${dataPath}" (${shard.nbytes as number} bytes)`,
        );
      }
      tensors.set(name, record);
      list.push(record);
    });
    const sorted = [...list].sort((a, b) => a.byteOffset - b.byteOffset);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].byteOffset < sorted[i - 1].byteOffset + sorted[i - 1].nbytes)
        fail(`tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap in shard "${dataPath}"`);
    }
    shards.push({
      dataPath,
      format: 'raw-shard',
      nbytes: shard.nbytes as number,
      md5sum: typeof md5 === 'string' ? md5.toLowerCase() : undefined,
      tensors: list,
    });
  });
  return { metadata: isJsonObject(root.metadata) ? root.metadata : {}, shards, tensors };
}

/**
 * Checks a shard's bytes against its record: exact size (a short file is a truncated download), then the
 * md5sum when present and `verifyMd5` is set. `file` is how the error names it (e.g. the full path).
 */
export function checkShardBytes(shard: ShardRecord, bytes: Uint8Array, file = shard.dataPath, verifyMd5 = true): void {
  if (bytes.length < shard.nbytes) {
    throw new ModelFormatError(
      file,
      `truncated: ${bytes.length} bytes, tensor-cache.json says ${shard.nbytes}; the download is incomplete, fetch the file again`,
    );
  }
  if (bytes.length > shard.nbytes) {
    throw new ModelFormatError(
      file,
      `size mismatch: ${bytes.length} bytes, tensor-cache.json says ${shard.nbytes}; the file does not belong to this tensor-cache.json`,
    );
  }
  if (verifyMd5 && shard.md5sum !== undefined) {
    const actual = md5Hex(bytes);
    if (actual !== shard.md5sum)
      throw new ModelFormatError(
        file,
        `md5 mismatch: got ${actual}, tensor-cache.json says ${shard.md5sum}; the file is corrupt, fetch it again`,
      );
  }
}

/**
 * Checks every float tensor of a shard for NaN and infinities. A corrupt conversion or a tampered file would
 * otherwise surface far from its cause ("logit 0 is NaN"); here the message names the tensor. Quantized
 * weights (uint32) cannot hold one. Costs a pass over the float tensors' bits (the q4 scales: ~1/9 of a shard).
 */
export function checkFiniteTensors(shard: ShardRecord, bytes: Uint8Array, file = shard.dataPath): void {
  for (const t of shard.tensors) {
    const at = firstNonFinite(t, bytes);
    if (at >= 0) {
      const detail = `holds a non-finite value (NaN or infinity) at element ${at}`;
      const what = 'the weights are corrupt: download or convert the model again';
      throw new ModelFormatError(file, `tensor "${t.name}" ${detail}; ${what}`);
    }
  }
}

/** Index of the first NaN or infinity of a float tensor (by its exponent bits: all ones), or -1. */
function firstNonFinite(t: TensorRecord, bytes: Uint8Array): number {
  const half = isBf16Encoded(t) || t.dtype === 'bfloat16' ? 0x7f80 : t.dtype === 'float16' ? 0x7c00 : 0;
  if (half === 0 && t.dtype !== 'float32') return -1;
  const start = bytes.byteOffset + t.byteOffset;
  // Views need aligned offsets: a tensor at an odd offset is copied first.
  const copy = () => bytes.slice(t.byteOffset, t.byteOffset + t.nbytes).buffer;
  if (half !== 0) {
    const words = start % 2 === 0 ? new Uint16Array(bytes.buffer, start, t.nbytes / 2) : new Uint16Array(copy());
    for (let i = 0; i < words.length; i++) if ((words[i] & half) === half) return i;
    return -1;
  }
  const words = start % 4 === 0 ? new Uint32Array(bytes.buffer, start, t.nbytes / 4) : new Uint32Array(copy());
  for (let i = 0; i < words.length; i++) if ((words[i] & 0x7f800000) === 0x7f800000) return i;
  return -1;
}

/** Copies a record's bytes out of its shard (so typed-array views are aligned whatever the offset). */
function tensorBytes(record: TensorRecord, shardBytes: Uint8Array): Uint8Array {
  if (record.byteOffset + record.nbytes > shardBytes.length) {
    throw new ModelFormatError(
      record.name,
      `needs bytes up to ${record.byteOffset + record.nbytes} but its shard has ${shardBytes.length}`,
    );
  }
  return shardBytes.slice(record.byteOffset, record.byteOffset + record.nbytes);
}

/** Float tensors (float32 raw or f32-to-bf16, float16, bfloat16) as float32 values. */
export function decodeFloatTensor(record: TensorRecord, shardBytes: Uint8Array): Float32Array {
  const bytes = tensorBytes(record, shardBytes);
  if (isBf16Encoded(record) || record.dtype === 'bfloat16') return bf16ArrayToF32(new Uint16Array(bytes.buffer));
  if (record.dtype === 'float16') return f16ArrayToF32(new Uint16Array(bytes.buffer));
  if (record.dtype === 'float32') return new Float32Array(bytes.buffer);
  throw new ModelFormatError(record.name, `is ${record.dtype}, expected a float tensor`);
}

/** uint32 tensors (q4 q_weight) as stored. */
export function decodeU32Tensor(record: TensorRecord, shardBytes: Uint8Array): Uint32Array {
  if (record.dtype !== 'uint32') throw new ModelFormatError(record.name, `is ${record.dtype}, expected uint32`);
  return new Uint32Array(tensorBytes(record, shardBytes).buffer);
}

export function decodeTensor(record: TensorRecord, shardBytes: Uint8Array): Float32Array | Uint32Array {
  return record.dtype === 'uint32' ? decodeU32Tensor(record, shardBytes) : decodeFloatTensor(record, shardBytes);
}

// ---------------------------------------------------------------------------------------------------------
// What a Llama model must contain.

export interface ExpectedTensor {
  name: string;
  shape: number[];
  dtype: TensorDtype;
}

/** A linear weight W [N out, K in] under the config's quantization: q_weight + q_scale, or .weight. */
export function linearTensorNames(prefix: string, config: LlamaConfig, n: number, k: number): ExpectedTensor[] {
  const q = quantizationInfo(config.quantization);
  if (q.grouped) {
    return [
      { name: `${prefix}.q_weight`, shape: [n, k / 8], dtype: 'uint32' },
      { name: `${prefix}.q_scale`, shape: [n, k / q.groupSize], dtype: q.modelDtype },
    ];
  }
  return [{ name: `${prefix}.weight`, shape: [n, k], dtype: q.modelDtype }];
}

/** The weights of one decoder layer, by the field names of LlamaLayerWeights (weights.ts). */
export type LayerWeightName = 'inputNorm' | 'qkv' | 'o' | 'postNorm' | 'gateUp' | 'down';

/** A weight of one decoder layer: its field, its MLC name under model.layers.i, its shape. */
export interface LayerTensor {
  field: LayerWeightName;
  /** The norm's tensor name, or the linear's prefix (its tensors: linearTensorNames). */
  name: string;
  /** [H] for a norm; [out, in] for a linear (llm.c style: W [out, in]). */
  shape: [number] | [number, number];
}

/**
 * One decoder layer's weights in MLC's order, the one list that the tensor index (expectedLlamaTensors), the
 * CPU weights (weights.ts) and the random models (make-model.ts) follow.
 */
export function llamaLayerTensors(config: LlamaConfig): LayerTensor[] {
  const { hidden: h, intermediate: i, heads, kvHeads, headDim: hd } = config;
  return [
    { field: 'inputNorm', name: 'input_layernorm.weight', shape: [h] },
    { field: 'qkv', name: 'self_attn.qkv_proj', shape: [(heads + 2 * kvHeads) * hd, h] },
    { field: 'o', name: 'self_attn.o_proj', shape: [h, heads * hd] },
    { field: 'postNorm', name: 'post_attention_layernorm.weight', shape: [h] },
    { field: 'gateUp', name: 'mlp.gate_up_proj', shape: [2 * i, h] },
    { field: 'down', name: 'mlp.down_proj', shape: [h, i] },
  ];
}

/**
 * Every tensor of a Llama model in MLC's naming and order (embedding, layers, final norm, lm_head when
 * untied), with shapes (llm.c style: W [out, in]):
 *   model.embed_tokens            [V, H]
 *   model.layers.i.input_layernorm.weight           [H]
 *   model.layers.i.self_attn.qkv_proj             [(nh + 2 nkv) hd, H]   Q rows, then K, then V
 *   model.layers.i.self_attn.o_proj               [H, nh hd]
 *   model.layers.i.post_attention_layernorm.weight  [H]
 *   model.layers.i.mlp.gate_up_proj               [2 I, H]                gate rows, then up rows
 *   model.layers.i.mlp.down_proj                  [H, I]
 *   model.norm.weight                             [H]
 *   lm_head                                       [V, H]                  only when not tied
 */
export function expectedLlamaTensors(config: LlamaConfig): ExpectedTensor[] {
  const q = quantizationInfo(config.quantization);
  const { hidden: h, vocabSize: v } = config;
  const norm = (name: string): ExpectedTensor => ({ name, shape: [h], dtype: q.modelDtype });
  const list: ExpectedTensor[] = [...linearTensorNames('model.embed_tokens', config, v, h)];
  for (let l = 0; l < config.layers; l++) {
    for (const { name, shape } of llamaLayerTensors(config)) {
      const full = `model.layers.${l}.${name}`;
      if (shape.length === 1) list.push(norm(full));
      else list.push(...linearTensorNames(full, config, shape[0], shape[1]));
    }
  }
  list.push(norm('model.norm.weight'));
  if (!config.tieEmbeddings) list.push(...linearTensorNames('lm_head', config, v, h));
  return list;
}

/**
 * Checks that the cache holds exactly the tensors `config` needs, with the right shapes and dtypes. Errors
 * name the tensor and the expected vs found shape/dtype.
 */
export function checkLlamaTensors(cache: TensorCache, config: LlamaConfig, file = 'tensor-cache.json'): void {
  const expected = expectedLlamaTensors(config);
  const expectedNames = new Set(expected.map((t) => t.name));
  for (const want of expected) {
    const found = cache.tensors.get(want.name);
    if (!found) {
      const hint =
        want.name === 'lm_head.q_weight' || want.name === 'lm_head.weight'
          ? ' (mlc-chat-config.json says tie_word_embeddings is false)'
          : '';
      throw new ModelFormatError(
        file,
        `missing tensor "${want.name}" [${want.shape.join(', ')}] ${want.dtype}${hint}; the weights do not match mlc-chat-config.json (${config.quantization})`,
      );
    }
    if (found.shape.length !== want.shape.length || found.shape.some((d, i) => d !== want.shape[i])) {
      throw new ModelFormatError(
        file,
        `tensor "${want.name}" has shape [${found.shape.join(', ')}], expected [${want.shape.join(', ')}] from mlc-chat-config.json`,
      );
    }
    if (found.dtype !== want.dtype) {
      throw new ModelFormatError(
        file,
        `tensor "${want.name}" has dtype ${found.dtype}, expected ${want.dtype} for ${config.quantization}`,
      );
    }
  }
  for (const name of cache.tensors.keys()) {
    if (!expectedNames.has(name)) {
      const hint = name.startsWith('lm_head') ? ' (mlc-chat-config.json says tie_word_embeddings is true)' : '';
      throw new ModelFormatError(
        file,
        `unexpected tensor "${name}"${hint}; the weights do not match mlc-chat-config.json`,
      );
    }
  }
}
