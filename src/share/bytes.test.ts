import { describe, expect, it } from 'vitest';
import {
  bf16BitsToF32,
  crc32,
  decodeBase64Url,
  encodeBase64Url,
  encodeUtf8,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
} from './bytes';
import { parseJsonStrict, JsonParseError } from './json';

describe('bytes', () => {
  it('CRC-32 of "123456789" is 0xCBF43926 (the standard check value)', () => {
    expect(crc32(encodeUtf8('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('float16: exact values, rounding to nearest even, subnormals, overflow', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to Infinity
      [65519, 0x7bff],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // halfway: ties to even (0)
      [3 * 2 ** -25, 0x0002], // 1.5 ulp: ties to even (2)
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1+2^-10: even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway: even (1+2^-9)
      [Infinity, 0x7c00],
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
    ];
    for (const [v, bits] of cases) expect([v, f32ToF16Bits(v)]).toEqual([v, bits]);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
    // Every finite f16 survives f16 -> f32 -> f16.
    for (let h = 0; h < 65536; h++) {
      const v = f16BitsToF32(h);
      if (Number.isFinite(v)) expect(f32ToF16Bits(v)).toBe(h);
    }
  });

  it('bfloat16 keeps the top 16 bits, rounded to nearest even', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc040)).toBe(-3);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
  });

  it('base64url round trips and decodes strictly', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      const text = encodeBase64Url(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(decodeBase64Url(text)).toEqual(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
    }
    expect(decodeBase64Url('abc=')).toMatch(/not a base64url letter/);
    expect(decodeBase64Url('ab+c')).toMatch(/not a base64url letter/);
    expect(decodeBase64Url('abcde')).toMatch(/length/);
    expect(decodeBase64Url('AB')).toMatch(/stray low bits/); // "AB" has non-zero padding bits
    expect(decodeBase64Url('AA')).toEqual(new Uint8Array([0]));
  });
});

describe('strict JSON', () => {
  it('parses what JSON.parse parses', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{"c":{}},"d":[]}';
    expect(JSON.parse(JSON.stringify(parseJsonStrict(text)))).toEqual(JSON.parse(text));
  });

  it('rejects duplicate keys, deep nesting, out-of-range numbers, trailing text and bad syntax', () => {
    const bad = [
      '{"a":1,"a":2}',
      '[[[[[[1]]]]]]',
      '1e400',
      '{"a":1} x',
      '{a:1}',
      "{'a':1}",
      '[1,]',
      '"\u0001"',
      '01',
      '-',
      '{"a" 1}',
      '',
      'tru',
      '"\\x"',
      '"abc',
    ];
    for (const text of bad) expect(() => parseJsonStrict(text, { maxDepth: 4 }), text).toThrow(JsonParseError);
  });

  it('keeps "__proto__" as plain data', () => {
    const v = parseJsonStrict('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(null);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('deep nesting fails fast without a stack overflow', () => {
    expect(() => parseJsonStrict('['.repeat(100_000))).toThrow(/nesting deeper than 32/);
  });
});
