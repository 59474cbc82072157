/**
 * The checks between "someone hands the worker a LoRA adapter" and "the scorer uses it": everything is
 * validated against the loaded model (structure, finite values, every projection's shape, the base model)
 * before any state changes, and what is kept is a private copy, so a caller that keeps training its own
 * arrays cannot change what the page shows or shares without calling setAdapter again.
 */
import type { LoraAdapter } from '../llm/train/lora';
import {
  adapterWeightsOf,
  bindAdapter,
  checkBaseModel,
  type AdapterModelShape,
  type AdapterWeights,
} from '../share/adapter';

/** What the page shows of the adapter in use (plain data: it crosses the worker boundary). */
export interface AdapterView {
  label: string;
  r: number;
  alpha: number;
  targets: string[];
  layers: number;
  parameters: number;
  /** base_model_name_or_path of the file it came from; null when it came from training or a link. */
  baseModel: string | null;
  /** Non-fatal notes from loading (e.g. lora_dropout ignored). */
  warnings: string[];
  /** Changes with every swap, also under the same label (training updates): the page rebuilds its link. */
  version: number;
}

function copyAdapter(adapter: LoraAdapter): LoraAdapter {
  return {
    config: { ...adapter.config, targets: adapter.config.targets.slice() },
    scale: adapter.scale,
    modules: adapter.modules.map((m) => ({
      layer: m.layer,
      slice: { ...m.slice },
      a: Float32Array.from(m.a),
      b: Float32Array.from(m.b),
    })),
  };
}

/**
 * A trainer adapter checked against the model: throws AdapterFormatError (naming `label`) on any structural
 * problem, non-finite value or shape that is not the model's; returns a private copy whose slices are the
 * model's own (a caller's slices are not trusted).
 */
export function adapterForModel(
  adapter: LoraAdapter,
  shape: AdapterModelShape,
  label: string,
  modelId: string,
): LoraAdapter {
  if (adapter === null || typeof adapter !== 'object' || !Array.isArray(adapter.modules) || !adapter.config) {
    throw new TypeError(`${label}: not a LoRA adapter (expected { config, scale, modules })`);
  }
  const bound = bindAdapter(adapterWeightsOf(adapter, label), shape, label, modelId);
  if (typeof adapter.scale === 'number' && Math.abs(adapter.scale - bound.scale) > 1e-6 * Math.abs(bound.scale)) {
    throw new TypeError(
      `${label}: scale ${adapter.scale} is not alpha / r = ${bound.scale}; build the adapter with initLoraAdapter or bindAdapter`,
    );
  }
  return copyAdapter(bound);
}

/** Model-free weights (a decoded file or link) checked against the model and its base-model name. */
export function weightsForModel(
  weights: AdapterWeights,
  shape: AdapterModelShape,
  label: string,
  modelId: string,
  baseModel: string | null | undefined,
): LoraAdapter {
  // undefined: the source names no base model by design (a share link carries the model id instead).
  if (baseModel !== undefined) checkBaseModel(baseModel, modelId, 'refuse', label);
  return adapterForModel(bindAdapter(weights, shape, label, modelId), shape, label, modelId);
}

export function adapterView(
  adapter: LoraAdapter,
  label: string,
  baseModel: string | null = null,
  warnings: string[] = [],
): AdapterView {
  return {
    label,
    r: adapter.config.r,
    alpha: adapter.config.alpha,
    targets: adapter.config.targets.slice(),
    layers: adapter.modules.reduce((n, m) => Math.max(n, m.layer + 1), 0),
    parameters: adapter.modules.reduce((n, m) => n + m.a.length + m.b.length, 0),
    baseModel,
    warnings: warnings.slice(),
    version: 0,
  };
}
