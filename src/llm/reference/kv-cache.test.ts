// The KV-cache reference against the plain attention reference: a causal sequence's rows, appended to the
// cache and attending through it, equal causal attention over the rows; so do the same rows split into a
// prefill and single decode rows.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { attentionForward, causalSegments } from './attention';
import { cachedAttention, kvCacheAppend } from './kv-cache';

describe('kv-cache reference', () => {
  it('equals causal attention, in one prefill or in a prefill and decode rows', () => {
    const rng = new Rng(1);
    const s = { heads: 4, kvHeads: 2, headDim: 8 };
    const T = 9;
    const stride = (s.heads + 2 * s.kvHeads) * s.headDim;
    const qkv = Float32Array.from({ length: T * stride }, () => rng.normal());
    const expected = attentionForward(qkv, causalSegments(T), T, s.heads, s.kvHeads, s.headDim).out;
    const positions = Array.from({ length: T }, (_, t) => t);
    const whole = new Float32Array(T * 2 * s.kvHeads * s.headDim);
    kvCacheAppend(qkv, positions, whole, { rows: T, ...s });
    const once = cachedAttention(qkv, positions, whole, { rows: T, ...s });
    const split = new Float32Array(T * 2 * s.kvHeads * s.headDim);
    const rows: Float32Array[] = [];
    const prefill = { rows: 5, ...s };
    kvCacheAppend(qkv, positions, split, prefill);
    rows.push(cachedAttention(qkv, positions, split, prefill));
    for (let t = 5; t < T; t++) {
      const row = qkv.subarray(t * stride, (t + 1) * stride);
      kvCacheAppend(row, [t], split, { rows: 1, ...s });
      rows.push(cachedAttention(row, [t], split, { rows: 1, ...s }));
    }
    const stepwise = Float32Array.from(rows.flatMap((r) => Array.from(r)));
    for (const out of [once, stepwise]) {
      expect(out.length).toBe(expected.length);
      out.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThan(1e-6));
    }
  });
});
