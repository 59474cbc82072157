import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv';

describe('parseCsv (RFC 4180)', () => {
  it('splits fields and records; quotes hold commas, line breaks and doubled quotes', () => {
    expect(parseCsv('a,b,c\n"x, y","say ""hi""",\n', 'f')).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'say "hi"', ''] },
    ]);
    expect(parseCsv('"one\ntwo",b\nnext,c', 'f')).toEqual([
      { line: 1, fields: ['one\ntwo', 'b'] },
      { line: 3, fields: ['next', 'c'] },
    ]);
  });

  it('CRLF records; a CR inside quotes stays; an empty quoted field; no final newline', () => {
    expect(parseCsv('a,b\r\n"c\r\nd",""\r\ne,f', 'f')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['c\r\nd', ''] },
      { line: 4, fields: ['e', 'f'] },
    ]);
  });

  it('keeps spaces around fields (they are data in RFC 4180)', () => {
    expect(parseCsv(' a , b \n', 'f')).toEqual([{ line: 1, fields: [' a ', ' b '] }]);
  });
});
