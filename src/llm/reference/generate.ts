/**
 * CPU reference of free generation (../generation.ts): the next-token logits from the reference forward of the
 * whole sequence so far (backward.ts loraSequenceForward, float32 activations as the GPU computes them, with
 * the LoRA adapter when given), recomputed for every token: no cache, the plain definition that the GPU's KV
 * cache (engine/generate.ts) must reproduce.
 */
import type { LlamaWeights } from '../model/weights';
import type { LoraAdapter } from '../train/lora';
import { generate, type Generation, type GenerationOptions, type NextTokenModel } from '../generation';
import { loraSequenceForward } from './backward';

/** Next-token logits of the reference model, the sequence recomputed at every step. */
export function referenceNextTokenModel(weights: LlamaWeights, adapter: LoraAdapter | null): NextTokenModel {
  let tokens: number[] = [];
  const lastLogits = async () => {
    const options = { precision: 'float32' } as const;
    return loraSequenceForward(weights, adapter, tokens, [tokens.length - 1], [0], options).logits as Float32Array;
  };
  return {
    prefill: (promptTokens) => {
      tokens = [...promptTokens];
      return lastLogits();
    },
    step: (token, position) => {
      if (position !== tokens.length)
        throw new RangeError(`reference generation: position ${position} after ${tokens.length} tokens`);
      tokens.push(token);
      return lastLogits();
    },
  };
}

/** Generation on the CPU reference, with `adapter` (null: the frozen model). */
export function generateReference(
  weights: LlamaWeights,
  adapter: LoraAdapter | null,
  tokenizer: { decode(ids: readonly number[]): string },
  promptTokens: readonly number[],
  options: GenerationOptions,
): Promise<Generation> {
  const { contextWindow, eosTokenIds } = weights.config;
  const text = { decode: (ids: readonly number[]) => tokenizer.decode(ids), eosTokenIds, contextWindow };
  return generate(referenceNextTokenModel(weights, adapter), text, promptTokens, options);
}
