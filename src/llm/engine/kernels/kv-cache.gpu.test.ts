// kv_cache.wgsl on Dawn against the CPU reference (src/llm/reference/kv-cache.ts): a prefill of a whole prompt
// (rows attend causally through the cache, more keys than one tile of 64), then decode rows one at a time that
// read the prompt's keys and those appended before them; head dims 8 to 128, MHA and GQA.
import { describe, expect, it } from 'vitest';
import { readFloat32 } from '../../../gpu/buffers';
import { disposeCalls, submitCalls } from '../../../gpu/kernel';
import { Rng } from '../../../util/rng';
import { cachedAttention, kvCacheAppend } from '../../reference/kv-cache';
import { cachedAttentionCall, kvCacheAppendCall, kvCacheWidth } from './kv-cache';
import { expectClose, kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();

const SHAPES = [
  { heads: 4, kvHeads: 2, headDim: 16 },
  { heads: 2, kvHeads: 2, headDim: 8 },
  { heads: 8, kvHeads: 2, headDim: 64 },
  { heads: 4, kvHeads: 4, headDim: 128 },
];

describe('kv_cache.wgsl', () => {
  for (const shape of SHAPES) {
    const name = `H ${shape.heads}, KVH ${shape.kvHeads}, hd ${shape.headDim}`;
    it(`prefills 70 rows, then decodes 3, as the reference (${name})`, async () => {
      const rng = new Rng(shape.headDim);
      const { device } = gpu.ctx;
      const stride = (shape.heads + 2 * shape.kvHeads) * shape.headDim;
      const capacity = 80;
      // Whatever lies past the written positions must not be read: fill the cache with noise first.
      const cacheHost = random(rng, capacity * kvCacheWidth(shape), 10);
      const cache = gpu.upload(cacheHost.slice());
      const steps = [Array.from({ length: 70 }, (_, i) => i), [70], [71], [72]];
      for (const positions of steps) {
        const s = { rows: positions.length, ...shape };
        const qkvHost = random(rng, s.rows * stride);
        const qkv = gpu.upload(qkvHost);
        const pos = gpu.upload(Uint32Array.from(positions));
        const out = gpu.upload(s.rows * shape.heads * shape.headDim);
        const calls = [
          await kvCacheAppendCall(gpu.kernels, { qkv, positions: pos, cache }, s),
          await cachedAttentionCall(gpu.kernels, { qkv, positions: pos, cache, out }, s, positions.at(-1)! + 1),
        ];
        submitCalls(device, calls);
        disposeCalls(calls);
        kvCacheAppend(qkvHost, positions, cacheHost, s);
        const expected = cachedAttention(qkvHost, positions, cacheHost, s);
        expectClose(await readFloat32(device, out, expected.length), expected, 1e-5);
        expect(await readFloat32(device, cache, cacheHost.length)).toEqual(cacheHost);
      }
    });
  }
});
