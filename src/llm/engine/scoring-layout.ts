/**
 * The row layout of one action-scoring pass (TWOSOME, spec section 1): which tokens go through the model,
 * at which positions, which keys each row attends to, and where log-probs are read.
 *
 * Shared mode (ours): each prompt's rows once, then each action's rows, which attend to the whole prompt and
 * to their own earlier tokens only (attention.wgsl's two key segments). The prompt is computed once for all
 * its actions, and the result equals scoring every `prompt + " " + action` sequence on its own.
 *
 * Separate mode (the original implementation's method, kept for the benchmark and as a cross-check): every
 * `BOS + prompt + action` is its own causal sequence.
 *
 * Log-probs: action token j (0-based) of an action is predicted by the row before it: the last prompt row
 * for j = 0, action row j - 1 otherwise. Those rows are the "logit rows"; the vocabulary projection and the
 * log-softmax run on them only, and an action's log-prob is the sum over its own logit rows.
 */

export interface ScoringRequest {
  /** Prompt token ids, BOS first. */
  promptTokens: number[];
  /** Each action's token ids as they appear after `prompt + " "` (no BOS). */
  actionTokens: number[][];
}

export interface ScoringLayout {
  mode: 'shared' | 'separate';
  /** Token id of every row. */
  tokens: Uint32Array;
  /** RoPE position of every row. */
  positions: Uint32Array;
  /** Per row: [start1, len1, start2, len2], the two row segments it attends to. */
  segments: Uint32Array;
  /** Rows whose logits are needed, and the token each must score. */
  logitRows: Uint32Array;
  targets: Uint32Array;
  /** Per request, per action: the range [first, first + count) of logit rows that sum to its log-prob. */
  actionLogitRanges: { first: number; count: number }[][];
  /** Per request: the row of its last prompt token (the critic reads its final-norm hidden state). */
  lastPromptRows: Uint32Array;
}

export function planScoring(
  requests: readonly ScoringRequest[],
  mode: 'shared' | 'separate' = 'shared',
): ScoringLayout {
  const tokens: number[] = [];
  const positions: number[] = [];
  const segments: number[] = [];
  const logitRows: number[] = [];
  const targets: number[] = [];
  const actionLogitRanges: { first: number; count: number }[][] = [];
  const lastPromptRows: number[] = [];

  const pushPrompt = (prompt: number[]): number => {
    const start = tokens.length;
    prompt.forEach((token, i) => {
      tokens.push(token);
      positions.push(i);
      segments.push(start, i + 1, 0, 0); // causal within the prompt
    });
    return start;
  };

  for (const { promptTokens, actionTokens } of requests) {
    if (promptTokens.length === 0) throw new Error('scoring: a prompt needs at least one token (BOS)');
    const ranges: { first: number; count: number }[] = [];
    let sharedStart = -1;
    if (mode === 'shared') {
      sharedStart = pushPrompt(promptTokens);
      lastPromptRows.push(sharedStart + promptTokens.length - 1);
    }
    for (const action of actionTokens) {
      if (action.length === 0) throw new Error('scoring: an action needs at least one token');
      const promptStart = mode === 'shared' ? sharedStart : pushPrompt(promptTokens);
      if (mode === 'separate' && ranges.length === 0) lastPromptRows.push(promptStart + promptTokens.length - 1);
      const actionStart = tokens.length;
      const first = logitRows.length;
      action.forEach((token, j) => {
        tokens.push(token);
        positions.push(promptTokens.length + j);
        if (mode === 'shared') segments.push(promptStart, promptTokens.length, actionStart, j + 1);
        else segments.push(promptStart, promptTokens.length + j + 1, 0, 0); // one contiguous causal sequence
        logitRows.push(j === 0 ? promptStart + promptTokens.length - 1 : actionStart + j - 1);
        targets.push(token);
      });
      ranges.push({ first, count: action.length });
    }
    actionLogitRanges.push(ranges);
  }

  return {
    mode,
    tokens: Uint32Array.from(tokens),
    positions: Uint32Array.from(positions),
    segments: Uint32Array.from(segments),
    logitRows: Uint32Array.from(logitRows),
    targets: Uint32Array.from(targets),
    actionLogitRanges,
    lastPromptRows: Uint32Array.from(lastPromptRows),
  };
}

/** Segments of one causal sequence of `rows` rows: row r reads rows 0..r. */
export function causalSegments(rows: number): Uint32Array {
  const seg = new Uint32Array(4 * rows);
  for (let r = 0; r < rows; r++) seg[4 * r + 1] = r + 1;
  return seg;
}

/**
 * For every row, the rows that read it as a key (the transpose of the attention segments), CSR-style:
 * readers[offsets[k] .. offsets[k + 1]]. The attention backward sums dK and dV per key row over these.
 */
export function keyReaders(segments: ArrayLike<number>, rows: number): { offsets: Uint32Array; readers: Uint32Array } {
  const lists: number[][] = Array.from({ length: rows }, () => []);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < segments[4 * r + 1]; i++) lists[segments[4 * r] + i].push(r);
    for (let i = 0; i < segments[4 * r + 3]; i++) lists[segments[4 * r + 2] + i].push(r);
  }
  return csr(lists);
}

/** For every row, the logit rows j gathered from it (the gather's transpose, for its scatter-add backward). */
export function gatherSources(
  rowsOfJ: ArrayLike<number>,
  rows: number,
): { offsets: Uint32Array; sources: Uint32Array } {
  const lists: number[][] = Array.from({ length: rows }, () => []);
  for (let j = 0; j < rowsOfJ.length; j++) lists[rowsOfJ[j]].push(j);
  const { offsets, readers } = csr(lists);
  return { offsets, sources: readers };
}

function csr(lists: number[][]): { offsets: Uint32Array; readers: Uint32Array } {
  const offsets = new Uint32Array(lists.length + 1);
  lists.forEach((l, i) => (offsets[i + 1] = offsets[i] + l.length));
  return { offsets, readers: Uint32Array.from(lists.flat()) };
}
