// Software adapters are known as such (their timings say nothing about GPUs, and the engine leaves the subgroup
// kernels off on them by default): SwiftShader and lavapipe by name, any other by the flags it reports.
import { describe, expect, it } from 'vitest';
import { adapterKindOf, isSoftwareAdapter, type AdapterIdentity } from './device';

// As Dawn reports them (`twosome gpu`), and an NVIDIA GPU as Chrome does.
const LAVAPIPE: AdapterIdentity = {
  vendor: 'mesa',
  architecture: 'software',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
  isFallbackAdapter: true,
};
const SWIFTSHADER: AdapterIdentity = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: 'swiftshader-device-subzero-',
  description: 'SwiftShader driver 5.0.0',
  isFallbackAdapter: true,
};
const NVIDIA: AdapterIdentity = { vendor: 'nvidia', architecture: 'hopper', device: '', description: '' };

describe('adapter identity', () => {
  it('knows lavapipe and SwiftShader by name, and both as software', () => {
    expect(adapterKindOf(LAVAPIPE)).toBe('lavapipe');
    expect(adapterKindOf(SWIFTSHADER)).toBe('swiftshader');
    // By name alone too, where an implementation reports no fallback flag.
    expect(isSoftwareAdapter({ ...LAVAPIPE, architecture: '', isFallbackAdapter: undefined })).toBe(true);
    expect(isSoftwareAdapter({ ...SWIFTSHADER, isFallbackAdapter: undefined })).toBe(true);
  });

  it('takes a GPU as hardware, and any adapter flagged fallback or of architecture "software" as software', () => {
    expect(adapterKindOf(NVIDIA)).toBe('other');
    expect(isSoftwareAdapter(NVIDIA)).toBe(false);
    expect(isSoftwareAdapter({ ...NVIDIA, isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'acme', architecture: 'software', device: '', description: '' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: '', architecture: '', device: '', description: '' })).toBe(true);
  });
});
