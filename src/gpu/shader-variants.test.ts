import { describe, expect, it } from 'vitest';
import { definesKey, selectVariant } from './shader-variants';

const SOURCE = [
  'a',
  '//! if F16',
  'alias t = f16;',
  '//! if SUB',
  'sub',
  '//! endif',
  '//! else',
  'alias t = f32;',
  '//! endif',
  '//! if !F16',
  'no16',
  '//! endif',
  'z',
].join('\n');

describe('selectVariant', () => {
  it('keeps the branches the defines select, nested and negated', () => {
    expect(selectVariant(SOURCE, {})).toBe('a\nalias t = f32;\nno16\nz');
    expect(selectVariant(SOURCE, { F16: true })).toBe('a\nalias t = f16;\nz');
    expect(selectVariant(SOURCE, { F16: true, SUB: true })).toBe('a\nalias t = f16;\nsub\nz');
    expect(selectVariant(SOURCE, { F16: false, SUB: true })).toBe('a\nalias t = f32;\nno16\nz');
  });

  it('says where a block is unbalanced', () => {
    expect(() => selectVariant('//! if A\nx', {}, 'k.wgsl')).toThrow('shaders/k.wgsl:1: "//! if" is never closed');
    expect(() => selectVariant('x\n//! endif', {}, 'k.wgsl')).toThrow(
      'shaders/k.wgsl:2: "//! endif" without an open "//! if"',
    );
    expect(() => selectVariant('//! if A\n//! else\n//! else\n//! endif', {}, 'k.wgsl')).toThrow(
      'k.wgsl:3: "//! else" without',
    );
  });

  it('keys a define set independently of order and of false entries', () => {
    expect(definesKey({ B: true, A: true, C: false })).toBe('A,B');
    expect(definesKey({})).toBe('');
  });
});
