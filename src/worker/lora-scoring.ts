/**
 * Scoring one prompt's actions with a LoRA adapter on the engine, without a trainer (no optimizer moments):
 * the same shared-prompt pass as LlamaEngine.score, with the adapter added into the projections
 * (ScoringForward's `lora` option). The frozen model goes through LlamaEngine.score itself.
 */
import type { LlamaEngine } from '../llm/engine';
import { ScoringForward } from '../llm/forward';
import { destroyLora, uploadLora, type GpuLora } from '../llm/gpu-lora';
import type { LoraAdapter } from '../llm/lora';
import { planScoring } from '../llm/scoring-layout';
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
  const layout = planScoring([{ promptTokens, actionTokens }]);
  const forward = await ScoringForward.build(engine.gpu.device, engine.pipelines, engine.weights, layout, { lora });
  try {
    const { tokenLogprobs } = await forward.run();
    const scored = actions.map((text, k) => {
      const { first, count } = layout.actionLogitRanges[0][k];
      const logprob = tokenLogprobs.subarray(first, first + count).reduce((a, b) => a + b, 0);
      return { text, logprob, nTokens: count, nWords: countWords(text) };
    });
    const policy = (mode: 'sum' | 'token' | 'word') => Array.from(actionDistribution(scored, mode).probs);
    return { actions: scored, policy: { sum: policy('sum'), token: policy('token'), word: policy('word') }, promptTokens: promptTokens.length };
  } finally {
    forward.dispose();
  }
}
