/**
 * LoRA adapters on the frozen model (PEFT semantics, spec twosome.md 2.1): for a target projection
 * W [out, in], the adapted output is
 *
 *   y = x W^T + scale * (x A^T) B^T,   A [r, in], B [out, r], scale = alpha / r,
 *
 * A initialized as PEFT does (kaiming_uniform with a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))), B zero, so a
 * fresh adapter leaves the model unchanged. MLC fuses projections, so a target is a row slice of a fused
 * weight: q_proj, k_proj, v_proj are slices of qkv_proj; gate_proj, up_proj of gate_up_proj; o_proj and
 * down_proj are whole. The paper's default: r = 8, alpha = 16, dropout 0, targets q_proj and v_proj.
 */
import type { LlamaConfig } from '../model/config';
import type { Rng } from '../../util/rng';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraConfig {
  r: number;
  alpha: number;
  /** Kept for PEFT's adapter_config.json; the trainer supports 0 only (the paper's value). */
  dropout: number;
  targets: LoraTarget[];
}

export const DEFAULT_LORA_CONFIG: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] };

/** Which fused MLC projection a target lives in, and which rows of it. */
export interface LoraSlice {
  target: LoraTarget;
  /** The fused MLC weight the slice belongs to. */
  fused: 'qkv' | 'o' | 'gate_up' | 'down';
  /** First output row of the slice within the fused weight, and its row count (B's rows). */
  rowOffset: number;
  outDim: number;
  /** The projection's input width (A's columns). */
  inDim: number;
}

export function loraSlice(
  config: Pick<LlamaConfig, 'hidden' | 'intermediate' | 'heads' | 'kvHeads' | 'headDim'>,
  target: LoraTarget,
): LoraSlice {
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd } = config;
  switch (target) {
    case 'q_proj':
      return { target, fused: 'qkv', rowOffset: 0, outDim: H * hd, inDim: D };
    case 'k_proj':
      return { target, fused: 'qkv', rowOffset: H * hd, outDim: KVH * hd, inDim: D };
    case 'v_proj':
      return { target, fused: 'qkv', rowOffset: (H + KVH) * hd, outDim: KVH * hd, inDim: D };
    case 'o_proj':
      return { target, fused: 'o', rowOffset: 0, outDim: D, inDim: H * hd };
    case 'gate_proj':
      return { target, fused: 'gate_up', rowOffset: 0, outDim: I, inDim: D };
    case 'up_proj':
      return { target, fused: 'gate_up', rowOffset: I, outDim: I, inDim: D };
    case 'down_proj':
      return { target, fused: 'down', rowOffset: 0, outDim: D, inDim: I };
  }
}

/** One adapted projection of one layer: A [r, in] and B [out, r], row-major float32. */
export interface LoraModule {
  layer: number;
  slice: LoraSlice;
  a: Float32Array;
  b: Float32Array;
}

export interface LoraAdapter {
  config: LoraConfig;
  /** alpha / r */
  scale: number;
  /** Layer-major, targets in config order. */
  modules: LoraModule[];
}

export function checkLoraConfig(config: LoraConfig): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(config.r) || config.r < 1) problems.push(`LoRA r must be a positive integer, got ${config.r}`);
  if (!(config.alpha > 0)) problems.push(`LoRA alpha must be positive, got ${config.alpha}`);
  if (config.dropout !== 0) problems.push(`LoRA dropout ${config.dropout} is not supported (use 0, the paper's value)`);
  if (config.targets.length === 0) problems.push('LoRA needs at least one target module');
  for (const t of config.targets)
    if (!LORA_TARGETS.includes(t)) problems.push(`unknown LoRA target "${t}" (use ${LORA_TARGETS.join(', ')})`);
  if (new Set(config.targets).size !== config.targets.length) problems.push('LoRA targets are listed twice');
  return problems;
}

/** A fresh adapter: A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming_uniform(a=sqrt(5))), B = 0. */
export function initLoraAdapter(
  model: Pick<LlamaConfig, 'hidden' | 'intermediate' | 'heads' | 'kvHeads' | 'headDim' | 'layers'>,
  config: LoraConfig,
  rng: Rng,
): LoraAdapter {
  const problems = checkLoraConfig(config);
  if (problems.length) throw new RangeError(problems.join('; '));
  const modules: LoraModule[] = [];
  for (let layer = 0; layer < model.layers; layer++) {
    for (const target of config.targets) {
      const slice = loraSlice(model, target);
      const bound = 1 / Math.sqrt(slice.inDim);
      const a = Float32Array.from({ length: config.r * slice.inDim }, () => (2 * rng.next() - 1) * bound);
      modules.push({ layer, slice, a, b: new Float32Array(slice.outDim * config.r) });
    }
  }
  return { config, scale: config.alpha / config.r, modules };
}

/** Number of trainable parameters (the paper's 7B q,v adapter: 4,194,304). */
export function loraParameterCount(adapter: LoraAdapter): number {
  return adapter.modules.reduce((sum, m) => sum + m.a.length + m.b.length, 0);
}
