// KL per logit row on Dawn, every variant this adapter runs, against reference/kl-rows.ts (float64), at
// vocabularies below and above the thread variant's limit: relative error, because the rows include divergences
// from ~1e-7 (an adapter that barely moves the logits) to ~200 nats (the overflow fallback).
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { klRows } from '../../reference/kl-rows';
import { klRowsCall } from './kl-rows';
import { kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();

/**
 * Rows of base and adapted logits: identical (KL exactly 0), a small shift, a moderate one, a large one, one logit
 * raised by 200 (S overflows float32: the fallback), and logits of an LLM's size (~30) with a tiny shift.
 */
function rowsOf(rng: Rng, vocab: number): { base: Float32Array; adapted: Float32Array; rows: number } {
  const shifts = [0, 1e-3, 0.3, 3];
  const rows = shifts.length + 2;
  const base = random(rng, rows * vocab, 4);
  const adapted = new Float32Array(base.length);
  shifts.forEach((scale, j) => {
    for (let v = 0; v < vocab; v++) adapted[j * vocab + v] = base[j * vocab + v] + scale * rng.normal();
  });
  const raised = shifts.length;
  adapted.set(base.subarray(raised * vocab, (raised + 1) * vocab), raised * vocab);
  adapted[raised * vocab + 5] += 200;
  const llm = raised + 1;
  for (let v = 0; v < vocab; v++) {
    base[llm * vocab + v] = 30 + 3 * rng.normal();
    adapted[llm * vocab + v] = base[llm * vocab + v] + 1e-3 * rng.normal();
  }
  return { base, adapted, rows };
}

describe('kl_rows.wgsl on Dawn', () => {
  for (const vocab of [700, 5003]) {
    it(`matches the float64 reference within 1e-5 relative for V=${vocab} (every variant)`, async () => {
      const { base, adapted, rows } = rowsOf(new Rng(vocab), vocab);
      const expected = klRows(base, adapted, rows, vocab);
      // The rows span what they are meant to: 0, tiny, moderate and large divergences.
      expect(expected[0]).toBe(0);
      expect(expected[1]).toBeLessThan(1e-5);
      expect(expected[3]).toBeGreaterThan(1);
      expect(expected[4]).toBeGreaterThan(150);
      expect(expected[5]).toBeLessThan(1e-5);
      const [b, a] = [gpu.upload(base), gpu.upload(adapted)];
      for (const variant of gpu.variants()) {
        const out = gpu.upload(rows);
        const kl = await gpu.run(await klRowsCall(gpu.kernels, b, a, out, rows, vocab, variant), out, rows);
        expect(kl[0], `${variant}: identical rows`).toBe(0);
        for (let j = 1; j < rows; j++) {
          const relative = Math.abs(kl[j] - expected[j]) / expected[j];
          expect(relative, `${variant}: row ${j}, KL ${expected[j]}, got ${kl[j]}`).toBeLessThanOrEqual(1e-5);
        }
      }
    });
  }
});
