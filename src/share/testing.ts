/** Fixtures for the share tests: small adapters with every value non-zero, deterministic. */
import type { CriticWeights } from '../llm/train/gpu-critic';
import { initLoraAdapter, type LoraAdapter, type LoraConfig } from '../llm/train/lora';
import { Rng } from '../util/rng';
import type { AdapterModelShape } from './adapter';

/** A tiny GQA Llama: every target has distinct sizes (q 16x16, k/v 8x16, o 16x16, gate/up 24x16, down 16x24). */
export const TINY: AdapterModelShape = { hidden: 16, intermediate: 24, heads: 2, kvHeads: 1, headDim: 8, layers: 2 };
/** The shipped micro model (public/models/micro). */
export const MICRO: AdapterModelShape = { hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, headDim: 16, layers: 2 };

export function trainedAdapter(shape: AdapterModelShape, config: LoraConfig, seed = 1, magnitude = 0.05): LoraAdapter {
  const rng = new Rng(seed);
  const adapter = initLoraAdapter(shape, config, rng);
  for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = (2 * rng.next() - 1) * magnitude;
  return adapter;
}

export function randomCritic(sizes: number[], seed = 2): CriticWeights {
  const rng = new Rng(seed);
  return {
    sizes,
    weights: sizes
      .slice(1)
      .map((out, l) => Float32Array.from({ length: out * sizes[l] }, () => (2 * rng.next() - 1) * 0.1)),
  };
}

export const ALL_TARGETS: LoraConfig = {
  r: 4,
  alpha: 8,
  dropout: 0,
  targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
};
export const QV: LoraConfig = { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] };
