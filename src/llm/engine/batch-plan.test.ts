import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { architectureConfig } from '../model/catalog';
import {
  BatchTooLargeError,
  batchOverflow,
  groupRequests,
  groupTokenGrads,
  mergeGroupResults,
  planBatchGroups,
  requestSizes,
  type BatchGroup,
  type BatchLimits,
  type GroupResult,
  type PromptSize,
} from './batch-plan';
import { planScoring, type ScoringRequest } from './scoring-layout';

// A tiny shape with easy bytes: per row, residual 16, qkv 48, gate_up 64; per scored token, logits 400.
const shape = {
  hidden: 4,
  intermediate: 8,
  heads: 1,
  kvHeads: 1,
  headDim: 4,
  layers: 1,
  vocabSize: 100,
  rmsNormEps: 1e-5,
};
// 1200 bytes: at most 3 scored tokens (logits) and 18 rows (gate_up) per pass.
const limits: BatchLimits = { bindingBytes: 1200, workgroupsPerDimension: 65535 };
const size = (promptTokens: number, ...actionTokens: number[]): PromptSize => ({ promptTokens, actionTokens });
const whole = (prompt: number, actions: number) => ({ prompt, from: 0, to: actions });

/** Rows and scored tokens of a group in the shared layout. */
function groupRows(sizes: readonly PromptSize[], group: BatchGroup): { rows: number; logitRows: number } {
  let rows = 0;
  let logitRows = 0;
  for (const { prompt, from, to } of group) {
    const n = sizes[prompt].actionTokens.slice(from, to).reduce((a, b) => a + b, 0);
    rows += sizes[prompt].promptTokens + n;
    logitRows += n;
  }
  return { rows, logitRows };
}

describe('planBatchGroups', () => {
  it('keeps a batch that fits as one group of whole prompts', () => {
    const sizes = [size(5, 1, 1), size(4, 1)];
    expect(planBatchGroups(sizes, shape, limits)).toEqual([[whole(0, 2), whole(1, 1)]]);
  });

  it('groups whole prompts greedily, in order, each group within the limits', () => {
    // J = 2, 1, 2, 1: the logits cap (3 per pass) closes a group whenever the next prompt would pass it.
    const sizes = [size(3, 1, 1), size(3, 1), size(3, 2), size(3, 1)];
    const groups = planBatchGroups(sizes, shape, limits);
    expect(groups).toEqual([
      [whole(0, 2), whole(1, 1)],
      [whole(2, 1), whole(3, 1)],
    ]);
    for (const g of groups) {
      const { rows, logitRows } = groupRows(sizes, g);
      expect(batchOverflow(shape, limits, rows, logitRows)).toBeNull();
    }
  });

  it('splits the actions of a prompt that does not fit alone, and packs its last piece with the next prompt', () => {
    // Prompt 0 scores 5 tokens (over 3): pieces [actions 0, 1] (J 3) and [action 2] (J 2); prompt 1 (J 1) joins the last.
    const sizes = [size(4, 1, 2, 2), size(2, 1)];
    expect(planBatchGroups(sizes, shape, limits)).toEqual([
      [{ prompt: 0, from: 0, to: 2 }],
      [{ prompt: 0, from: 2, to: 3 }, whole(1, 1)],
    ]);
  });

  it('splits by rows too: a long prompt whose actions fit only a few at a time (gate_up [rows, 2I])', () => {
    // 15 prompt rows + 1 per action: at most 3 actions per pass (18 rows).
    const sizes = [size(15, 1, 1, 1, 1, 1)];
    expect(planBatchGroups(sizes, shape, limits)).toEqual([
      [{ prompt: 0, from: 0, to: 3 }],
      [{ prompt: 0, from: 3, to: 5 }],
    ]);
  });

  it('splits on the dispatch limit (one workgroup per row) as on the buffer limit', () => {
    const sizes = [size(6, 1), size(6, 1), size(6, 1)];
    const few: BatchLimits = { bindingBytes: 2 ** 30, workgroupsPerDimension: 15 };
    expect(planBatchGroups(sizes, shape, few)).toEqual([[whole(0, 1), whole(1, 1)], [whole(2, 1)]]);
    expect(() => planBatchGroups([size(20, 1)], shape, few)).toThrow(
      /prompt 1 \(20 tokens\) with its action 1 alone \(1 tokens\) needs 21 rows but a dispatch allows 15 workgroups per dimension/,
    );
  });

  it('counts the prompt once per action in separate mode', () => {
    // Separate: prompt 0 is 2 sequences of 7 + 1 rows = 16 rows; with prompt 1 (8 rows) 24 > 18.
    const sizes = [size(7, 1, 1), size(7, 1)];
    expect(planBatchGroups(sizes, shape, limits, 'shared')).toEqual([[whole(0, 2), whole(1, 1)]]);
    expect(planBatchGroups(sizes, shape, limits, 'separate')).toEqual([[whole(0, 2)], [whole(1, 1)]]);
  });

  it('refuses only one prompt with one action that does not fit, naming the buffer, its size, the limit and what to do', () => {
    const tooLong = () => planBatchGroups([size(2, 1), size(3, 1, 4)], shape, limits);
    expect(tooLong).toThrow(BatchTooLargeError);
    expect(tooLong).toThrow(
      /^prompt 2 \(3 tokens\) with its action 2 alone \(4 tokens\) needs a logits \[scored tokens, vocab\] buffer of 1600 bytes but this GPU allows 1200 bytes per buffer, and one prompt with one action cannot be split further: use a GPU with larger limits \(maxStorageBufferBindingSize, maxBufferSize\), a smaller model or a shorter prompt$/,
    );
    // A prompt scored for its hidden state only (no actions) that is too long alone.
    expect(() => planBatchGroups([size(30)], shape, limits)).toThrow(
      /^prompt 1 \(30 tokens\) alone needs a gate_up \[rows, 2 x intermediate\] buffer of 1920 bytes/,
    );
    expect(planBatchGroups([size(3), size(4, 1)], shape, limits)).toEqual([
      [{ prompt: 0, from: 0, to: 0 }, whole(1, 1)],
    ]);
    // A realistic one: Llama-3 8B's gate_up over a 4000-token prompt on a 128 MiB binding.
    const llama3 = architectureConfig('Llama-3-8B-Instruct-q4f16_1-MLC');
    expect(() =>
      planBatchGroups([size(4000, 3)], llama3, { bindingBytes: 128 * 2 ** 20, workgroupsPerDimension: 65535 }),
    ).toThrow(
      /needs a gate_up \[rows, 2 x intermediate\] buffer of 437\.8 MiB but this GPU allows 128\.0 MiB per buffer/,
    );
  });

  it('random batches: every action of every prompt once, in order; every group fits; no group could take the next piece', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const sizes = Array.from({ length: 1 + rng.int(6) }, () =>
        size(1 + rng.int(12), ...Array.from({ length: 1 + rng.int(5) }, () => 1 + rng.int(3))),
      );
      const groups = planBatchGroups(sizes, shape, limits);
      const pieces = groups.flat();
      const covered = pieces.flatMap(({ prompt, from, to }) =>
        Array.from({ length: to - from }, (_, i) => `${prompt}:${from + i}`),
      );
      expect(covered).toEqual(sizes.flatMap((s, p) => s.actionTokens.map((_, k) => `${p}:${k}`)));
      groups.forEach((g, i) => {
        const { rows, logitRows } = groupRows(sizes, g);
        expect(batchOverflow(shape, limits, rows, logitRows)).toBeNull();
        if (i + 1 < groups.length) {
          const next = groupRows(sizes, [...g, groups[i + 1][0]]);
          expect(batchOverflow(shape, limits, next.rows, next.logitRows)).not.toBeNull();
        }
      });
      // A prompt is split only when it does not fit alone.
      sizes.forEach((s, p) => {
        const own = pieces.filter((x) => x.prompt === p);
        const alone = groupRows(sizes, [whole(p, s.actionTokens.length)]);
        expect(own.length > 1).toBe(batchOverflow(shape, limits, alone.rows, alone.logitRows) !== null);
      });
    }
  });
});

describe('putting the groups back together', () => {
  // Distinct token ids per action token, so a fake forward can tell which token each scored row is.
  const requests: ScoringRequest[] = [
    { promptTokens: [1, 2, 3, 4], actionTokens: [[10, 11], [12, 13], [14]] },
    { promptTokens: [1, 5], actionTokens: [[20]] },
    { promptTokens: [1, 6, 7], actionTokens: [[30, 31], [32]] },
  ];
  /** A forward whose results depend on each row's own prompt and token only, as the engine's do. */
  function fakePass(group: BatchGroup): GroupResult {
    const layout = planScoring(groupRequests(requests, group));
    const tokenLogprobs = Float32Array.from(layout.targets, (t) => -t / 7);
    const lastPromptHidden = Float32Array.from(group.flatMap(({ prompt }) => requests[prompt].promptTokens.slice(-2)));
    return { group, layout, tokenLogprobs, lastPromptHidden };
  }
  const sizes = requestSizes(requests);
  const all: BatchGroup = requests.map((r, p) => whole(p, r.actionTokens.length));
  const split: BatchGroup[] = [
    [{ prompt: 0, from: 0, to: 1 }],
    [{ prompt: 0, from: 1, to: 3 }, whole(1, 1)],
    [whole(2, 2)],
  ];

  it('merges split passes into what one pass gives', () => {
    const one = mergeGroupResults(sizes, [fakePass(all)], 2);
    expect(mergeGroupResults(sizes, split.map(fakePass), 2)).toEqual(one);
    expect(one[0].actionTokenLogprobs.map((a) => Array.from(a))).toEqual(
      [[-10 / 7, -11 / 7], [-12 / 7, -13 / 7], [-14 / 7]].map((a) => a.map(Math.fround)),
    );
    expect(Array.from(one[2].lastPromptHidden)).toEqual([6, 7]);
    expect(() => mergeGroupResults(sizes, split.slice(0, 2).map(fakePass), 2)).toThrow(/prompt 2 is missing/);
  });

  it("gives each group's scored tokens their action's dL/dS", () => {
    const dLdS = [[0.5, -1, 2], [3], [-4, 0.25]];
    const wholeGrads = groupTokenGrads(all, fakePass(all).layout, dLdS);
    expect(Array.from(wholeGrads)).toEqual([0.5, 0.5, -1, -1, 2, 3, -4, -4, 0.25]);
    // Split: the same values, group by group, in the order of the pieces.
    const parts = split.map((g) => Array.from(groupTokenGrads(g, fakePass(g).layout, dLdS)));
    expect(parts).toEqual([
      [0.5, 0.5],
      [-1, -1, 2, 3],
      [-4, -4, 0.25],
    ]);
  });
});
