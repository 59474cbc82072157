import { describe, expect, it } from 'vitest';
import { crc32, decodeBase64Url, encodeBase64Url, encodeUtf8 } from './bytes';
import { parseJsonStrict, JsonParseError } from './json';

describe('bytes', () => {
  it('CRC-32 of "123456789" is 0xCBF43926 (the standard check value)', () => {
    expect(crc32(encodeUtf8('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
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
