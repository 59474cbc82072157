/**
 * The scorers of evaluate.ts on the WebGPU engine: LlamaEngine.forwardTokenLogprobs, the passes of TWOSOME's
 * action scoring (shared-prompt layout, split into passes that fit the GPU) read per token, with a LoRA
 * adapter's A and B added into the projections when `lora` is given; and LlamaEngine.forwardPairedTokenLogprobs,
 * the same passes without and with the adapter and KL(base || adapted) per scored token (the capability check's
 * meanKl).
 */
import type { LlamaEngine } from '../llm/engine/engine';
import type { GpuLora } from '../llm/train/gpu-lora';
import type { PairedScorer, TokenLogprobScorer } from './evaluate';

export function engineScorer(
  engine: Pick<LlamaEngine, 'forwardTokenLogprobs'>,
  lora: GpuLora | null = null,
  mode: 'shared' | 'separate' = 'shared',
): TokenLogprobScorer {
  return async (requests) =>
    (await engine.forwardTokenLogprobs(requests, { lora, mode })).map((p) => p.actionTokenLogprobs);
}

export function enginePairedScorer(
  engine: Pick<LlamaEngine, 'forwardPairedTokenLogprobs'>,
  lora: GpuLora,
  mode: 'shared' | 'separate' = 'shared',
): PairedScorer {
  return async (requests) => {
    const prompts = await engine.forwardPairedTokenLogprobs(requests, { lora, mode });
    return { base: prompts.map((p) => p.base), adapted: prompts.map((p) => p.adapted), kl: prompts.map((p) => p.kl) };
  };
}
