/**
 * TWOSOME action scoring on the CPU (spec twosome.md section 1), done the straightforward way: every
 * `BOS + prompt + action` sequence runs in full through the reference forward. It is the ground truth the
 * GPU's shared-prompt scoring is compared with.
 *
 * For a prompt and actions a_1..a_N:
 *   S_k   = sum over the action's tokens j of log p(tok_j | BOS, prompt, earlier action tokens)
 *   n_k   = number of action tokens, W_k = whitespace word count
 *   critic feature = final-norm hidden state of the last prompt token of BOS + prompt (prompt only)
 * The policy over the actions (normalization by 1, n_k or W_k, then softmax) is src/rl/policy.ts's.
 */
import { countWords } from '../../util/words';
import type { LlamaWeights } from '../model/weights';
import type { ScoringTokenizer } from '../scores';
import { llamaForward, logSoftmax } from './llama';

export interface ActionScore {
  text: string;
  tokenIds: number[];
  /** log p of each action token given everything before it. */
  tokenLogprobs: number[];
  /** S: the sum of tokenLogprobs. */
  logprob: number;
  nTokens: number;
  nWords: number;
}

export interface ScoreResult {
  /** BOS + prompt ids. */
  promptIds: number[];
  actions: ActionScore[];
  /** [H]: final-norm hidden state at the last prompt token. */
  critic: Float32Array;
}

/** softmax of z (max-subtracted, float64). */
export function softmax(z: readonly number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

/** Log-probs of `actionIds` continuing `promptIds` (BOS first), from one full forward of the joint sequence. */
export function actionTokenLogprobs(
  weights: LlamaWeights,
  promptIds: readonly number[],
  actionIds: readonly number[],
): number[] {
  if (promptIds.length === 0) throw new RangeError('scoring: the prompt needs at least BOS');
  if (actionIds.length === 0) throw new RangeError('scoring: an action needs at least one token');
  const sequence = [...promptIds, ...actionIds];
  const V = weights.config.vocabSize;
  const first = promptIds.length - 1; // the row that predicts the first action token
  const { logits } = llamaForward(weights, sequence, { skipLogitsBefore: first });
  const rows = actionIds.length;
  const logp = logSoftmax(logits.subarray(first * V, (first + rows) * V), rows, V);
  return actionIds.map((id, j) => logp[j * V + id]);
}

/** The final-norm hidden state [H] of the last token of BOS + prompt. */
export function criticFeature(weights: LlamaWeights, promptIds: readonly number[]): Float32Array {
  const H = weights.config.hidden;
  const { hidden } = llamaForward(weights, promptIds, { skipLogitsBefore: promptIds.length });
  return hidden.slice((promptIds.length - 1) * H, promptIds.length * H);
}

/** Scores token sequences directly (no tokenizer): texts are used for the word counts only. */
export function scoreTokenSequences(
  weights: LlamaWeights,
  promptIds: readonly number[],
  actions: readonly { text: string; tokenIds: readonly number[] }[],
): ScoreResult {
  const scored = actions.map(({ text, tokenIds }) => {
    const tokenLogprobs = actionTokenLogprobs(weights, promptIds, tokenIds);
    const nWords = countWords(text);
    if (nWords === 0) throw new RangeError(`scoring: action "${text}" has no words`);
    return {
      text,
      tokenIds: [...tokenIds],
      tokenLogprobs,
      logprob: tokenLogprobs.reduce((a, b) => a + b, 0),
      nTokens: tokenIds.length,
      nWords,
    };
  });
  return { promptIds: [...promptIds], actions: scored, critic: criticFeature(weights, promptIds) };
}

/** TWOSOME scoring of `actions` after `prompt`. */
export function scoreActions(
  weights: LlamaWeights,
  tokenizer: ScoringTokenizer,
  prompt: string,
  actions: readonly string[],
): ScoreResult {
  if (actions.length === 0) throw new RangeError('scoring: no actions');
  const promptIds = tokenizer.encodePrompt(prompt);
  return scoreTokenSequences(
    weights,
    promptIds,
    actions.map((text) => ({ text, tokenIds: tokenizer.encodeAction(prompt, text) })),
  );
}
