/**
 * The scorer of evaluate.ts on the WebGPU engine: LlamaEngine.forwardScores, the same entry TWOSOME's action
 * scoring uses (shared-prompt layout, split into passes that fit the GPU), with a LoRA adapter's A and B added
 * into the projections when `lora` is given.
 */
import type { LlamaEngine } from '../llm/engine';
import type { GpuLora } from '../llm/gpu-lora';
import type { TokenLogprobScorer } from './evaluate';

export function engineScorer(
  engine: Pick<LlamaEngine, 'forwardScores'>,
  lora: GpuLora | null = null,
  mode: 'shared' | 'separate' = 'shared',
): TokenLogprobScorer {
  return async (requests) => (await engine.forwardScores(requests, { lora, mode })).map((p) => p.actionTokenLogprobs);
}
