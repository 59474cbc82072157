/** What the cards' whole-number fields make of the text typed into them. */
import { describe, expect, it } from 'vitest';
import { wholeNumber } from './parts';

describe('wholeNumber', () => {
  it.each([
    ['12', 1, undefined, 12],
    ['3.7', 1, undefined, 3],
    ['', 1, undefined, 1],
    ['abc', 1, undefined, 1],
    ['0', 1, undefined, 1],
    ['-5', 0, undefined, 0],
    ['-0.5', 1, 1000, 1],
    ['5000', 1, 1000, 1000],
    ['1e3', 1, 1000, 1000],
  ])('%j in [%d, %s] reads as %d', (text, min, max, expected) => {
    expect(wholeNumber(text, min, max)).toBe(expected);
  });
});
