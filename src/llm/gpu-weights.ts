/**
 * Uploads an MLC Llama model to the GPU, shard by shard: each shard's bytes are read, its tensors are
 * written to their GPU buffers, and the shard is dropped, so the model is never held whole in JS memory.
 *
 * Formats on the GPU: q4 weights keep their packed words; f16 q4 scales and q0f16 weights keep their f16
 * bits (the kernels unpack them); everything stored as bf16 (MLC's "f32-to-bf16") or f32 becomes f32.
 */
import { ModelFormatError } from './errors';
import type { LlamaConfig } from './config';
import type { GpuLayerWeights, GpuModelWeights } from './forward';
import type { GpuLinear } from './kernels/linear';
import { decodeFloatTensor, elementCount, isBf16Encoded, type TensorCache, type TensorRecord } from './tensor-cache';

export interface UploadProgress {
  shardsDone: number;
  shards: number;
  bytesDone: number;
  bytes: number;
}

/** A GPU buffer per tensor name, and the f16-ness of what was kept as f16. */
interface Uploaded {
  buffer: GPUBuffer;
  f16: boolean;
}

export async function uploadLlamaWeights(
  device: GPUDevice,
  config: LlamaConfig,
  cache: TensorCache,
  readShard: (index: number) => Promise<Uint8Array>,
  invFreq: Float32Array,
  onProgress?: (progress: UploadProgress) => void,
): Promise<GpuModelWeights> {
  const maxBinding = device.limits.maxStorageBufferBindingSize;
  const uploaded = new Map<string, Uploaded>();
  const totalBytes = cache.shards.reduce((sum, s) => sum + s.nbytes, 0);
  let bytesDone = 0;
  try {
    for (let s = 0; s < cache.shards.length; s++) {
      const shard = cache.shards[s];
      const bytes = await readShard(s);
      for (const record of shard.tensors) uploaded.set(record.name, uploadTensor(device, record, bytes, maxBinding));
      bytesDone += shard.nbytes;
      onProgress?.({ shardsDone: s + 1, shards: cache.shards.length, bytesDone, bytes: totalBytes });
    }
    return assemble(config, uploaded, invFreq);
  } catch (error) {
    for (const u of uploaded.values()) u.buffer.destroy();
    throw error;
  }
}

/**
 * Kept as stored: packed q4 words, and f16 matrices (q4 scales, q0f16 weights), which the kernels unpack.
 * Widened to f32: everything else (bf16-encoded tensors, f32, and 1-D f16 norms, which are tiny).
 */
function keptRaw(record: TensorRecord): boolean {
  return record.dtype === 'uint32' || (record.dtype === 'float16' && !isBf16Encoded(record) && record.shape.length === 2);
}

function uploadTensor(device: GPUDevice, record: TensorRecord, shardBytes: Uint8Array, maxBinding: number): Uploaded {
  const keepRaw = keptRaw(record);
  const data = keepRaw ? shardBytes.subarray(record.byteOffset, record.byteOffset + record.nbytes) : new Uint8Array(decodeFloatTensor(record, shardBytes).buffer);
  if (data.byteLength > maxBinding) {
    throw new ModelFormatError(
      record.name,
      `needs ${data.byteLength} bytes in one GPU binding but this adapter allows ${maxBinding}; use a smaller model or a GPU with a larger maxStorageBufferBindingSize`,
    );
  }
  const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buffer = device.createBuffer({ label: record.name, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(data);
  buffer.unmap();
  return { buffer, f16: keepRaw && record.dtype === 'float16' };
}

function assemble(config: LlamaConfig, uploaded: Map<string, Uploaded>, invFreq: Float32Array): GpuModelWeights {
  const get = (name: string): Uploaded => {
    const u = uploaded.get(name);
    if (!u) throw new ModelFormatError('tensor-cache.json', `has no tensor ${name}; the model is incomplete, download it again`);
    return u;
  };
  const grouped = config.quantization.startsWith('q4');
  const linear = (prefix: string, outDim: number, inDim: number): GpuLinear => {
    if (grouped) {
      const scales = get(`${prefix}.q_scale`);
      return { format: 'q4', qWeight: get(`${prefix}.q_weight`).buffer, scales: scales.buffer, scaleF16: scales.f16, outDim, inDim };
    }
    const weight = get(`${prefix}.weight`);
    return { format: 'dense', weight: weight.buffer, f16: weight.f16, outDim, inDim };
  };
  const norm = (name: string): GPUBuffer => get(name).buffer; // always f32 (keptRaw keeps only matrices)
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, vocabSize: V } = config;
  const layers: GpuLayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      inputNorm: norm(`${p}.input_layernorm.weight`),
      qkv: linear(`${p}.self_attn.qkv_proj`, (H + 2 * KVH) * hd, D),
      o: linear(`${p}.self_attn.o_proj`, D, H * hd),
      postNorm: norm(`${p}.post_attention_layernorm.weight`),
      gateUp: linear(`${p}.mlp.gate_up_proj`, 2 * I, D),
      down: linear(`${p}.mlp.down_proj`, D, I),
    });
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
  const addLinear = (w: GpuLinear) => (w.format === 'q4' ? (add(w.qWeight), add(w.scales)) : add(w.weight));
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
