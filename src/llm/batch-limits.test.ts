import { describe, expect, it } from 'vitest';
import { BatchTooLargeError, checkBatchFits } from './forward';

const shape = { hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, headDim: 128, layers: 32, vocabSize: 32000, rmsNormEps: 1e-5 };
const device = (binding: number, buffer = 2 ** 32, groups = 65535) =>
  ({ limits: { maxStorageBufferBindingSize: binding, maxBufferSize: buffer, maxComputeWorkgroupsPerDimension: groups } }) as unknown as GPUDevice;

describe('checkBatchFits', () => {
  it('accepts what fits and refuses, before allocating, the first buffer over the limit, naming it and what to do', () => {
    expect(() => checkBatchFits(device(2 ** 30), shape, 960, 160)).not.toThrow();
    // 4 prompts x 8 actions x 5 tokens of logits over a 32k vocabulary: 20 MiB; a 16 MiB limit refuses it.
    expect(() => checkBatchFits(device(16 * 2 ** 20), shape, 960, 160)).toThrow(BatchTooLargeError);
    expect(() => checkBatchFits(device(16 * 2 ** 20), shape, 960, 160)).toThrow(/logits \[scored tokens, vocab\] buffer of 19\.5 MiB but this GPU allows 16\.0 MiB per buffer: .*smaller micro-batches/);
    expect(() => checkBatchFits(device(2 ** 30, 40 * 2 ** 20), shape, 960, 10)).toThrow(/gate_up .* 80\.6 MiB but this GPU allows 40\.0 MiB/);
    expect(() => checkBatchFits(device(2 ** 30, 2 ** 32, 500), shape, 960, 10)).toThrow(/960 rows but a dispatch allows 500/);
  });
});
