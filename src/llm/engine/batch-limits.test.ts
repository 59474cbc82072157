import { describe, expect, it } from 'vitest';
import { architectureConfig } from '../model/catalog';
import { BatchTooLargeError, checkBatchFits } from './forward';
import { deviceBatchLimits, planBatchGroups } from './batch-plan';

const shape = architectureConfig('Llama-2-7b-chat-hf-q4f16_1-MLC');
const device = (binding: number, buffer = 2 ** 32, groups = 65535) =>
  ({
    limits: { maxStorageBufferBindingSize: binding, maxBufferSize: buffer, maxComputeWorkgroupsPerDimension: groups },
  }) as unknown as GPUDevice;

describe('checkBatchFits (one pass)', () => {
  it('accepts what fits and refuses, before allocating, the first buffer over the limit, naming it', () => {
    expect(() => checkBatchFits(deviceBatchLimits(device(2 ** 30)), shape, 960, 160)).not.toThrow();
    // 4 prompts x 8 actions x 5 tokens of logits over a 32k vocabulary: 20 MiB; a 16 MiB limit refuses it.
    expect(() => checkBatchFits(deviceBatchLimits(device(16 * 2 ** 20)), shape, 960, 160)).toThrow(BatchTooLargeError);
    expect(() => checkBatchFits(deviceBatchLimits(device(16 * 2 ** 20)), shape, 960, 160)).toThrow(
      /logits \[scored tokens, vocab\] buffer of 19\.5 MiB but this GPU allows 16\.0 MiB per buffer: split the batch/,
    );
    // The smaller of the binding and buffer limits counts; so does a test's cap.
    expect(() => checkBatchFits(deviceBatchLimits(device(2 ** 30, 40 * 2 ** 20)), shape, 960, 10)).toThrow(
      /gate_up .* 80\.6 MiB but this GPU allows 40\.0 MiB/,
    );
    expect(() => checkBatchFits(deviceBatchLimits(device(2 ** 30), 40 * 2 ** 20), shape, 960, 10)).toThrow(
      /gate_up .* 80\.6 MiB but this GPU allows 40\.0 MiB/,
    );
    expect(() => checkBatchFits(deviceBatchLimits(device(2 ** 30, 2 ** 32, 500)), shape, 960, 10)).toThrow(
      /960 rows but a dispatch allows 500/,
    );
  });
});

describe('a batch over the limits is split, not refused', () => {
  it('the batch checkBatchFits refuses in one pass runs as passes that each fit', () => {
    // 4 prompts of 200 tokens x 8 actions of 5 tokens (R 960, J 160) on a 48 MiB binding: gate_up [960, 2I] is
    // 80.6 MiB in one pass, 40.3 MiB for 2 prompts.
    const sizes = Array.from({ length: 4 }, () => ({ promptTokens: 200, actionTokens: Array(8).fill(5) }));
    const limits = deviceBatchLimits(device(48 * 2 ** 20));
    expect(() => checkBatchFits(limits, shape, 960, 160)).toThrow(/gate_up .* 80\.6 MiB but this GPU allows 48\.0 MiB/);
    const groups = planBatchGroups(sizes, shape, limits);
    expect(groups.map((g) => g.map((piece) => piece.prompt))).toEqual([
      [0, 1],
      [2, 3],
    ]);
    for (const g of groups) expect(() => checkBatchFits(limits, shape, g.length * 240, g.length * 40)).not.toThrow();
  });

  it('a Llama-3 vocabulary on a 128 MiB binding (~261 scored tokens a pass): 4 VirtualHome-sized prompts in 2 passes', () => {
    const llama3 = architectureConfig('Llama-3.2-1B-Instruct-q4f16_1-MLC');
    // 4 prompts x 12 actions x 6 tokens = 288 scored tokens: 140.9 MiB of logits in one pass.
    const sizes = Array.from({ length: 4 }, () => ({ promptTokens: 300, actionTokens: Array(12).fill(6) }));
    const limits = deviceBatchLimits(device(128 * 2 ** 20, 256 * 2 ** 20));
    expect(() => checkBatchFits(limits, llama3, 4 * (300 + 72), 288)).toThrow(
      /logits .* 140\.9 MiB but this GPU allows 128\.0 MiB/,
    );
    expect(planBatchGroups(sizes, llama3, limits).map((g) => g.map((piece) => piece.prompt))).toEqual([[0, 1, 2], [3]]);
  });
});
