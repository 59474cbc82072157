import { describe, expect, it } from 'vitest';
import { countWords } from './words';

describe('countWords', () => {
  it('counts whitespace-separated words like Python str.split()', () => {
    expect(countWords('put the tomato in the bowl')).toBe(6);
    expect(countWords('pick up the tomato')).toBe(4);
    expect(countWords('serve')).toBe(1);
    expect(countWords('  walk\tto  the\nTV ')).toBe(4);
    expect(countWords('  walk to  the first\tcutting board ')).toBe(6);
    expect(countWords('')).toBe(0);
    expect(countWords('   ')).toBe(0);
  });
});
