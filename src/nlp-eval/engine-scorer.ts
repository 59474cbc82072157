/**
 * The scorer of evaluate.ts on the WebGPU engine: LlamaEngine.forwardTokenLogprobs, the passes of TWOSOME's
 * action scoring (shared-prompt layout, split into passes that fit the GPU) read per token, with a LoRA
 * adapter's A and B added into the projections when `lora` is given.
 */
import type { LlamaEngine } from '../llm/engine/engine';
import type { GpuLora } from '../llm/train/gpu-lora';
import type { TokenLogprobScorer } from './evaluate';

export function engineScorer(
  engine: Pick<LlamaEngine, 'forwardTokenLogprobs'>,
  lora: GpuLora | null = null,
  mode: 'shared' | 'separate' = 'shared',
): TokenLogprobScorer {
  return async (requests) => (await engine.forwardTokenLogprobs(requests, { lora, mode })).map((p) => p.actionTokenLogprobs);
}
