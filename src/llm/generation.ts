/**
 * Free generation: the model continues a prompt as plain text, one token at a time, greedy (temperature 0) or
 * sampled (softmax of logits / temperature, from a seeded Rng), until a newline, an end-of-sequence token, the
 * token budget or the context window. TWOSOME exists because an LLM asked this way proposes actions the
 * environment does not offer; matchAction says whether the text is one of the offered actions.
 *
 * The loop is the same on the GPU (engine/generate.ts, a KV cache: the prompt once, then one row per token)
 * and on the CPU (reference/generate.ts, the whole sequence again per token), which supply the next-token
 * logits; so greedy generation on both must agree token for token.
 */
import { Rng } from '../util/rng';

export interface GenerationOptions {
  /** Tokens to generate at most (the newline or EOS may stop it earlier). */
  maxTokens: number;
  /** 0: greedy (argmax, the lowest id on ties); > 0: sample from softmax(logits / temperature). */
  temperature: number;
  /** Seeds the sampler (unused when greedy). */
  seed: number;
}

export const DEFAULT_GENERATION: GenerationOptions = { maxTokens: 24, temperature: 0, seed: 0 };

/** Why generation stopped. */
export type StopReason = 'newline' | 'eos' | 'max-tokens' | 'context';

export interface Generation {
  /** The generated token ids (without an EOS that stopped it; with the token that held the newline). */
  tokenIds: number[];
  /** The decoded text, cut before its first newline. */
  text: string;
  stop: StopReason;
}

/** A model that gives the next-token logits [V]: after the prompt, then after each token it is fed. */
export interface NextTokenModel {
  /** Runs the prompt (BOS first); the logits of its last position. */
  prefill(promptTokens: readonly number[]): Promise<Float32Array>;
  /** Feeds the token at `position`; the logits that follow it. */
  step(token: number, position: number): Promise<Float32Array>;
}

export interface GenerationText {
  decode(ids: readonly number[]): string;
  eosTokenIds: readonly number[];
  /** The model's context window: prompt + generated tokens stay within it. */
  contextWindow: number;
}

export function checkGenerationOptions(o: GenerationOptions): void {
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1)
    throw new RangeError(`maxTokens must be a positive integer, got ${o.maxTokens}`);
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature))
    throw new RangeError(`temperature must be 0 or more, got ${o.temperature}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
}

/** A prompt must hold BOS and leave room for a token in the context window. */
export function checkGenerationPrompt(promptLength: number, contextWindow: number): void {
  if (promptLength === 0) throw new RangeError('generation needs a prompt of at least one token (BOS)');
  if (promptLength >= contextWindow) {
    throw new RangeError(`the prompt's ${promptLength} tokens leave no room in the context window (${contextWindow})`);
  }
}

/** The next token from logits [V]: argmax when temperature is 0, else a draw from softmax(logits / temperature). */
export function pickToken(logits: ArrayLike<number>, temperature: number, rng: Rng): number {
  let best = 0;
  for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
  if (temperature === 0) return best;
  const weights = new Float64Array(logits.length);
  for (let v = 0; v < logits.length; v++) weights[v] = Math.exp((logits[v] - logits[best]) / temperature);
  return rng.categorical(weights);
}

/** The positions prompt + generated tokens need at most: what a KV cache holds. */
export function generationLength(promptLength: number, o: GenerationOptions, contextWindow: number): number {
  return Math.min(promptLength + o.maxTokens, contextWindow);
}

/** Generates from `model` after `promptTokens` (BOS first). */
export async function generate(
  model: NextTokenModel,
  text: GenerationText,
  promptTokens: readonly number[],
  options: GenerationOptions,
): Promise<Generation> {
  checkGenerationOptions(options);
  checkGenerationPrompt(promptTokens.length, text.contextWindow);
  const rng = new Rng(options.seed);
  const end = generationLength(promptTokens.length, options, text.contextWindow);
  const ids: number[] = [];
  let logits = await model.prefill(promptTokens);
  for (;;) {
    const token = pickToken(logits, options.temperature, rng);
    if (text.eosTokenIds.includes(token)) return { tokenIds: ids, text: text.decode(ids), stop: 'eos' };
    ids.push(token);
    const decoded = text.decode(ids);
    const newline = decoded.indexOf('\n');
    if (newline >= 0) return { tokenIds: ids, text: decoded.slice(0, newline), stop: 'newline' };
    const position = promptTokens.length + ids.length - 1;
    if (ids.length >= options.maxTokens) return { tokenIds: ids, text: decoded, stop: 'max-tokens' };
    if (position + 1 >= end) return { tokenIds: ids, text: decoded, stop: 'context' };
    logits = await model.step(token, position);
  }
}

/**
 * The offered action the text names, or null: equal after trimming whitespace at both ends (the prompt and
 * its continuation meet at a space; nothing else is forgiven: not case, not punctuation).
 */
export function matchAction(text: string, actions: readonly string[]): number | null {
  const index = actions.findIndex((a) => a.trim() === text.trim());
  return index >= 0 ? index : null;
}

/** A generation, and the offered action it names (matchAction), or null. */
export interface FreeAnswer extends Generation {
  action: number | null;
}

/** What the model says when asked freely: the frozen model's answer and, with an adapter, the adapted one's. */
export interface FreeAnswers {
  base: FreeAnswer;
  adapted: FreeAnswer | null;
}

/** How matchAction compares (for output that says it). */
export const ACTION_MATCH_RULE = 'exact match after trimming whitespace';
