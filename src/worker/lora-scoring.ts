/**
 * Scoring one prompt's actions with a LoRA adapter on the engine, without a trainer (no optimizer moments):
 * the same shared-prompt pass as LlamaEngine.score, with the adapter added into the projections
 * (LlamaEngine.forwardScores' `lora` option, split into passes that fit the GPU's limits like score's). The frozen
 * model goes through LlamaEngine.score itself.
 */
import type { LlamaEngine } from '../llm/engine/engine';
import { destroyLora, uploadLora, type GpuLora } from '../llm/train/gpu-lora';
import type { LoraAdapter } from '../llm/train/lora';
import { actionDistribution } from '../rl/policy';
import { countWords } from '../util/words';
import type { ScorerResult } from './agent-host';

/** An adapter's A and B on the engine's device (release with `release`). */
export function uploadAdapter(engine: LlamaEngine, adapter: LoraAdapter): GpuLora {
  return uploadLora(engine.gpu.device, adapter);
}

export function release(lora: GpuLora | null): void {
  if (lora) destroyLora(lora);
}

export async function scoreOnEngine(engine: LlamaEngine, lora: GpuLora | null, prompt: string, actions: readonly string[]): Promise<ScorerResult> {
  if (!lora) {
    const [scored] = await engine.score([{ prompt, actions }]);
    return {
      actions: scored.actions.map(({ text, logprob, nTokens, nWords }) => ({ text, logprob, nTokens, nWords })),
      policy: scored.policy,
      promptTokens: scored.promptTokenIds.length,
    };
  }
  if (actions.length === 0) throw new Error('score: a prompt needs at least one action');
  const tok = engine.tokenizer;
  const promptTokens = tok.encodePrompt(prompt);
  const actionTokens = actions.map((a) => tok.encodeAction(prompt, a));
  const longest = promptTokens.length + Math.max(...actionTokens.map((ids) => ids.length));
  if (longest > engine.config.contextWindow) {
    throw new Error(`score: prompt + action is ${longest} tokens, longer than the model's context window of ${engine.config.contextWindow}`);
  }
  const [{ actionTokenLogprobs }] = await engine.forwardScores([{ promptTokens, actionTokens }], { lora });
  const scored = actions.map((text, k) => {
    const lps = actionTokenLogprobs[k];
    return { text, logprob: lps.reduce((a, b) => a + b, 0), nTokens: lps.length, nWords: countWords(text) };
  });
  const policy = (mode: 'sum' | 'token' | 'word') => Array.from(actionDistribution(scored, mode).probs);
  return { actions: scored, policy: { sum: policy('sum'), token: policy('token'), word: policy('word') }, promptTokens: promptTokens.length };
}
