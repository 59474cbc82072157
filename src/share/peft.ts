/**
 * PEFT LoRA adapters: `adapter_config.json` + `adapter_model.safetensors`, as `PeftModel.save_pretrained`
 * writes them for a Llama `AutoModelForCausalLM` (task_type CAUSAL_LM), and as `PeftModel.from_pretrained`
 * reads them:
 *
 *   base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_A.weight   [r, in]
 *   base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_B.weight   [out, r]
 *   base_model.model.model.layers.{i}.mlp.{gate,up,down}_proj.lora_{A,B}.weight
 *
 * with __metadata__ {"format": "pt"}, scale = lora_alpha / r. MLC's fused projections are row slices of the
 * same Hugging Face weights (qkv_proj = [q; k; v], gate_up_proj = [gate; up]), so A and B carry over as they are.
 *
 * Reading accepts F32, F16 and BF16 tensors (converted to float32) and refuses, with a message, every PEFT
 * feature this engine cannot apply: DoRA, biases, rank/alpha patterns, layer subsets, modules_to_save,
 * trainable tokens, regex target_modules. Nothing in the files is ever evaluated (no pickle, no code).
 */
import { looksLikeWebPage, WEB_PAGE_DETAIL } from '../util/web-page';
import { LORA_TARGETS, type LoraAdapter, type LoraTarget } from '../llm/train/lora';
import {
  adapterWeightsOf,
  checkAdapterWeights,
  checkValues,
  isLoraTarget,
  type AdapterTargetDims,
  type AdapterWeights,
  type AdapterWeightsModule,
} from './adapter';
import { bytesToFloat32, decodeUtf8, float32ToBytes, float32ToHalfBytes, halfBytesToFloat32 } from './bytes';
import { AdapterFormatError, quote } from './errors';
import { hasKey, isJsonObject, JsonParseError, parseJsonStrict, type JsonObject, type JsonValue } from './json';
import { limitsWith, type AdapterLimits } from './limits';
import {
  readSafetensors,
  tensorData,
  writeSafetensors,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SafetensorsTensorInfo,
} from './safetensors';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';

const MODULE_PARENT: Record<LoraTarget, 'self_attn' | 'mlp'> = {
  q_proj: 'self_attn',
  k_proj: 'self_attn',
  v_proj: 'self_attn',
  o_proj: 'self_attn',
  gate_proj: 'mlp',
  up_proj: 'mlp',
  down_proj: 'mlp',
};

/** PEFT's saved name of a LoRA tensor. */
export function peftTensorName(layer: number, target: LoraTarget, which: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${MODULE_PARENT[target]}.${target}.lora_${which}.weight`;
}

const TENSOR_NAME =
  /^base_model\.model\.model\.layers\.(0|[1-9][0-9]{0,5})\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)\.weight$/;

// ---------------------------------------------------------------------------------------------------------
// Writing.

export type PeftWeightsDtype = 'F32' | 'F16' | 'BF16';

export interface PeftEncodeOptions {
  /** base_model_name_or_path (see baseModelName()); null when unknown. */
  baseModel: string | null;
  /** Tensor dtype; F32 (the default) keeps every bit. */
  dtype?: PeftWeightsDtype;
}

export interface PeftFiles {
  /** adapter_config.json text. */
  config: string;
  /** adapter_model.safetensors bytes. */
  weights: Uint8Array;
}

/**
 * adapter_config.json as PEFT's LoraConfig.save_pretrained writes it (json.dumps(indent=2, sort_keys=True)),
 * with the fields PEFT 0.9 and later know; newer PEFT versions fill in their newer fields with defaults.
 */
export function peftConfigJson(w: AdapterWeights, baseModel: string | null): string {
  const config: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: w.config.alpha,
    lora_dropout: w.config.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: w.config.r,
    rank_pattern: {},
    revision: null,
    target_modules: w.config.targets.slice(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
  return `${JSON.stringify(config, Object.keys(config).sort(), 2)}`;
}

function asWeights(adapter: LoraAdapter | AdapterWeights): AdapterWeights {
  if ('dims' in adapter) {
    checkAdapterWeights(adapter, 'adapter');
    return adapter;
  }
  return adapterWeightsOf(adapter);
}

/** The two PEFT files of an adapter. */
export function encodePeftAdapter(adapter: LoraAdapter | AdapterWeights, options: PeftEncodeOptions): PeftFiles {
  const w = asWeights(adapter);
  const dtype = options.dtype ?? 'F32';
  const encode = (values: Float32Array) =>
    dtype === 'F32' ? float32ToBytes(values) : float32ToHalfBytes(values, dtype);
  const entries: SafetensorsEntry[] = [];
  w.modules.forEach((m, i) => {
    const d = w.dims[i % w.dims.length];
    entries.push({
      name: peftTensorName(m.layer, m.target, 'A'),
      dtype,
      shape: [w.config.r, d.inDim],
      data: encode(m.a),
    });
    entries.push({
      name: peftTensorName(m.layer, m.target, 'B'),
      dtype,
      shape: [d.outDim, w.config.r],
      data: encode(m.b),
    });
  });
  return { config: peftConfigJson(w, options.baseModel), weights: writeSafetensors(entries, { format: 'pt' }) };
}

// ---------------------------------------------------------------------------------------------------------
// Reading adapter_config.json.

export interface PeftConfigInfo {
  r: number;
  alpha: number;
  /** lora_dropout as written (the loaded adapter uses 0: dropout acts in training only). */
  dropout: number;
  targets: LoraTarget[];
  baseModel: string | null;
  warnings: string[];
}

function parseJsonFile(bytes: Uint8Array | string, file: string, maxBytes: number, maxDepth: number): JsonValue {
  const size = typeof bytes === 'string' ? bytes.length : bytes.length;
  if (size > maxBytes)
    throw new AdapterFormatError(
      file,
      `${size} bytes, over the limit of ${maxBytes}: this is not the expected JSON file`,
    );
  const text = typeof bytes === 'string' ? bytes : decodeUtf8(bytes);
  if (text === undefined)
    throw new AdapterFormatError(file, 'not valid UTF-8 text: the file is corrupt or is not JSON');
  try {
    return parseJsonStrict(text, { maxDepth, maxStringLength: 4096 });
  } catch (error) {
    if (error instanceof JsonParseError && looksLikeWebPage(text)) throw new AdapterFormatError(file, WEB_PAGE_DETAIL);
    if (error instanceof JsonParseError)
      throw new AdapterFormatError(file, `not valid JSON (${error.message}); re-export the adapter`);
    throw error;
  }
}

const emptyish = (v: JsonValue | undefined) =>
  v === undefined ||
  v === null ||
  v === false ||
  (isJsonObject(v) && Object.keys(v).length === 0) ||
  (Array.isArray(v) && v.length === 0);

/** Parses and validates adapter_config.json. */
export function parsePeftConfig(
  bytes: Uint8Array | string,
  file = PEFT_CONFIG_FILE,
  limits?: Partial<AdapterLimits>,
): PeftConfigInfo {
  const lim = limitsWith(limits);
  const json = parseJsonFile(bytes, file, lim.maxConfigBytes, 16);
  const fail = (detail: string): never => {
    throw new AdapterFormatError(file, detail);
  };
  if (!isJsonObject(json)) return fail('expected a JSON object (a PEFT adapter_config.json)');
  const c = json as JsonObject;
  const get = (key: string): JsonValue | undefined => (hasKey(c, key) ? c[key] : undefined);
  const warnings: string[] = [];

  const peftType = get('peft_type');
  if (peftType !== 'LORA') fail(`peft_type is ${quote(peftType ?? null)}; only LoRA adapters ("LORA") are supported`);
  const taskType = get('task_type');
  if (taskType !== undefined && taskType !== null && taskType !== 'CAUSAL_LM')
    fail(`task_type is ${quote(taskType)}; only causal language-model adapters ("CAUSAL_LM") are supported`);

  const r = get('r');
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > lim.maxRank)
    fail(`"r" must be an integer in 1..${lim.maxRank} (got ${quote(r ?? null)})`);
  const alpha = get('lora_alpha');
  if (typeof alpha !== 'number' || !(alpha > 0) || alpha > 1e6)
    fail(`"lora_alpha" must be a positive number up to 1e6 (got ${quote(alpha ?? null)})`);
  const dropoutRaw = get('lora_dropout');
  const dropout = dropoutRaw === undefined || dropoutRaw === null ? 0 : dropoutRaw;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
    fail(`"lora_dropout" must be a number in [0, 1) (got ${quote(dropoutRaw)})`);
  if ((dropout as number) > 0)
    warnings.push(`lora_dropout ${dropout} is not used here (dropout acts only in training, and this trainer uses 0)`);

  let alphaValue = alpha as number;
  const rslora = get('use_rslora');
  if (rslora !== undefined && rslora !== null && typeof rslora !== 'boolean')
    fail(`"use_rslora" must be true or false (got ${quote(rslora)})`);
  if (rslora === true) {
    // rsLoRA scales by alpha / sqrt(r); the same adapter with alpha' = alpha * sqrt(r) scales by alpha' / r.
    alphaValue = (alpha as number) * Math.sqrt(r as number);
    warnings.push(
      `rsLoRA adapter: lora_alpha ${alpha} with scale alpha/sqrt(r) is loaded as lora_alpha ${alphaValue} with scale alpha/r (the same scale)`,
    );
  }

  const refuse = (key: string, why: string) => {
    if (!emptyish(get(key))) fail(`${key} is ${quote(get(key))}: ${why}`);
  };
  if (get('use_dora') !== undefined && get('use_dora') !== null && typeof get('use_dora') !== 'boolean')
    fail(`"use_dora" must be true or false (got ${quote(get('use_dora'))})`);
  refuse('use_dora', 'DoRA adapters (magnitude vectors) are not supported; train a plain LoRA adapter');
  const bias = get('bias');
  if (bias !== undefined && bias !== null && bias !== 'none')
    fail(`bias is ${quote(bias)}: adapters with bias tensors are not supported (use bias "none")`);
  refuse('lora_bias', 'LoRA bias tensors are not supported');
  refuse(
    'fan_in_fan_out',
    'fan_in_fan_out (GPT-2 style Conv1D weights) does not apply to Llama; the tensors would be transposed',
  );
  refuse('rank_pattern', 'per-module ranks are not supported: every module must use r');
  refuse('alpha_pattern', 'per-module alphas are not supported: every module must use lora_alpha');
  refuse('layers_to_transform', 'adapters on a subset of layers are not supported: every layer must carry the targets');
  refuse('layer_replication', 'layer replication is not supported');
  refuse(
    'modules_to_save',
    'fully trained extra modules (modules_to_save) are not supported: only LoRA weights load here',
  );
  refuse('trainable_token_indices', 'trainable token embeddings are not supported');
  refuse('target_parameters', 'LoRA on parameters (target_parameters) is not supported');
  refuse('use_qalora', 'QA-LoRA (pooled inputs) is not supported');
  refuse('alora_invocation_tokens', 'activated LoRA (aLoRA) is not supported');
  refuse('arrow_config', 'Arrow adapter routing is not supported');
  refuse('use_bdlora', 'block-diagonal LoRA is not supported');

  const base = get('base_model_name_or_path');
  if (base !== undefined && base !== null && typeof base !== 'string')
    fail(`base_model_name_or_path must be a string (got ${quote(base)})`);

  const tm = get('target_modules');
  let list: JsonValue[];
  if (typeof tm === 'string') {
    if (!isLoraTarget(tm))
      fail(
        `target_modules is the pattern ${quote(tm)}; regular expressions and "all-linear" are not supported: list the modules (${LORA_TARGETS.join(', ')})`,
      );
    list = [tm];
  } else if (Array.isArray(tm)) list = tm;
  else return fail(`target_modules must be a list of module names (got ${quote(tm ?? null)})`);
  if (list.length === 0) fail('target_modules is empty');
  if (list.length > LORA_TARGETS.length)
    fail(`target_modules lists ${list.length} entries; a Llama layer has only ${LORA_TARGETS.length} projections`);
  for (const t of list)
    if (!isLoraTarget(t)) fail(`target module ${quote(t)} is not supported (supported: ${LORA_TARGETS.join(', ')})`);
  if (new Set(list).size !== list.length) fail('target_modules lists a module twice');

  return {
    r: r as number,
    alpha: alphaValue,
    dropout: dropout as number,
    targets: list as LoraTarget[],
    baseModel: (base as string | undefined) ?? null,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Reading adapter_model.safetensors.

export interface PeftDecodeOptions {
  limits?: Partial<AdapterLimits>;
  /** Names for messages. */
  configFile?: string;
  weightsFile?: string;
}

export interface DecodedPeftAdapter {
  weights: AdapterWeights;
  baseModel: string | null;
  /** The tensors' dtype as stored. */
  dtype: PeftWeightsDtype;
  /** False when no adapter_config.json was given: alpha is then unknown (set to r, scale 1). */
  hasConfig: boolean;
  warnings: string[];
  /** Size of adapter_model.safetensors. */
  weightsBytes: number;
}

interface ParsedName {
  layer: number;
  target: LoraTarget;
  which: 'A' | 'B';
}

function parseTensorName(t: SafetensorsTensorInfo, file: string): ParsedName {
  const m = TENSOR_NAME.exec(t.name);
  const fail = (why: string): never => {
    throw new AdapterFormatError(file, `unexpected tensor ${quote(t.name, 120)}: ${why}`);
  };
  if (!m) {
    if (/\.lora_(A|B)\.[^.]+\.weight$/.test(t.name))
      fail(
        'names with an adapter name before ".weight" are in-memory state-dict names; save the adapter with save_pretrained',
      );
    if (/lora_(embedding|magnitude)|\.bias$|lm_head|embed_tokens/.test(t.name))
      fail(
        'only lora_A / lora_B weights of Llama projections are supported (no biases, DoRA, embeddings or modules_to_save)',
      );
    fail(
      'expected base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_{A|B}.weight, as PEFT saves a Llama adapter',
    );
  }
  const [, layerText, parent, target, which] = m!;
  if (!isLoraTarget(target)) fail(`${quote(target)} is not a Llama projection (${LORA_TARGETS.join(', ')})`);
  if (MODULE_PARENT[target as LoraTarget] !== parent)
    fail(`${target} belongs under ${MODULE_PARENT[target as LoraTarget]}, not ${parent}`);
  return { layer: Number(layerText), target: target as LoraTarget, which: which as 'A' | 'B' };
}

function tensorFloats(file: SafetensorsFile, t: SafetensorsTensorInfo): Float32Array {
  const data = tensorData(file, t);
  return t.dtype === 'F32' ? bytesToFloat32(data) : halfBytesToFloat32(data, t.dtype as 'F16' | 'BF16');
}

/**
 * Decodes and validates a PEFT adapter: the config (or null: r and targets are then taken from the tensors
 * and alpha is unknown) and the safetensors bytes. Throws AdapterFormatError on the first problem; checks
 * every header rule before reading any tensor data, then every value.
 */
export function decodePeftAdapter(
  files: { config: Uint8Array | string | null; weights: Uint8Array },
  options: PeftDecodeOptions = {},
): DecodedPeftAdapter {
  const lim = limitsWith(options.limits);
  const configFile = options.configFile ?? PEFT_CONFIG_FILE;
  const file = options.weightsFile ?? PEFT_WEIGHTS_FILE;
  const fail = (detail: string): never => {
    throw new AdapterFormatError(file, detail);
  };
  const config = files.config === null ? null : parsePeftConfig(files.config, configFile, options.limits);

  if (files.weights.length > lim.maxWeightsBytes)
    fail(`${files.weights.length} bytes, over the limit of ${lim.maxWeightsBytes} for an adapter`);
  const st = readSafetensors(files.weights, file, { maxHeaderBytes: lim.maxHeaderBytes, maxTensors: lim.maxTensors });
  const tensors = st.header.tensors;
  if (tensors.length === 0) fail('holds no tensors: not a LoRA adapter');

  // Names, dtypes, the grid of (layer, target, A|B).
  const byKey = new Map<string, SafetensorsTensorInfo>();
  const targetsSeen = new Set<LoraTarget>();
  let layers = 0;
  let dtype: PeftWeightsDtype | undefined;
  for (const t of tensors) {
    const p = parseTensorName(t, file);
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16')
      fail(
        `tensor ${quote(t.name, 120)} is ${t.dtype}; LoRA weights must be F32, F16 or BF16 (save in float32, float16 or bfloat16)`,
      );
    if (dtype !== undefined && t.dtype !== dtype)
      fail(`tensors mix ${dtype} and ${t.dtype}; save all LoRA weights in one dtype`);
    dtype = t.dtype as PeftWeightsDtype;
    if (p.layer >= lim.maxLayers)
      fail(`tensor ${quote(t.name, 120)}: layer ${p.layer} is beyond the limit of ${lim.maxLayers} layers`);
    if (t.shape.length !== 2)
      fail(
        `tensor ${quote(t.name, 120)} has shape ${JSON.stringify(t.shape)}; LoRA weights are matrices ([r, in] for lora_A, [out, r] for lora_B)`,
      );
    byKey.set(`${p.layer}.${p.target}.${p.which}`, t);
    targetsSeen.add(p.target);
    layers = Math.max(layers, p.layer + 1);
  }

  let targets: LoraTarget[];
  if (config) {
    for (const t of targetsSeen)
      if (!config.targets.includes(t))
        fail(
          `has ${t} tensors, but ${configFile} does not list ${t} in target_modules: the files do not belong together`,
        );
    targets = config.targets.slice();
  } else targets = LORA_TARGETS.filter((t) => targetsSeen.has(t));

  // r from the config or the first tensor; every tensor must agree.
  const first = tensors[0];
  const firstName = parseTensorName(first, file);
  const r = config ? config.r : firstName.which === 'A' ? first.shape[0] : first.shape[1];
  if (!Number.isInteger(r) || r < 1 || r > lim.maxRank)
    fail(`LoRA rank ${r} (from ${quote(first.name, 120)}) is outside 1..${lim.maxRank}`);

  const dims: AdapterTargetDims[] = [];
  for (const target of targets) {
    let inDim = -1;
    let outDim = -1;
    for (let layer = 0; layer < layers; layer++) {
      const a = byKey.get(`${layer}.${target}.A`);
      const b = byKey.get(`${layer}.${target}.B`);
      if (!a)
        fail(
          `missing tensor ${peftTensorName(layer, target, 'A')} (every layer 0..${layers - 1} must carry every target module)`,
        );
      if (!b)
        fail(
          `missing tensor ${peftTensorName(layer, target, 'B')} (every layer 0..${layers - 1} must carry every target module)`,
        );
      if (a!.shape[0] !== r)
        fail(
          `tensor ${quote(a!.name, 120)} has shape ${JSON.stringify(a!.shape)}: lora_A must be [r, in] with r = ${r}${config ? ` (adapter_config.json)` : ''}`,
        );
      if (b!.shape[1] !== r)
        fail(
          `tensor ${quote(b!.name, 120)} has shape ${JSON.stringify(b!.shape)}: lora_B must be [out, r] with r = ${r}${config ? ` (adapter_config.json)` : ''}`,
        );
      if (inDim < 0) {
        inDim = a!.shape[1];
        outDim = b!.shape[0];
      }
      if (a!.shape[1] !== inDim)
        fail(
          `tensor ${quote(a!.name, 120)} has ${a!.shape[1]} inputs but layer 0's ${target} has ${inDim}: layers disagree`,
        );
      if (b!.shape[0] !== outDim)
        fail(
          `tensor ${quote(b!.name, 120)} has ${b!.shape[0]} outputs but layer 0's ${target} has ${outDim}: layers disagree`,
        );
    }
    if (inDim < 1 || inDim > lim.maxDim || outDim < 1 || outDim > lim.maxDim)
      fail(`${target} is ${outDim} x ${inDim}; each size must be in 1..${lim.maxDim}`);
    dims.push({ target, inDim, outDim });
  }
  const expected = layers * targets.length * 2;
  if (tensors.length !== expected)
    fail(
      `holds ${tensors.length} tensors; ${layers} layers x ${targets.length} targets x (A, B) = ${expected} expected`,
    );

  // Values, only now.
  const modules: AdapterWeightsModule[] = [];
  for (let layer = 0; layer < layers; layer++) {
    for (const target of targets) {
      const ta = byKey.get(`${layer}.${target}.A`)!;
      const tb = byKey.get(`${layer}.${target}.B`)!;
      const a = tensorFloats(st, ta);
      const b = tensorFloats(st, tb);
      checkValues(a, `tensor ${ta.name}`, file, lim.maxAbsWeight);
      checkValues(b, `tensor ${tb.name}`, file, lim.maxAbsWeight);
      modules.push({ layer, target, a, b });
    }
  }
  const weights: AdapterWeights = {
    config: { r, alpha: config ? config.alpha : r, dropout: 0, targets },
    layers,
    dims,
    modules,
  };
  checkAdapterWeights(weights, file, lim);
  const warnings = config
    ? config.warnings.slice()
    : ['no adapter_config.json: lora_alpha and the base model are unknown'];
  const meta = st.header.metadata;
  if (meta && hasKey(meta as JsonObject, 'format') && meta.format !== 'pt')
    warnings.push(`__metadata__ format is ${quote(meta.format)} (PEFT writes "pt")`);
  return {
    weights,
    baseModel: config ? config.baseModel : null,
    dtype: dtype!,
    hasConfig: config !== null,
    warnings,
    weightsBytes: files.weights.length,
  };
}
