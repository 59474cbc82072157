// How a kernel variant is chosen (gpu/kernel.ts) and what TWOSOME_SUBGROUPS asks for (gpu/node-gpu.ts).
import { describe, expect, it } from 'vitest';
import { kernelVariant, THREAD_VARIANT_MAX_DIM } from './kernel';
import { subgroupsSetting } from './node-gpu';

describe('kernelVariant', () => {
  it('takes the thread variant up to the limit, whether or not subgroups are allowed', () => {
    expect(kernelVariant(THREAD_VARIANT_MAX_DIM)).toBe('thread');
    expect(kernelVariant(THREAD_VARIANT_MAX_DIM, undefined, undefined, true)).toBe('thread');
    expect(kernelVariant(4096, undefined, 4096, true)).toBe('thread');
  });

  it('takes the subgroup variant above the limit only where subgroups are allowed', () => {
    expect(kernelVariant(THREAD_VARIANT_MAX_DIM + 1)).toBe('workgroup');
    expect(kernelVariant(THREAD_VARIANT_MAX_DIM + 1, undefined, undefined, false)).toBe('workgroup');
    expect(kernelVariant(THREAD_VARIANT_MAX_DIM + 1, undefined, undefined, true)).toBe('subgroup');
    expect(kernelVariant(4097, undefined, 4096, true)).toBe('subgroup');
  });

  it('keeps a forced variant', () => {
    expect(kernelVariant(10_000, 'workgroup', undefined, true)).toBe('workgroup');
    expect(kernelVariant(10_000, 'thread', undefined, true)).toBe('thread');
    expect(kernelVariant(8, 'subgroup')).toBe('subgroup');
  });
});

describe('TWOSOME_SUBGROUPS', () => {
  it('reads off, on and unset, and refuses anything else', () => {
    for (const v of ['0', 'off', 'FALSE', ' no ']) expect(subgroupsSetting({ TWOSOME_SUBGROUPS: v })).toBe('off');
    for (const v of ['1', 'on', 'True', 'yes']) expect(subgroupsSetting({ TWOSOME_SUBGROUPS: v })).toBe('on');
    expect(subgroupsSetting({})).toBe(null);
    expect(subgroupsSetting({ TWOSOME_SUBGROUPS: '' })).toBe(null);
    expect(() => subgroupsSetting({ TWOSOME_SUBGROUPS: 'maybe' })).toThrow(/TWOSOME_SUBGROUPS=maybe/);
  });
});
