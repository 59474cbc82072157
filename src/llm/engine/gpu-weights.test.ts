// Row-chunk planning for weights larger than one GPU binding (the upload itself: row-chunks.gpu.test.ts).
import { describe, expect, it } from 'vitest';
import { bindingLimit, planRowChunks } from './gpu-weights';

describe('planRowChunks', () => {
  it('keeps a tensor that fits as one chunk', () => {
    expect(planRowChunks('w', 710, [32, 4], 22_720)).toEqual([{ rowStart: 0, rows: 710 }]);
    expect(planRowChunks('w', 0, [32], 64)).toEqual([{ rowStart: 0, rows: 0 }]);
  });

  it('splits by the widest tensor of the group: full chunks, then the rest', () => {
    // Llama-3 8B q4 embedding: 128256 rows of 2048 bytes (words) and 256 bytes (f16 scales), 128 MiB binding.
    const limit = 128 * 2 ** 20;
    const chunks = planRowChunks('model.embed_tokens', 128256, [2048, 256], limit);
    expect(chunks).toEqual([
      { rowStart: 0, rows: 65536 },
      { rowStart: 65536, rows: 62720 },
    ]);
    // Three uneven chunks, contiguous, covering every row, each under the limit for every tensor.
    const three = planRowChunks('lm_head', 710, [32, 4], 242 * 32 + 31);
    expect(three.map((c) => c.rows)).toEqual([242, 242, 226]);
    let next = 0;
    for (const c of three) {
      expect(c.rowStart).toBe(next);
      expect(c.rows * 32).toBeLessThanOrEqual(242 * 32 + 31);
      next += c.rows;
    }
    expect(next).toBe(710);
  });

  it('refuses a row larger than the limit, saying why', () => {
    expect(() => planRowChunks('model.layers.0.mlp.down_proj', 10, [64, 8], 60)).toThrow(
      'model.layers.0.mlp.down_proj: has rows of 64 bytes but this adapter allows 60 bytes per GPU buffer (maxStorageBufferBindingSize / maxBufferSize), and a row cannot be split; use a smaller model or a GPU with larger limits',
    );
  });
});

describe('bindingLimit', () => {
  const device = (binding: number, buffer: number) =>
    ({ limits: { maxStorageBufferBindingSize: binding, maxBufferSize: buffer } }) as unknown as GPUDevice;
  it('takes the smaller device limit, a smaller test cap, in whole words', () => {
    expect(bindingLimit(device(128 * 2 ** 20, 256 * 2 ** 20))).toBe(128 * 2 ** 20);
    expect(bindingLimit(device(2 ** 31, 2 ** 30))).toBe(2 ** 30);
    expect(bindingLimit(device(2 ** 27, 2 ** 28), 7810)).toBe(7808);
    expect(bindingLimit(device(1000, 2 ** 28), 7810)).toBe(1000);
  });
});
