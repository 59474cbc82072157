// kernels/attention.ts without a GPU: the shape rule, the tile sizes, the key ranges a flash block walks, the dK/dV
// reader lists at block granularity, and the costs the tiling implies.
import { describe, expect, it } from 'vitest';
import { keyReaders, planScoring, type ScoringRequest } from '../scoring-layout';
import {
  attentionCosts,
  attentionReaders,
  attentionVariant,
  blockKeyRanges,
  FLASH_KEY_BLOCK,
  flashReaders,
  flashTiles,
} from './attention';

const prompt = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const LAYOUTS: [string, ScoringRequest[], 'shared' | 'separate'][] = [
  [
    'shared, three prompts',
    [
      { promptTokens: prompt(37), actionTokens: [[1, 2, 3], [4], [5, 6], [7, 8, 9, 10, 11]] },
      { promptTokens: prompt(3), actionTokens: [[9, 8]] },
      { promptTokens: prompt(21), actionTokens: [[3], [4, 5, 6]] },
    ],
    'shared',
  ],
  [
    'separate sequences',
    [
      {
        promptTokens: prompt(13),
        actionTokens: [
          [1, 2],
          [3, 4, 5],
        ],
      },
      { promptTokens: prompt(6), actionTokens: [[7]] },
    ],
    'separate',
  ],
];

describe('attention kernels: shapes and tiles', () => {
  it('takes the thread kernels for head dims up to 32 (test models), flash for real ones', () => {
    expect([8, 16, 32, 64, 72, 128].map((hd) => attentionVariant(hd))).toEqual([
      'thread',
      'thread',
      'thread',
      'flash',
      'flash',
      'flash',
    ]);
    expect(attentionVariant(16, 'flash')).toBe('flash');
  });

  it('sizes tiles from head_dim alone, within the 16 KiB of workgroup memory every device has', () => {
    expect(flashTiles(64)).toEqual({ forwardKeys: 32, dqKeys: 16, dkvQueries: 8 });
    expect(flashTiles(128)).toEqual({ forwardKeys: 16, dqKeys: 8, dkvQueries: 8 });
    for (const hd of [8, 16, 64, 72, 96, 128, 256]) {
      const t = flashTiles(hd);
      // attention.wgsl: forward [BK, hd] tile + [BK, 64] partials; dQ two of each; dK/dV two [BQT, hd] tiles, two
      // [BQT, 64] partials, and a vec4 of segments, lse and delta per query.
      expect(4 * t.forwardKeys * (hd + 64)).toBeLessThanOrEqual(16384);
      expect(8 * t.dqKeys * (hd + 64)).toBeLessThanOrEqual(16384);
      expect(t.dkvQueries * (8 * (hd + 64) + 24)).toBeLessThanOrEqual(16384);
      expect(Math.min(t.forwardKeys, t.dqKeys, t.dkvQueries)).toBeGreaterThanOrEqual(4);
    }
  });

  it("walks a block's keys: causal prompt rows stop at their last row; action rows read the prompt and their action", () => {
    const layout = planScoring([
      {
        promptTokens: prompt(40),
        actionTokens: [
          [1, 2, 3],
          [4, 5],
        ],
      },
    ]);
    expect(blockKeyRanges(layout.segments, 0, 16)).toEqual([0, 16, 0, 0]);
    expect(blockKeyRanges(layout.segments, 16, 32)).toEqual([0, 32, 0, 0]);
    // rows 40..44: the actions; their second segments [40, 43) and [43, 45) touch the prompt: one range
    expect(blockKeyRanges(layout.segments, 40, 45)).toEqual([0, 45, 0, 0]);
    // only the second action: the prompt, then its own rows, two ranges
    expect(blockKeyRanges(layout.segments, 43, 45)).toEqual([0, 40, 43, 45]);
    // a block across two separate sequences spans both
    const separate = planScoring([{ promptTokens: prompt(5), actionTokens: [[1], [2, 3]] }], 'separate');
    expect(blockKeyRanges(separate.segments, 4, 9)).toEqual([0, 9, 0, 0]);
  });

  for (const [name, requests, mode] of LAYOUTS) {
    it(`dK/dV reader lists per key block: every query tile with a reader, once, ascending (${name})`, () => {
      const layout = planScoring(requests, mode);
      const rows = layout.tokens.length;
      const perRow = keyReaders(layout.segments, rows);
      for (const [group, bqt] of [
        [1, 8],
        [2, 8],
        [3, 16],
        [4, 8],
        [8, 4],
      ]) {
        const { offsets, readers } = flashReaders(layout.segments, rows, group, bqt);
        expect(offsets.length).toBe(Math.ceil(rows / FLASH_KEY_BLOCK) + 1);
        for (let b = 0; b * FLASH_KEY_BLOCK < rows; b++) {
          const expected = new Set<number>();
          for (let k = b * FLASH_KEY_BLOCK; k < Math.min(rows, (b + 1) * FLASH_KEY_BLOCK); k++) {
            for (const r of perRow.readers.subarray(perRow.offsets[k], perRow.offsets[k + 1])) {
              for (let j = 0; j < group; j++) expected.add(Math.floor((r * group + j) / bqt));
            }
          }
          expect(Array.from(readers.subarray(offsets[b], offsets[b + 1]))).toEqual([...expected].sort((x, y) => x - y));
        }
      }
    });
  }

  it("costs: flash reads K/V once per block of 16 queries, and skips what causality and the segments exclude (Llama-2-7B's scoring call)", () => {
    // 150-token prompt, 8 actions of 5 tokens; H = KVH = 32, hd = 128.
    const layout = planScoring([
      { promptTokens: prompt(150), actionTokens: Array.from({ length: 8 }, () => [1, 2, 3, 4, 5]) },
    ]);
    const shape = { rows: layout.tokens.length, heads: 32, kvHeads: 32, headDim: 128 };
    let keys = 0;
    for (let r = 0; r < shape.rows; r++) keys += layout.segments[4 * r + 1] + layout.segments[4 * r + 3];
    const useful = 4 * keys * 32 * 128;
    const flash = attentionCosts(layout.segments, shape, 'flash');
    const thread = attentionCosts(layout.segments, shape, 'thread', keyReaders(layout.segments, shape.rows));
    expect(thread.forward.flops).toBe(useful);
    expect(flash.forward.flops).toBeGreaterThanOrEqual(useful);
    expect(flash.forward.flops).toBeLessThanOrEqual(1.3 * useful);
    expect(thread.forward.bytes / flash.forward.bytes).toBeGreaterThan(8);
    expect(flash.backward).toHaveLength(2);
    expect(thread.backward).toHaveLength(3);
    // dK/dV: each (key block, query tile) pair reads a tile of Q and dout once
    const { readers } = attentionReaders(layout.segments, shape);
    expect(flash.backward[1].flops).toBe(32 * readers.length * 16 * flashTiles(128).dkvQueries * 128 * 8);
    expect(thread.backward[2].bytes / flash.backward[1].bytes).toBeGreaterThan(4);
  });
});
