import { describe, expect, it } from 'vitest';
import { resolveIncludes, shaderSource } from './shader-source';

describe('shader includes', () => {
  const files = new Map([
    ['a.wgsl', 'const A = 1u;\n//! include "include/b.wgsl"\nfn main() {}\n'],
    ['include/b.wgsl', '// b\n//! include "include/c.wgsl"\n'],
    ['include/c.wgsl', 'const C = 3u;'],
    ['loop.wgsl', '//! include "include/loop.wgsl"'],
    ['include/loop.wgsl', '//! include "loop.wgsl"'],
  ]);

  it('pastes included files in place, recursively', () => {
    expect(resolveIncludes(files.get('a.wgsl')!, files, 'a.wgsl', ['a.wgsl'])).toBe(
      'const A = 1u;\n// b\nconst C = 3u;\n\nfn main() {}\n',
    );
  });

  it('says which file names a missing include or a cycle', () => {
    expect(() => resolveIncludes('//! include "nope.wgsl"', files, 'x.wgsl')).toThrow(
      'shaders/x.wgsl: includes "nope.wgsl", which is not in shaders/',
    );
    expect(() => resolveIncludes(files.get('loop.wgsl')!, files, 'loop.wgsl', ['loop.wgsl'])).toThrow(
      /include cycle loop\.wgsl -> include\/loop\.wgsl -> loop\.wgsl/,
    );
  });

  it('leaves ordinary comments alone, and the shipped kernels resolve theirs', async () => {
    expect(resolveIncludes('// include "x"\n//! includes\n', files)).toBe('// include "x"\n//! includes\n');
    const matmul = await shaderSource('matmul.wgsl');
    expect(matmul).not.toMatch(/^\/\/! include/m);
    expect(matmul).toContain('fn reduce_and_write(');
  });
});
