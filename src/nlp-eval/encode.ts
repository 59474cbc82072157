/**
 * Tokenizing a question's requests as lm-evaluation-harness does, with BOS.
 *
 * `TemplateLM._encode_pair(context, continuation)` (lm_eval/api/model.py):
 *   n_spaces = len(context) - len(context.rstrip())
 *   if n_spaces > 0: continuation = context[-n_spaces:] + continuation; context = context[:-n_spaces]
 *   whole_enc = tok_encode(context + continuation); context_enc = tok_encode(context)
 *   continuation_enc = whole_enc[len(context_enc):]
 * so trailing whitespace of the context moves to the continuation, and the continuation's tokens are those of
 * the whole string after as many tokens as the context alone has (not checked to be a prefix: where a
 * tokenizer merges across the join, the harness still splits at that count, and so do we).
 *
 * BOS: the harness's HF model adds the tokenizer's special tokens when `add_bos_token` is set or, in recent
 * versions, by the tokenizer's default, which for Llama tokenizers is BOS first; BOS then heads both encodings
 * and cancels out of the split. We encode without special tokens and put BOS in front of the context, as the
 * issue asks (`contextTokenIds` with BOS) and as TWOSOME's prompts are scored.
 *
 * Too long: the harness scores `(context_enc + continuation_enc)[-(max_length + 1):][:-1]`
 * (HFLM._loglikelihood_tokens), i.e. it drops context tokens from the left (BOS first) until context +
 * continuation is max_length + 1 tokens, and the continuation alone must fit (`len(continuation_enc) <=
 * max_length`). We do the same per choice with the model's context window as max_length; the last continuation
 * token's row then sits at position max_length, which only feeds nothing (no later row reads it).
 */
import { pyRstrip } from './python-str';

/** What encoding needs from a tokenizer (LlmTokenizer has it). */
export interface PairTokenizer {
  readonly bosId: number;
  /** Token ids of `text`, without BOS. */
  encode(text: string): number[];
}

export interface EncodedPair {
  /** BOS + the context's tokens (after left truncation, BOS may be gone). */
  contextIds: number[];
  continuationIds: number[];
  /** Whether context tokens were dropped to fit the context window. */
  truncated: boolean;
}

/** Thrown for a request that cannot be scored (empty continuation, continuation longer than the window). */
export class RequestTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestTokenError';
  }
}

/** `_encode_pair`, with BOS in front of the context; `contextWindow` truncates as the harness does. */
export function encodePair(
  tokenizer: PairTokenizer,
  context: string,
  continuation: string,
  contextWindow = Infinity,
): EncodedPair {
  const stripped = pyRstrip(context);
  const movedSpaces = context.slice(stripped.length);
  const contextEnc = tokenizer.encode(stripped);
  const whole = tokenizer.encode(stripped + movedSpaces + continuation);
  const continuationIds = whole.slice(contextEnc.length);
  if (continuationIds.length === 0) {
    throw new RequestTokenError(`the continuation ${JSON.stringify(continuation)} has no tokens after its context's`);
  }
  if (continuationIds.length > contextWindow) {
    const detail = `longer than the model's context window of ${contextWindow}`;
    throw new RequestTokenError(`the continuation is ${continuationIds.length} tokens, ${detail}`);
  }
  let contextIds = [tokenizer.bosId, ...contextEnc];
  const excess = contextIds.length + continuationIds.length - (contextWindow + 1);
  if (excess > 0) contextIds = contextIds.slice(excess);
  return { contextIds, continuationIds, truncated: excess > 0 };
}
