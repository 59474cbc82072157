import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import {
  bf16ArrayToF32,
  bf16BitsToF32,
  dequantizeQ4,
  f16ArrayToF32,
  f16BitsToF32,
  f32ArrayToBf16,
  f32ArrayToF16,
  f32ToBf16Bits,
  f32ToF16Bits,
  quantizeQ4,
  roundToF16,
} from './quant';

function f32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits >>> 0]).buffer)[0];
}

describe('f16', () => {
  it('converts known values exactly', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // largest finite
      [65519, 0x7bff], // below the halfway point to 65536
      [65520, 0x7c00], // halfway: ties to even, which is the next binade = inf
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // halfway to the smallest subnormal: ties to even (0)
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 subnormal units: even is 2
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2^-10: even mantissa 0
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1 + 2^-10 and 1 + 2^-9: even mantissa 2
    ];
    for (const [value, bits] of cases) expect(f32ToF16Bits(value), `f16(${value})`).toBe(bits);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
    expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('round-trips all 65536 bit patterns (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      if (Number.isNaN(v)) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(v)))).toBe(true);
      } else if (f32ToF16Bits(v) !== h) {
        throw new Error(`0x${h.toString(16)} -> ${v} -> 0x${f32ToF16Bits(v).toString(16)}`);
      }
    }
  });

  it('rounds every midpoint between neighbouring finite halves to the even one', () => {
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16BitsToF32(h);
      const hi = f16BitsToF32(h + 1);
      const mid = (lo + hi) / 2; // exact in f32 (12 significant bits)
      const want = (h & 1) === 0 ? h : h + 1;
      if (f32ToF16Bits(mid) !== want || f32ToF16Bits(-mid) !== (want | 0x8000))
        throw new Error(`midpoint of 0x${h.toString(16)}`);
      // Just off the midpoint goes to the nearer neighbour.
      expect(f32ToF16Bits(lo + (hi - lo) * 0.49)).toBe(h);
      expect(f32ToF16Bits(lo + (hi - lo) * 0.51)).toBe(h + 1);
    }
  });

  it('converts arrays both ways', () => {
    const values = [0, 1, -1.5, 0.333, 65504];
    expect(Array.from(f16ArrayToF32(f32ArrayToF16(values)))).toEqual(values.map(roundToF16));
  });
});

describe('bf16', () => {
  it('rounds to nearest even on the dropped 16 bits', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(f32FromBits(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16Bits(f32FromBits(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16Bits(f32FromBits(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16Bits(f32FromBits(0x3f807fff))).toBe(0x3f80);
    expect(f32ToBf16Bits(-2)).toBe(0xc000);
    expect(f32ToBf16Bits(Infinity)).toBe(0x7f80);
    expect(f32ToBf16Bits(f32FromBits(0x7f7fffff))).toBe(0x7f80); // f32 max rounds to inf
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(f32FromBits(0x7f800001))))).toBe(true); // a NaN whose payload is in the low bits
  });

  it('widens exactly by << 16 and round-trips every bf16 value', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0x4049)).toBe(f32FromBits(0x40490000));
    const all = new Uint16Array(65536).map((_, i) => i);
    const widened = bf16ArrayToF32(all);
    const back = f32ArrayToBf16(widened);
    for (let i = 0; i < 65536; i++) {
      const isNaN = (i & 0x7f80) === 0x7f80 && (i & 0x7f) !== 0;
      if (!isNaN && back[i] !== i) throw new Error(`bf16 0x${i.toString(16)}`);
    }
  });
});

describe('q4 group quantization', () => {
  it('decodes hand-made words: 8 nibbles per u32, low nibble first, w = (q - 7) * scale[n, k / 32]', () => {
    // One row, K = 64: words 0..3 cover group 0 (scale 0.5), words 4..7 group 1 (scale -2).
    const q = new Uint32Array([0x76543210, 0xfedcba98, 0x77777777, 0x0000000e, 0x00000001, 0, 0, 0xe0000000]);
    const w = dequantizeQ4(q, [0.5, -2], 1, 64);
    expect(Array.from(w.subarray(0, 8))).toEqual([-7, -6, -5, -4, -3, -2, -1, 0].map((v) => v * 0.5));
    expect(Array.from(w.subarray(8, 16))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((v) => v * 0.5));
    expect(Array.from(w.subarray(16, 24))).toEqual(new Array(8).fill(0));
    expect(w[24]).toBe(3.5); // nibble 14 -> 7 * 0.5
    expect(Array.from(w.subarray(25, 32))).toEqual(new Array(7).fill(-3.5));
    expect(w[32]).toBe(12); // (1 - 7) * -2, first element of group 1
    expect(w[33]).toBe(14);
    expect(w[63]).toBe(-14); // high nibble of the last word: 14 -> 7 * -2
  });

  it('quantizes a hand-made group as MLC: scale = max|w| / 7, q = clamp(round(w / scale + 7), 0, 14)', () => {
    const row = Array.from({ length: 32 }, (_, i) => (i % 15) - 7); // -7..7 repeating, max |w| = 7 -> scale 1
    const { qWeight, scale } = quantizeQ4(row, 1, 32, 'float32');
    expect(Array.from(scale)).toEqual([1]);
    const nibbles = Array.from({ length: 32 }, (_, k) => (qWeight[k >> 3] >>> (4 * (k & 7))) & 0xf);
    expect(nibbles).toEqual(row.map((v) => v + 7));
    expect(Math.max(...nibbles)).toBe(14); // never 15
    expect(qWeight[0]).toBe(0x76543210);
  });

  it('rounds halves away from zero (TVM tir.round -> llvm.round), not to even', () => {
    const row = new Array(32).fill(0);
    row[0] = 7; // scale 1
    row[1] = -0.5; // -0.5 + 7 = 6.5 -> 7 (to even would give 6)
    row[2] = 0.5; // 7.5 -> 8
    row[3] = -1.5; // 5.5 -> 6
    const { qWeight } = quantizeQ4(row, 1, 32, 'float32');
    const nib = (k: number) => (qWeight[k >> 3] >>> (4 * (k & 7))) & 0xf;
    expect([nib(0), nib(1), nib(2), nib(3)]).toEqual([14, 7, 8, 6]);
  });

  it('stores q = 7 (decoding to exactly 0) for an all-zero group', () => {
    const { qWeight, scale } = quantizeQ4(new Array(32).fill(0), 1, 32, 'float16');
    expect(scale[0]).toBe(0);
    expect(qWeight[0]).toBe(0x77777777);
    expect(Array.from(dequantizeQ4(qWeight, scale, 1, 32))).toEqual(new Array(32).fill(0));
  });

  for (const dtype of ['float16', 'float32'] as const) {
    it(`round-trips random weights within half a quantization step (${dtype} scales)`, () => {
      const rng = new Rng(7);
      const n = 24;
      const k = 96;
      const w = Float32Array.from({ length: n * k }, () => rng.normal() * 0.3);
      const { qWeight, scale } = quantizeQ4(w, n, k, dtype);
      expect(qWeight.length).toBe((n * k) / 8);
      expect(scale.length).toBe((n * k) / 32);
      if (dtype === 'float16') for (const s of scale) expect(roundToF16(s)).toBe(s);
      const back = dequantizeQ4(qWeight, scale, n, k);
      let maxRel = 0;
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < k; c++) {
          const s = scale[r * 3 + Math.floor(c / 32)];
          // Half a step, plus the rounding of w to f16 and of the scale (relative 2^-11 of max|w| = 7 s).
          const bound = s / 2 + (dtype === 'float16' ? 7 * s * 2 ** -10 : 1e-6 * s);
          const err = Math.abs(back[r * k + c] - w[r * k + c]);
          expect(err).toBeLessThanOrEqual(bound);
          maxRel = Math.max(maxRel, err / s);
        }
      }
      expect(maxRel).toBeGreaterThan(0.4); // the bound is tight, not vacuous
    });
  }

  it('rejects shapes that do not fit the group size', () => {
    expect(() => quantizeQ4(new Array(40).fill(0), 1, 40, 'float32')).toThrow(/multiple of 32/);
    expect(() => dequantizeQ4(new Uint32Array(3), [1], 1, 32)).toThrow(/q_weight has 3 words/);
  });
});
