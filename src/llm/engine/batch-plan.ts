/**
 * Splitting a scoring or training batch that the GPU's limits cannot hold in one pass.
 *
 * One pass over R rows and J scored tokens allocates activations whose size grows with the batch (forward.ts):
 * logits [J, V], gate_up [R, 2I], qkv [R, (H + 2 KVH) hd], the residual [R, D] (and as many gradients in
 * training); each must fit one storage binding (min(maxStorageBufferBindingSize, maxBufferSize)), and the
 * kernels dispatch one workgroup per row or scored token, at most maxComputeWorkgroupsPerDimension. With a
 * Llama-3 vocabulary (128256) a 128 MiB binding holds the logits of only ~255 scored tokens.
 *
 * So a batch that does not fit is run as several passes: groups of whole prompts (greedy, in order), and a
 * prompt whose actions alone do not fit is split into pieces of consecutive actions, each piece re-running the
 * shared prompt. Every row's values depend only on its own prompt and action (attention never crosses a
 * prompt, and every other kernel is per row), so the split results equal one pass's: log-probs and prompt
 * hidden states bit for bit, training gradients up to the order of the sums over rows. Only one prompt with one
 * action that does not fit is refused (BatchTooLargeError).
 */
import type { ModelShape } from './forward';
import { bindingLimit } from './gpu-weights';
import type { ScoringLayout, ScoringRequest } from './scoring-layout';
import { sumActionScores, type ActionScores, type ScoringBatch } from '../scores';

export class BatchTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchTooLargeError';
  }
}

/** What one pass may use. */
export interface BatchLimits {
  /** Bytes one activation buffer may hold: min(maxStorageBufferBindingSize, maxBufferSize), or a test's smaller cap. */
  bindingBytes: number;
  /** Workgroups per dispatch dimension (kernels dispatch one per row or per scored token). */
  workgroupsPerDimension: number;
}

/** This device's limits; `maxBindingBytes` caps the binding size further (tests force splits with it). */
export function deviceBatchLimits(device: GPUDevice, maxBindingBytes?: number): BatchLimits {
  return {
    bindingBytes: bindingLimit(device, maxBindingBytes),
    workgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
  };
}

/** Why a pass does not fit: the first buffer over the binding limit, or a dispatch over the workgroup limit. */
export type BatchOverflow =
  { kind: 'buffer'; buffer: string; bytes: number; limit: number } | { kind: 'dispatch'; rows: number; limit: number };

/**
 * The activations of one pass whose size grows with the batch, largest per row first (h [R, I] and attn
 * [R, H hd] are never larger than gate_up and qkv; the backward's gradients have the same shapes).
 */
export function batchBuffers(shape: ModelShape, rows: number, logitRows: number): { name: string; bytes: number }[] {
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, vocabSize: V } = shape;
  return [
    { name: 'logits [scored tokens, vocab]', bytes: logitRows * V * 4 },
    { name: 'gate_up [rows, 2 x intermediate]', bytes: rows * 2 * I * 4 },
    { name: 'qkv [rows, (heads + 2 kv heads) x head_dim]', bytes: rows * (H + 2 * KVH) * hd * 4 },
    { name: 'residual [rows, hidden]', bytes: rows * D * 4 },
  ];
}

/** The first limit a pass of R rows and J scored tokens exceeds, or null when it fits. */
export function batchOverflow(
  shape: ModelShape,
  limits: BatchLimits,
  rows: number,
  logitRows: number,
): BatchOverflow | null {
  for (const { name, bytes } of batchBuffers(shape, rows, logitRows)) {
    if (bytes > limits.bindingBytes) return { kind: 'buffer', buffer: name, bytes, limit: limits.bindingBytes };
  }
  const most = Math.max(rows, logitRows);
  if (most > limits.workgroupsPerDimension)
    return { kind: 'dispatch', rows: most, limit: limits.workgroupsPerDimension };
  return null;
}

/**
 * The most rows and scored tokens one pass may have under `limits` (each on its own): what a padded pass's
 * capacity is capped at, so that padding a batch that fits never makes it overflow.
 */
export function passLimits(shape: ModelShape, limits: BatchLimits): { rows: number; logitRows: number } {
  const [logits, ...perRow] = batchBuffers(shape, 1, 1);
  const rowBytes = Math.max(...perRow.map((b) => b.bytes));
  const cap = (bytes: number) =>
    Math.max(1, Math.min(Math.floor(limits.bindingBytes / bytes), limits.workgroupsPerDimension));
  return { rows: cap(rowBytes), logitRows: cap(logits.bytes) };
}

/** MiB as users read limits; small (test) sizes in bytes. */
const mib = (bytes: number) => (bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${bytes} bytes`);

/** "a logits [...] buffer of 19.5 MiB but this GPU allows 16.0 MiB per buffer" */
export function describeOverflow(o: BatchOverflow): string {
  return o.kind === 'buffer'
    ? `a ${o.buffer} buffer of ${mib(o.bytes)} but this GPU allows ${mib(o.limit)} per buffer`
    : `${o.rows} rows but a dispatch allows ${o.limit} workgroups per dimension`;
}

/** Refuses, before anything is allocated, one pass that does not fit (callers split first: planBatchGroups). */
export function checkBatchFits(limits: BatchLimits, shape: ModelShape, rows: number, logitRows: number): void {
  const o = batchOverflow(shape, limits, rows, logitRows);
  if (o)
    throw new BatchTooLargeError(
      `this pass needs ${describeOverflow(o)}: split the batch into groups that fit (planBatchGroups; LlamaEngine and LoraTrainer do)`,
    );
}

/** Token counts of one prompt (BOS included) and of each of its actions. */
export interface PromptSize {
  promptTokens: number;
  actionTokens: readonly number[];
}

/** Actions [from, to) of one prompt, scored after that prompt: one request of a pass. */
export interface BatchPiece {
  prompt: number;
  from: number;
  to: number;
}

/** One pass: its pieces, in order. */
export type BatchGroup = BatchPiece[];

type Mode = 'shared' | 'separate';

/** R and J of actions [from, to) after their prompt: shared, the prompt once; separate, once per action. */
function pieceRows(size: PromptSize, from: number, to: number, mode: Mode): { rows: number; logitRows: number } {
  let actionTokens = 0;
  for (let k = from; k < to; k++) actionTokens += size.actionTokens[k];
  const prompts = mode === 'shared' ? 1 : to - from;
  return { rows: prompts * size.promptTokens + actionTokens, logitRows: actionTokens };
}

/** The refusal of what cannot be split further: one prompt with one action (or with none). */
function tooLarge(p: number, size: PromptSize, action: number | null, overflow: BatchOverflow): BatchTooLargeError {
  const what = action === null ? 'alone' : `with its action ${action + 1} alone (${size.actionTokens[action]} tokens)`;
  return new BatchTooLargeError(
    `prompt ${p + 1} (${size.promptTokens} tokens) ${what} needs ${describeOverflow(overflow)}, and one prompt with one action cannot be split further: use a GPU with larger limits (maxStorageBufferBindingSize, maxBufferSize), a smaller model or a shorter prompt`,
  );
}

/**
 * A prompt as pieces that each fit alone: the whole prompt when it fits, else runs of consecutive actions
 * (greedy). Throws when one action with its prompt does not fit: nothing smaller can be run.
 */
function promptPieces(
  p: number,
  size: PromptSize,
  overflowOf: (rows: number, logitRows: number) => BatchOverflow | null,
  mode: Mode,
): BatchPiece[] {
  const N = size.actionTokens.length;
  const whole = pieceRows(size, 0, N, mode);
  const overflow = overflowOf(whole.rows, whole.logitRows);
  if (!overflow) return [{ prompt: p, from: 0, to: N }];
  if (N === 0) throw tooLarge(p, size, null, overflow);
  const pieces: BatchPiece[] = [];
  for (let from = 0; from < N;) {
    const one = pieceRows(size, from, from + 1, mode);
    const alone = overflowOf(one.rows, one.logitRows);
    if (alone) throw tooLarge(p, size, from, alone);
    let to = from + 1;
    while (to < N) {
      const more = pieceRows(size, from, to + 1, mode);
      if (overflowOf(more.rows, more.logitRows)) break;
      to++;
    }
    pieces.push({ prompt: p, from, to });
    from = to;
  }
  return pieces;
}

/**
 * Splits a batch into passes that fit `limits`: every prompt as pieces that fit alone (promptPieces), then the
 * pieces packed greedily, in order, into groups. One group when the whole batch fits.
 */
export function planBatchGroups(
  sizes: readonly PromptSize[],
  shape: ModelShape,
  limits: BatchLimits,
  mode: Mode = 'shared',
): BatchGroup[] {
  const overflowOf = (rows: number, logitRows: number) => batchOverflow(shape, limits, rows, logitRows);
  const groups: BatchGroup[] = [];
  let group: BatchGroup = [];
  let rows = 0;
  let logitRows = 0;
  for (const piece of sizes.flatMap((size, p) => promptPieces(p, size, overflowOf, mode))) {
    const add = pieceRows(sizes[piece.prompt], piece.from, piece.to, mode);
    if (group.length > 0 && overflowOf(rows + add.rows, logitRows + add.logitRows)) {
      groups.push(group);
      group = [];
      rows = 0;
      logitRows = 0;
    }
    group.push(piece);
    rows += add.rows;
    logitRows += add.logitRows;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/** Token counts of tokenized requests (the planner's input). */
export function requestSizes(requests: readonly ScoringRequest[]): PromptSize[] {
  return requests.map((r) => ({
    promptTokens: r.promptTokens.length,
    actionTokens: r.actionTokens.map((a) => a.length),
  }));
}

/** The scoring requests of one group: each piece's prompt with its actions. */
export function groupRequests(requests: readonly ScoringRequest[], group: BatchGroup): ScoringRequest[] {
  return group.map(({ prompt, from, to }) => ({
    promptTokens: requests[prompt].promptTokens,
    actionTokens: requests[prompt].actionTokens.slice(from, to),
  }));
}

/** One prompt's results, put back together from its pieces. */
export interface PromptLogprobs {
  /** Per action: the log-prob of each of its tokens. */
  actionTokenLogprobs: Float32Array[];
  /** [hidden]: final-norm hidden state of the prompt's last token (from its first piece; every piece computes the same). */
  lastPromptHidden: Float32Array;
}

/** One group's pass: its pieces, its layout (planScoring of groupRequests) and what the forward returned. */
export interface GroupResult {
  group: BatchGroup;
  layout: ScoringLayout;
  tokenLogprobs: Float32Array;
  /** [pieces, hidden]. */
  lastPromptHidden: Float32Array;
}

/** Per prompt, the token log-probs of every action and the prompt's hidden state, from the groups' passes. */
export function mergeGroupResults(
  sizes: readonly PromptSize[],
  results: readonly GroupResult[],
  hidden: number,
): PromptLogprobs[] {
  const merged = sizes.map((s) => ({
    actionTokenLogprobs: new Array<Float32Array>(s.actionTokens.length),
    lastPromptHidden: null as Float32Array | null,
  }));
  for (const { group, layout, tokenLogprobs, lastPromptHidden } of results) {
    group.forEach(({ prompt, from, to }, i) => {
      const out = merged[prompt];
      for (let k = from; k < to; k++) {
        const { first, count } = layout.actionLogitRanges[i][k - from];
        out.actionTokenLogprobs[k] = tokenLogprobs.slice(first, first + count);
      }
      out.lastPromptHidden ??= lastPromptHidden.slice(i * hidden, (i + 1) * hidden);
    });
  }
  return merged.map((m, p) => {
    if (!m.lastPromptHidden || m.actionTokenLogprobs.some((a) => a === undefined))
      throw new Error(`mergeGroupResults: prompt ${p} is missing from the groups`);
    return { actionTokenLogprobs: m.actionTokenLogprobs, lastPromptHidden: m.lastPromptHidden };
  });
}

/**
 * Per prompt, the scores of its actions (summed token log-probs, counts) and its hidden state, from the groups'
 * passes.
 */
export function mergeGroupScores(batch: ScoringBatch, results: readonly GroupResult[], hidden: number): ActionScores[] {
  const merged = mergeGroupResults(requestSizes(batch), results, hidden);
  return merged.map((m, p) => sumActionScores(batch[p], m.actionTokenLogprobs, m.lastPromptHidden));
}

/** dL/d(token log-prob) of one group's scored tokens: each action's dL/dS on every one of its tokens. */
export function groupTokenGrads(
  group: BatchGroup,
  layout: ScoringLayout,
  dLdS: readonly ArrayLike<number>[],
): Float32Array {
  const grads = new Float32Array(layout.logitRows.length);
  group.forEach(({ prompt, from, to }, i) => {
    for (let k = from; k < to; k++) {
      const { first, count } = layout.actionLogitRanges[i][k - from];
      grads.fill(dLdS[prompt][k], first, first + count);
    }
  });
  return grads;
}
