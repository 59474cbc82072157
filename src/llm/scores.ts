/**
 * The words of action scoring (spec twosome.md section 1), shared by the engine, the LoRA trainer, the CPU
 * reference and everything above them. One path for every caller:
 *
 *   requests (prompt + offered action texts)
 *     -> tokenizeRequests / LlamaEngine.tokenize: token ids and word counts, once      (ScoringBatch)
 *     -> LlamaEngine.forwardScores(batch, { lora }): one pass per group of the batch     (ActionScores[])
 *     -> the policy over the actions, in src/rl/policy.ts (sum, token or word normalization)
 *
 * Nothing here knows about normalizations or RL: a score is the model's summed log-prob of an action's
 * tokens after its prompt, with the counts that a normalization divides by.
 */
import { countWords } from '../util/words';
import type { ScoringRequest } from './engine/scoring-layout';

/** One prompt and the texts it offers (an environment's observation). */
export interface PolicyRequest {
  prompt: string;
  actions: readonly string[];
}

/** What scoring needs from a tokenizer (LlmTokenizer has it). */
export interface ScoringTokenizer {
  /** BOS + prompt ids. */
  encodePrompt(prompt: string): number[];
  /** The action's ids as they appear after `prompt + " "` (no BOS). */
  encodeAction(prompt: string, action: string): number[];
}

/** One request, tokenized: the ids the model runs, and each action's word count W_k. */
export interface TokenizedRequest extends ScoringRequest {
  /** Whitespace words of each action text (`countWords`). */
  actionWords: number[];
}

/** The tokenized requests of one scoring call, in order. */
export type ScoringBatch = readonly TokenizedRequest[];

/**
 * The model's scores of one prompt's actions, in the order offered:
 *   logprobs[k] = S_k, the sum of the log-probs of action k's tokens after `prompt + " "`
 *   nTokens[k]  = n_k, tokens of action k alone (no BOS)
 *   nWords[k]   = W_k, whitespace words of action k's text
 */
export interface ActionScores {
  logprobs: readonly number[];
  nTokens: readonly number[];
  nWords: readonly number[];
  /**
   * [hidden]: the final-norm hidden state of the prompt's last token in the pass that scored it; with no
   * adapter, the critic's input (spec 1.3). Set by the engine; absent where no model ran (test fakes) or
   * where scores are kept for later (evaluation's memo).
   */
  promptHidden?: Float32Array;
}

/**
 * Tokenizes requests once for scoring: BOS + prompt, each action as it continues `prompt + " "`, and the
 * word counts. Refuses a prompt without actions and, given the model's context window, a prompt and action
 * that do not fit it.
 */
export function tokenizeRequests(
  tokenizer: ScoringTokenizer,
  requests: readonly PolicyRequest[],
  contextWindow?: number,
): TokenizedRequest[] {
  return requests.map(({ prompt, actions }) => {
    if (actions.length === 0) throw new Error('score: a prompt needs at least one action');
    const promptTokens = tokenizer.encodePrompt(prompt);
    const actionTokens = actions.map((a) => tokenizer.encodeAction(prompt, a));
    const longest = promptTokens.length + Math.max(...actionTokens.map((ids) => ids.length));
    if (contextWindow !== undefined && longest > contextWindow) {
      throw new Error(
        `score: prompt + action is ${longest} tokens, longer than the model's context window of ${contextWindow}`,
      );
    }
    return { promptTokens, actionTokens, actionWords: actions.map(countWords) };
  });
}

/** Tokens a batch runs through the model (every prompt, and every action after it): for tokens/s. */
export function batchTokens(batch: ScoringBatch): number {
  return batch.reduce((n, r) => n + r.promptTokens.length + r.actionTokens.reduce((m, ids) => m + ids.length, 0), 0);
}

/**
 * ActionScores from per-token log-probs: S_k is the float64 sum, in token order, of action k's float32
 * token log-probs (every scoring path sums the same way, so the same tokens give the same S_k).
 */
export function sumActionScores(
  request: TokenizedRequest,
  tokenLogprobs: readonly ArrayLike<number>[],
  promptHidden?: Float32Array,
): ActionScores {
  const logprobs = tokenLogprobs.map((lps) => {
    let sum = 0;
    for (let j = 0; j < lps.length; j++) sum += lps[j];
    return sum;
  });
  const nTokens = tokenLogprobs.map((lps) => lps.length);
  return { logprobs, nTokens, nWords: request.actionWords, ...(promptHidden ? { promptHidden } : {}) };
}
