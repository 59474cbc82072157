/**
 * The model-independent form of a LoRA adapter that every format reads and writes (`AdapterWeights`), its
 * validation, and the step that puts it on a model (`bindAdapter` -> the trainer's `LoraAdapter`), with the
 * base-model check. Decoders return fresh objects and never touch the caller's state; `replaceAdapterWeights`
 * copies into a live adapter only after everything has been checked.
 */
import { architectureConfig, architectureOf, ARCHITECTURES } from '../llm/model/catalog';
import type { LlamaConfig } from '../llm/model/config';
import { LORA_TARGETS, loraSlice, type LoraAdapter, type LoraConfig, type LoraTarget } from '../llm/train/lora';
import { AdapterFormatError, quote } from './errors';
import { DEFAULT_LIMITS, type AdapterLimits } from './limits';

/** What an adapter's shapes depend on. */
export type AdapterModelShape = Pick<
  LlamaConfig,
  'hidden' | 'intermediate' | 'heads' | 'kvHeads' | 'headDim' | 'layers'
>;

/** A target's projection sizes: A is [r, inDim], B is [outDim, r]. */
export interface AdapterTargetDims {
  target: LoraTarget;
  inDim: number;
  outDim: number;
}

export interface AdapterWeightsModule {
  layer: number;
  target: LoraTarget;
  /** [r, inDim] row-major. */
  a: Float32Array;
  /** [outDim, r] row-major. */
  b: Float32Array;
}

/** A LoRA adapter without a model: every layer 0..layers-1 carries every target. */
export interface AdapterWeights {
  config: LoraConfig;
  layers: number;
  /** One per target, in config.targets order. */
  dims: AdapterTargetDims[];
  /** Layer-major, targets in config.targets order within a layer. */
  modules: AdapterWeightsModule[];
}

export function isLoraTarget(value: unknown): value is LoraTarget {
  return typeof value === 'string' && (LORA_TARGETS as readonly string[]).includes(value);
}

/** The weights of a trainer adapter (arrays shared, not copied), validated. */
export function adapterWeightsOf(adapter: LoraAdapter, file = 'adapter'): AdapterWeights {
  const targets = adapter.config.targets.slice();
  const layers = adapter.modules.reduce((m, x) => Math.max(m, x.layer + 1), 0);
  const dims: AdapterTargetDims[] = targets.map((target) => {
    const m = adapter.modules.find((x) => x.slice.target === target);
    return { target, inDim: m?.slice.inDim ?? 0, outDim: m?.slice.outDim ?? 0 };
  });
  const weights: AdapterWeights = {
    config: { ...adapter.config, targets },
    layers,
    dims,
    modules: adapter.modules.map((m) => ({ layer: m.layer, target: m.slice.target, a: m.a, b: m.b })),
  };
  checkAdapterWeights(weights, file);
  return weights;
}

/** Checks |v| <= maxAbs and finiteness; the message names the tensor and the element. */
export function checkValues(values: Float32Array, what: string, file: string, maxAbs: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Math.abs(v) <= maxAbs)) {
      const kind = Number.isNaN(v)
        ? 'NaN'
        : !Number.isFinite(v)
          ? String(v)
          : `${v.toExponential(3)}, beyond the plausible range +-${maxAbs}`;
      throw new AdapterFormatError(
        file,
        `${what} element ${i} is ${kind}: the weights are corrupt (or training diverged); re-export them from a healthy checkpoint`,
      );
    }
  }
}

/** Every structural rule of AdapterWeights; throws AdapterFormatError naming the first problem. */
export function checkAdapterWeights(
  w: AdapterWeights,
  file: string,
  limits: Pick<AdapterLimits, 'maxRank' | 'maxLayers' | 'maxDim' | 'maxAbsWeight'> = DEFAULT_LIMITS,
): void {
  const fail = (detail: string): never => {
    throw new AdapterFormatError(file, detail);
  };
  const { r, alpha, dropout, targets } = w.config;
  if (!Number.isInteger(r) || r < 1 || r > limits.maxRank)
    fail(`LoRA r must be an integer in 1..${limits.maxRank} (got ${quote(r)})`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0 || alpha > 1e6)
    fail(`lora_alpha must be a positive number up to 1e6 (got ${quote(alpha)})`);
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1))
    fail(`lora_dropout must be in [0, 1) (got ${quote(dropout)})`);
  if (!Array.isArray(targets) || targets.length === 0) fail('no target modules');
  for (const t of targets)
    if (!isLoraTarget(t)) fail(`unknown target module ${quote(t)} (supported: ${LORA_TARGETS.join(', ')})`);
  if (new Set(targets).size !== targets.length) fail('a target module is listed twice');
  if (!Number.isInteger(w.layers) || w.layers < 1 || w.layers > limits.maxLayers)
    fail(`layer count must be in 1..${limits.maxLayers} (got ${quote(w.layers)})`);
  if (w.dims.length !== targets.length) fail('dims do not match the targets');
  w.dims.forEach((d, i) => {
    if (d.target !== targets[i]) fail('dims are not in target order');
    for (const [k, v] of [
      ['inDim', d.inDim],
      ['outDim', d.outDim],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > limits.maxDim)
        fail(`${d.target} ${k} must be an integer in 1..${limits.maxDim} (got ${quote(v)})`);
    }
  });
  // Sizes that one Llama layer ties together (whatever the model): every target meets the residual stream
  // (hidden), k and v have the same width, q's output is o's input, gate and up feed down.
  const dim = (t: LoraTarget) => w.dims.find((d) => d.target === t);
  const hidden = new Set(w.dims.map((d) => (d.target === 'o_proj' || d.target === 'down_proj' ? d.outDim : d.inDim)));
  if (hidden.size > 1)
    fail(`the targets disagree on the hidden size (${[...hidden].join(' vs ')}): the shapes are inconsistent`);
  const pairs: [LoraTarget, 'inDim' | 'outDim', LoraTarget, 'inDim' | 'outDim'][] = [
    ['k_proj', 'outDim', 'v_proj', 'outDim'],
    ['q_proj', 'outDim', 'o_proj', 'inDim'],
    ['gate_proj', 'outDim', 'up_proj', 'outDim'],
    ['gate_proj', 'outDim', 'down_proj', 'inDim'],
    ['up_proj', 'outDim', 'down_proj', 'inDim'],
  ];
  for (const [t1, k1, t2, k2] of pairs) {
    const d1 = dim(t1);
    const d2 = dim(t2);
    if (d1 && d2 && d1[k1] !== d2[k2])
      fail(
        `${t1} ${k1 === 'outDim' ? 'outputs' : 'inputs'} (${d1[k1]}) and ${t2} ${k2 === 'outDim' ? 'outputs' : 'inputs'} (${d2[k2]}) must match in a Llama layer: the shapes are inconsistent`,
      );
  }
  if (w.modules.length !== w.layers * targets.length)
    fail(
      `expected ${w.layers * targets.length} modules (${w.layers} layers x ${targets.length} targets), got ${w.modules.length}`,
    );
  w.modules.forEach((m, i) => {
    const layer = Math.floor(i / targets.length);
    const d = w.dims[i % targets.length];
    if (m.layer !== layer || m.target !== d.target)
      fail(
        `module ${i} is layer ${m.layer} ${m.target}, expected layer ${layer} ${d.target} (layer-major, targets in config order)`,
      );
    if (!(m.a instanceof Float32Array) || m.a.length !== r * d.inDim)
      fail(`layer ${layer} ${d.target} lora_A has ${m.a?.length} values, expected r x in = ${r} x ${d.inDim}`);
    if (!(m.b instanceof Float32Array) || m.b.length !== d.outDim * r)
      fail(`layer ${layer} ${d.target} lora_B has ${m.b?.length} values, expected out x r = ${d.outDim} x ${r}`);
    checkValues(m.a, `layer ${layer} ${d.target} lora_A`, file, limits.maxAbsWeight);
    checkValues(m.b, `layer ${layer} ${d.target} lora_B`, file, limits.maxAbsWeight);
  });
}

/** The model's hidden size as the adapter implies it (every target reads or writes the residual stream). */
export function adapterHiddenSize(w: AdapterWeights): number {
  const d = w.dims[0];
  return d.target === 'o_proj' || d.target === 'down_proj' ? d.outDim : d.inDim;
}

/** Trainable parameters. */
export function adapterWeightsParameterCount(w: AdapterWeights): number {
  return w.modules.reduce((s, m) => s + m.a.length + m.b.length, 0);
}

/**
 * Puts validated weights on a model: the layer count and every target's sizes must be the model's
 * (`loraSlice`); the result shares the weight arrays.
 */
export function bindAdapter(
  w: AdapterWeights,
  model: AdapterModelShape,
  file: string,
  modelName = 'the model',
): LoraAdapter {
  for (const d of w.dims) {
    const s = loraSlice(model, d.target);
    if (s.inDim !== d.inDim || s.outDim !== d.outDim) {
      throw new AdapterFormatError(
        file,
        `${d.target} is ${d.outDim} x ${d.inDim} in the adapter (lora_B [${d.outDim}, r], lora_A [r, ${d.inDim}]) but ${s.outDim} x ${s.inDim} in ${modelName}: it was trained on another model; load it with its base model`,
      );
    }
  }
  if (w.layers !== model.layers) {
    throw new AdapterFormatError(
      file,
      `the adapter has ${w.layers} layers but ${modelName} has ${model.layers}: it was trained on another model; load it with its base model`,
    );
  }
  return {
    config: { ...w.config, targets: w.config.targets.slice() },
    scale: w.config.alpha / w.config.r,
    modules: w.modules.map((m) => ({ layer: m.layer, slice: loraSlice(model, m.target), a: m.a, b: m.b })),
  };
}

/**
 * Copies `source`'s weights into the live adapter `target` (e.g. the one the trainer uploads), after checking
 * that they have the same structure; on any mismatch nothing is copied.
 */
export function replaceAdapterWeights(target: LoraAdapter, source: LoraAdapter): void {
  const same =
    target.config.r === source.config.r &&
    target.modules.length === source.modules.length &&
    target.modules.every((m, i) => {
      const s = source.modules[i];
      return (
        m.layer === s.layer &&
        m.slice.target === s.slice.target &&
        m.a.length === s.a.length &&
        m.b.length === s.b.length
      );
    });
  if (!same)
    throw new AdapterFormatError(
      'adapter',
      'the loaded adapter has another structure (r, targets or layers) than the one in use; create a new adapter from it instead of replacing weights',
    );
  target.modules.forEach((m, i) => {
    m.a.set(source.modules[i].a);
    m.b.set(source.modules[i].b);
  });
  target.config.alpha = source.config.alpha;
  target.scale = source.scale;
}

// ---------------------------------------------------------------------------------------------------------
// Base models.

/**
 * What an adapter trained here writes as base_model_name_or_path: the Hugging Face model an MLC catalog model
 * was converted from (so PEFT finds it), else the model id as given (e.g. "micro", a directory name).
 */
export function baseModelName(modelId: string): string {
  return architectureOf(modelId)?.hfConfig ?? modelId;
}

const norm = (s: string) =>
  s
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\/(www\.)?(huggingface\.co|hf\.co)\//, '')
    .replace(/\/+$/, '');
const lastSegment = (s: string) => norm(s).split(/[\\/]/).filter(Boolean).pop() ?? '';

/** The Hugging Face names an MLC id (or an HF name) stands for. */
function namesOf(idOrName: string): string[] {
  const names = [norm(idOrName)];
  const arch = architectureOf(idOrName.trim());
  if (arch) names.push(norm(arch.hfConfig), norm(`mlc-ai/${idOrName.trim()}`));
  return names;
}

/**
 * null when `adapterBase` names the model `modelId` (an MLC catalog id, its Hugging Face model, or a local
 * path ending in the same model name), else a message saying how they differ.
 */
export function baseModelMismatch(adapterBase: string | null, modelId: string): string | null {
  if (adapterBase === null || adapterBase.trim() === '')
    return `the adapter does not name its base model (base_model_name_or_path is empty); make sure it was trained on ${modelId}`;
  const mine = namesOf(modelId);
  const theirs = namesOf(adapterBase);
  if (theirs.some((n) => mine.includes(n))) return null;
  const mineLast = new Set(mine.map(lastSegment));
  if (theirs.some((n) => mineLast.has(lastSegment(n)))) return null;
  return `the adapter was trained on ${quote(adapterBase, 100)} but the model in use is ${quote(modelId, 100)}${architectureOf(modelId) ? ` (${architectureOf(modelId)!.hfConfig})` : ''}`;
}

export type BaseModelPolicy = 'warn' | 'refuse';

/** Applies the policy: a warning (returned) or an AdapterFormatError. */
export function checkBaseModel(
  adapterBase: string | null,
  modelId: string,
  policy: BaseModelPolicy,
  file: string,
): string[] {
  const mismatch = baseModelMismatch(adapterBase, modelId);
  if (!mismatch) return [];
  if (policy === 'refuse')
    throw new AdapterFormatError(
      file,
      `${mismatch}; load it with its base model (or allow a base-model mismatch if the architectures are the same)`,
    );
  return [`${mismatch}; its shapes fit, so it is loaded, but its behavior on this model is untested`];
}

/**
 * Catalog models an adapter's base_model_name_or_path can stand for (MLC id, HF name or a path ending in one),
 * from the architecture table (catalog.ts), with their shapes (the context window is the trained one).
 */
export function catalogModelsForBase(base: string | null): { modelId: string; config: LlamaConfig }[] {
  if (!base || !base.trim()) return [];
  return [...ARCHITECTURES.keys()]
    .filter((id) => baseModelMismatch(base, id) === null)
    .map((id) => ({ modelId: id, config: architectureConfig(id) }));
}
