/**
 * Uploads an MLC Llama model to the GPU, shard by shard: each shard's bytes are read, its tensors are
 * written to their GPU buffers, and the shard is dropped, so the model is never held whole in JS memory.
 *
 * Formats on the GPU: q4 weights keep their packed words; f16 q4 scales and q0f16 weights keep their f16
 * bits (the kernels unpack them); everything stored as bf16 (MLC's "f32-to-bf16") or f32 becomes f32.
 *
 * A tensor larger than one storage binding allows (maxStorageBufferBindingSize, or maxBufferSize; in
 * practice only the vocabulary-sized embedding and lm_head of large models) is split by rows into chunks
 * that each fit, one GPU buffer per chunk; a linear weight's q_weight and q_scale get the same row ranges,
 * and the kernels run once per chunk (kernels/linear.ts). Only a single row too large for a binding is refused.
 */
import { ModelFormatError } from '../model/errors';
import type { LlamaConfig } from '../model/config';
import type { GpuLayerWeights, GpuModelWeights } from './forward';
import { linearBuffers, type DenseChunk, type GpuLinear, type Q4Chunk } from './kernels/linear';
import { gpuBytes } from '../model/catalog';
import {
  decodeFloatTensor,
  elementCount,
  expectedLlamaTensors,
  isBf16Encoded,
  llamaLayerTensors,
  type LayerWeightName,
  type TensorCache,
  type TensorRecord,
} from '../model/tensor-cache';

export interface UploadProgress {
  shardsDone: number;
  shards: number;
  bytesDone: number;
  bytes: number;
}

/** A tensor's GPU buffers (one per row chunk, in row order), and the f16-ness of what was kept as f16. */
interface Uploaded {
  chunks: { rowStart: number; rows: number; buffer: GPUBuffer }[];
  f16: boolean;
}

export interface UploadOptions {
  onProgress?: (progress: UploadProgress) => void;
  /**
   * Bytes one GPU buffer may hold, when smaller than the device's limits (tests force row chunks with it).
   * Default: min(maxStorageBufferBindingSize, maxBufferSize).
   */
  maxBindingBytes?: number;
}

/** The bytes one weight buffer may take on this device: the binding and buffer limits (and a test's cap), in whole words. */
export function bindingLimit(device: GPUDevice, maxBindingBytes?: number): number {
  return wholeWords(
    Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, maxBindingBytes ?? Infinity),
  );
}

/** A byte limit rounded down to whole 4-byte words: what a weight buffer may take under it. */
export function wholeWords(limit: number): number {
  return Math.floor(limit / 4) * 4;
}

/**
 * Splits `rows` rows into chunks of at most floor(limit / rowBytes) rows for every tensor sharing the
 * split (a q4 weight's words and scales: `rowBytes` has one entry per tensor), so that each chunk of each
 * tensor fits `limit` bytes. All chunks but the last are full; a tensor that fits is one chunk. Throws when
 * one row alone exceeds the limit: no split by rows can help then.
 */
export function planRowChunks(
  name: string,
  rows: number,
  rowBytes: readonly number[],
  limit: number,
): { rowStart: number; rows: number }[] {
  const widest = Math.max(...rowBytes);
  if (widest > limit) {
    throw new ModelFormatError(
      name,
      `has rows of ${widest} bytes but this adapter allows ${limit} bytes per GPU buffer (maxStorageBufferBindingSize / maxBufferSize), and a row cannot be split; use a smaller model or a GPU with larger limits`,
    );
  }
  const perChunk = Math.max(1, Math.floor(limit / Math.max(1, widest)));
  const chunks: { rowStart: number; rows: number }[] = [];
  for (let rowStart = 0; rowStart < rows || chunks.length === 0; rowStart += perChunk)
    chunks.push({ rowStart, rows: Math.min(perChunk, rows - rowStart) });
  return chunks;
}

/**
 * Rows of a tensor as split (a 1-D tensor is one row) and the bytes of one row on the GPU, given the bytes of
 * one element there. Shared with the memory planner, which knows a tensor's shape and GPU dtype, not its record.
 */
export function gpuRowsOf(shape: readonly number[], gpuElementBytes: number): { rows: number; rowBytes: number } {
  const rows = shape.length >= 2 ? shape[0] : 1;
  return { rows, rowBytes: (elementCount(shape) * gpuElementBytes) / rows };
}

/** gpuRowsOf a record: kept raw, its stored element size (u32 words, f16 scales); decoded, f32. */
function gpuRows(record: TensorRecord): { rows: number; rowBytes: number } {
  return gpuRowsOf(record.shape, keptRaw(record) ? record.nbytes / elementCount(record.shape) : 4);
}

/** The name that groups a tensor with those split alike: a linear weight's prefix (its q_weight and q_scale). */
function splitGroup(name: string): string {
  return name.replace(/\.(q_weight|q_scale|weight)$/, '');
}

/** A tensor as the upload splits it: its rows (a 1-D tensor is one row) and the bytes of one row on the GPU. */
export interface RowTensor {
  name: string;
  rows: number;
  rowBytes: number;
}

/**
 * Each tensor's row chunks: per group (one linear weight's q_weight and q_scale), the same rows for every tensor
 * in it. Shared by the upload and by the memory planner (memory-plan.ts), so both split alike.
 */
export function planWeightChunks(
  tensors: Iterable<RowTensor>,
  limit: number,
): Map<string, { rowStart: number; rows: number }[]> {
  const groups = new Map<string, RowTensor[]>();
  for (const t of tensors) {
    const group = splitGroup(t.name);
    groups.set(group, [...(groups.get(group) ?? []), t]);
  }
  const plan = new Map<string, { rowStart: number; rows: number }[]>();
  for (const [group, members] of groups) {
    // A linear weight's tensors share N rows, so one plan fits all; anything else that met here is planned alone.
    if (members.every((t) => t.rows === members[0].rows)) {
      const chunks = planRowChunks(
        group,
        members[0].rows,
        members.map((t) => t.rowBytes),
        limit,
      );
      for (const t of members) plan.set(t.name, chunks);
    } else {
      for (const t of members) plan.set(t.name, planRowChunks(t.name, t.rows, [t.rowBytes], limit));
    }
  }
  return plan;
}

/** The upload's chunks of every tensor of the cache. */
function planUpload(cache: TensorCache, limit: number): Map<string, { rowStart: number; rows: number }[]> {
  return planWeightChunks(
    [...cache.tensors.values()].map((record) => ({ name: record.name, ...gpuRows(record) })),
    limit,
  );
}

/** Bytes of the GPU buffer of `rows` rows: whole words, at least one (uploadTensor's rounding). */
export function chunkBufferBytes(rows: number, rowBytes: number): number {
  return Math.max(4, Math.ceil((rows * rowBytes) / 4) * 4);
}

export async function uploadLlamaWeights(
  device: GPUDevice,
  config: LlamaConfig,
  cache: TensorCache,
  readShard: (index: number) => Promise<Uint8Array>,
  invFreq: Float32Array,
  options: UploadOptions = {},
): Promise<GpuModelWeights> {
  const plan = planUpload(cache, bindingLimit(device, options.maxBindingBytes));
  const uploaded = new Map<string, Uploaded>();
  const totalBytes = cache.shards.reduce((sum, s) => sum + s.nbytes, 0);
  let bytesDone = 0;
  try {
    for (let s = 0; s < cache.shards.length; s++) {
      const shard = cache.shards[s];
      const bytes = await readShard(s);
      for (const record of shard.tensors)
        uploaded.set(record.name, uploadTensor(device, record, bytes, plan.get(record.name)!));
      bytesDone += shard.nbytes;
      options.onProgress?.({ shardsDone: s + 1, shards: cache.shards.length, bytesDone, bytes: totalBytes });
    }
    return assemble(config, uploaded, invFreq);
  } catch (error) {
    for (const u of uploaded.values()) u.chunks.forEach((c) => c.buffer.destroy());
    throw error;
  }
}

/**
 * Kept as stored: packed q4 words, and f16 matrices (q4 scales, q0f16 weights), which the kernels unpack.
 * Widened to f32: everything else (bf16-encoded tensors, f32, and 1-D f16 norms, which are tiny).
 */
function keptRaw(record: TensorRecord): boolean {
  return (
    record.dtype === 'uint32' || (record.dtype === 'float16' && !isBf16Encoded(record) && record.shape.length === 2)
  );
}

/** One GPU buffer per row chunk of `chunks` (the whole tensor when one chunk), each rounded up to whole words. */
function uploadTensor(
  device: GPUDevice,
  record: TensorRecord,
  shardBytes: Uint8Array,
  chunks: { rowStart: number; rows: number }[],
): Uploaded {
  const keepRaw = keptRaw(record);
  const data = keepRaw
    ? shardBytes.subarray(record.byteOffset, record.byteOffset + record.nbytes)
    : new Uint8Array(decodeFloatTensor(record, shardBytes).buffer);
  const { rowBytes } = gpuRows(record);
  const uploaded: Uploaded = { chunks: [], f16: keepRaw && record.dtype === 'float16' };
  try {
    for (const { rowStart, rows } of chunks) {
      const part = data.subarray(rowStart * rowBytes, (rowStart + rows) * rowBytes);
      const label = chunks.length > 1 ? `${record.name} rows ${rowStart}..${rowStart + rows}` : record.name;
      const size = chunkBufferBytes(rows, rowBytes);
      const buffer = device.createBuffer({
        label,
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
        mappedAtCreation: true,
      });
      new Uint8Array(buffer.getMappedRange()).set(part);
      buffer.unmap();
      uploaded.chunks.push({ rowStart, rows, buffer });
    }
  } catch (error) {
    uploaded.chunks.forEach((c) => c.buffer.destroy());
    throw error;
  }
  return uploaded;
}

function assemble(config: LlamaConfig, uploaded: Map<string, Uploaded>, invFreq: Float32Array): GpuModelWeights {
  const get = (name: string): Uploaded => {
    const u = uploaded.get(name);
    if (!u)
      throw new ModelFormatError(
        'tensor-cache.json',
        `has no tensor ${name}; the model is incomplete, download it again`,
      );
    return u;
  };
  const grouped = config.quantization.startsWith('q4');
  const linear = (prefix: string, outDim: number, inDim: number): GpuLinear => {
    if (grouped) {
      const scales = get(`${prefix}.q_scale`);
      const words = get(`${prefix}.q_weight`);
      // planUpload gave both the same row chunks.
      const chunks: Q4Chunk[] = words.chunks.map((c, i) => ({
        rowStart: c.rowStart,
        rows: c.rows,
        qWeight: c.buffer,
        scales: scales.chunks[i].buffer,
      }));
      return { format: 'q4', chunks, scaleF16: scales.f16, outDim, inDim };
    }
    const weight = get(`${prefix}.weight`);
    const chunks: DenseChunk[] = weight.chunks.map((c) => ({ rowStart: c.rowStart, rows: c.rows, weight: c.buffer }));
    return { format: 'dense', chunks, f16: weight.f16, outDim, inDim };
  };
  const norm = (name: string): GPUBuffer => get(name).chunks[0].buffer; // always f32 (keptRaw keeps only matrices), one row
  const { hidden: D, vocabSize: V } = config;
  const layers: GpuLayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    const layer: Partial<Record<LayerWeightName, GPUBuffer | GpuLinear>> = {};
    for (const { field, name, shape } of llamaLayerTensors(config)) {
      const full = `model.layers.${l}.${name}`;
      layer[field] = shape.length === 1 ? norm(full) : linear(full, shape[0], shape[1]);
    }
    layers.push(layer as GpuLayerWeights);
  }
  const embed = linear('model.embed_tokens', V, D);
  return {
    shape: config,
    invFreq,
    embed,
    layers,
    finalNorm: norm('model.norm.weight'),
    lmHead: config.tieEmbeddings ? embed : linear('lm_head', V, D),
  };
}

/**
 * The model's GPU buffers, split into row chunks as the upload splits them, without contents: for a recording
 * device (gpu/recording-device.ts, `twosome bench plan`), which counts what the engine does with a model it
 * never downloads. Sizes and formats are those of the config's tensors (tensor-cache.ts expectedLlamaTensors).
 */
export function reserveLlamaWeights(
  device: GPUDevice,
  config: LlamaConfig,
  invFreq: Float32Array,
  maxBindingBytes?: number,
): GpuModelWeights {
  const tensors = expectedLlamaTensors(config).map((t) => ({
    ...t,
    ...gpuRowsOf(t.shape, gpuBytes(t.dtype, t.shape)),
  }));
  const plan = planWeightChunks(tensors, bindingLimit(device, maxBindingBytes));
  const reserved = new Map<string, Uploaded>();
  for (const t of tensors) {
    const chunks = plan.get(t.name)!.map(({ rowStart, rows }) => {
      const buffer = device.createBuffer({
        label: t.name,
        size: chunkBufferBytes(rows, t.rowBytes),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      return { rowStart, rows, buffer };
    });
    reserved.set(t.name, { chunks, f16: t.dtype === 'float16' && t.shape.length === 2 });
  }
  return assemble(config, reserved, invFreq);
}

/** Total bytes the model's weights take on the GPU after upload (f32 widening included). */
export function gpuWeightBytes(cache: TensorCache): number {
  let total = 0;
  for (const record of cache.tensors.values()) {
    total += keptRaw(record) ? record.nbytes : elementCount(record.shape) * 4;
  }
  return total;
}

/** Frees every buffer of an uploaded model. */
export function destroyGpuWeights(model: GpuModelWeights): void {
  const seen = new Set<GPUBuffer>();
  const add = (b: GPUBuffer) => seen.add(b);
  const addLinear = (w: GpuLinear) => linearBuffers(w).forEach(add);
  addLinear(model.embed);
  addLinear(model.lmHead);
  add(model.finalNorm);
  for (const l of model.layers) {
    add(l.inputNorm);
    add(l.postNorm);
    [l.qkv, l.o, l.gateUp, l.down].forEach(addLinear);
  }
  seen.forEach((b) => b.destroy());
}
