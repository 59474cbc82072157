/**
 * Minimal PEFT/safetensors export of a trained run (the full import/export with validation lives in
 * src/share/; this is what the trainer needs to write its outputs and the CLI's `eval --adapter` to read them):
 *
 * - safetensors: u64 LE header length N, N bytes of JSON header (space-padded so 8 + N is a multiple of 8),
 *   then the tensors' bytes, little-endian, row-major; data_offsets relative to the end of the header.
 * - PEFT LoRA (peft_type LORA, task_type CAUSAL_LM): `adapter_config.json` and `adapter_model.safetensors` with
 *   `base_model.model.model.layers.{i}.self_attn.{q,v}_proj.lora_{A,B}.weight`, A [r, in], B [out, r], float32
 *   (targets in mlp.* for gate/up/down).
 * - the critic head as `critic.safetensors`: `critic.{2l}.weight` [out, in] per Linear (the indices of an
 *   nn.Sequential with ReLUs between), float32.
 */
import { loraSlice, LORA_TARGETS, type LoraAdapter, type LoraModule, type LoraTarget } from '../llm/lora';
import type { LlamaConfig } from '../llm/config';

export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function f32Bytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/** safetensors bytes of float32 tensors (sorted by name), with optional string metadata. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> | null = { format: 'pt' }): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of sorted) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`${t.name}: shape [${t.shape.join(', ')}] holds ${count} values, got ${t.data.length}`);
    if (t.name in header) throw new Error(`tensor ${t.name} is listed twice`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  const jsonBytes = () => new TextEncoder().encode(json);
  while ((8 + jsonBytes().length) % 8 !== 0) json += ' ';
  const headerBytes = jsonBytes();
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of sorted) {
    out.set(f32Bytes(t.data), at);
    at += t.data.length * 4;
  }
  return out;
}

/** The F32 tensors of a safetensors file (other dtypes are refused), and its metadata. */
export function decodeSafetensors(bytes: Uint8Array, file = 'safetensors file'): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error(`${file}: too short to be safetensors`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (!(n > 1 && 8 + n <= bytes.length)) throw new Error(`${file}: bad header length ${n}`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new Error(`${file}: the header is not valid JSON`);
  }
  const base = 8 + n;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (e.dtype !== 'F32') throw new Error(`${file}: tensor ${name} is ${String(e.dtype)}; only F32 is read here`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = e.data_offsets;
    if (!(Number.isInteger(begin) && end - begin === count * 4 && base + end <= bytes.length)) throw new Error(`${file}: tensor ${name} has bad offsets`);
    const data = new Float32Array(count);
    const tv = new DataView(bytes.buffer, bytes.byteOffset + base + begin, count * 4);
    for (let i = 0; i < count; i++) data[i] = tv.getFloat32(i * 4, true);
    tensors.set(name, { name, shape: e.shape.slice(), data });
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------------------
// PEFT adapter

function parentOf(target: LoraTarget): 'self_attn' | 'mlp' {
  return target === 'gate_proj' || target === 'up_proj' || target === 'down_proj' ? 'mlp' : 'self_attn';
}

export function peftName(layer: number, target: LoraTarget, which: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${parentOf(target)}.${target}.lora_${which}.weight`;
}

/** adapter_config.json's content (PEFT LoraConfig fields). */
export function peftAdapterConfig(adapter: LoraAdapter, baseModel: string): Record<string, unknown> {
  return {
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: adapter.config.alpha,
    lora_dropout: adapter.config.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: adapter.config.r,
    target_modules: adapter.config.targets.slice(),
    task_type: 'CAUSAL_LM',
  };
}

export function peftAdapterTensors(adapter: LoraAdapter): NamedTensor[] {
  const r = adapter.config.r;
  return adapter.modules.flatMap((m) => [
    { name: peftName(m.layer, m.slice.target, 'A'), shape: [r, m.slice.inDim], data: m.a },
    { name: peftName(m.layer, m.slice.target, 'B'), shape: [m.slice.outDim, r], data: m.b },
  ]);
}

/** The two PEFT files' contents: adapter_config.json text and adapter_model.safetensors bytes. */
export function encodePeft(adapter: LoraAdapter, baseModel: string): { config: string; weights: Uint8Array } {
  return { config: `${JSON.stringify(peftAdapterConfig(adapter, baseModel), null, 2)}\n`, weights: encodeSafetensors(peftAdapterTensors(adapter)) };
}

/** A PEFT adapter (config JSON text + safetensors bytes) bound to a model's shapes. */
export function decodePeft(configText: string, weights: Uint8Array, model: Pick<LlamaConfig, 'hidden' | 'intermediate' | 'heads' | 'kvHeads' | 'headDim' | 'layers'>): LoraAdapter {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(configText);
  } catch {
    throw new Error('adapter_config.json is not valid JSON');
  }
  if (cfg.peft_type !== 'LORA') throw new Error(`adapter_config.json: peft_type is ${JSON.stringify(cfg.peft_type)}, not "LORA"`);
  const r = cfg.r;
  const alpha = cfg.lora_alpha;
  const targets = cfg.target_modules;
  if (!(typeof r === 'number' && Number.isInteger(r) && r > 0)) throw new Error('adapter_config.json: r must be a positive integer');
  if (!(typeof alpha === 'number' && alpha > 0)) throw new Error('adapter_config.json: lora_alpha must be positive');
  if (!Array.isArray(targets) || targets.length === 0 || !targets.every((t) => (LORA_TARGETS as readonly string[]).includes(t))) {
    throw new Error(`adapter_config.json: target_modules must list some of ${LORA_TARGETS.join(', ')}`);
  }
  const { tensors } = decodeSafetensors(weights, 'adapter_model.safetensors');
  const modules: LoraModule[] = [];
  for (let layer = 0; layer < model.layers; layer++) {
    for (const target of targets as LoraTarget[]) {
      const slice = loraSlice(model, target);
      const get = (which: 'A' | 'B', shape: number[]) => {
        const name = peftName(layer, target, which);
        const t = tensors.get(name);
        if (!t) throw new Error(`adapter_model.safetensors: missing ${name} (does the adapter belong to this model?)`);
        if (t.shape.join() !== shape.join()) throw new Error(`adapter_model.safetensors: ${name} has shape [${t.shape.join(', ')}], this model needs [${shape.join(', ')}]`);
        return t.data;
      };
      modules.push({ layer, slice, a: get('A', [r, slice.inDim]), b: get('B', [slice.outDim, r]) });
    }
  }
  const expected = model.layers * targets.length * 2;
  if (tensors.size !== expected) throw new Error(`adapter_model.safetensors: has ${tensors.size} tensors, this model's adapter has ${expected} (more layers than the model?)`);
  return { config: { r, alpha, dropout: 0, targets: targets as LoraTarget[] }, scale: alpha / r, modules };
}

/** critic.safetensors bytes: `critic.{2l}.weight` [out, in] per layer. */
export function encodeCritic(critic: { sizes: readonly number[]; weights: readonly Float32Array[] }): Uint8Array {
  return encodeSafetensors(
    critic.weights.map((w, l) => ({ name: `critic.${2 * l}.weight`, shape: [critic.sizes[l + 1], critic.sizes[l]], data: w })),
    { format: 'pt', sizes: critic.sizes.join(',') },
  );
}
