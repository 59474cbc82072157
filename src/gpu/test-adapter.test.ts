// GPU tests of f16 kernels run where the device has `shader-f16`, fail where it ought to (lavapipe, or the
// lavapipe stage on another adapter: a silent fallback), and skip with a reason elsewhere.
import { describe, expect, it } from 'vitest';
import type { GpuContext } from './device';
import {
  describeAdapter,
  requireShaderF16,
  stageAdapter,
  withoutDawnLimitNotices,
  type SkippableTest,
} from './test-adapter';

type Ctx = Pick<GpuContext, 'adapterKind' | 'adapterInfo' | 'features'>;
const adapter = (adapterKind: Ctx['adapterKind'], description: string, shaderF16: boolean): Ctx => ({
  adapterKind,
  adapterInfo: { vendor: '', architecture: '', device: '', description },
  features: { shaderF16, subgroups: true, timestampQuery: true },
});
const lavapipe = (f16: boolean) => adapter('lavapipe', 'llvmpipe: Mesa 25.0.7', f16);
const swiftshader = adapter('swiftshader', 'SwiftShader driver 5.0.0', false);

/** A test context whose skip records the note and throws as vitest's does. */
function recorder(): SkippableTest & { note: string | null } {
  const test = {
    note: null as string | null,
    skip(note?: string): never {
      test.note = note ?? '';
      throw new Error('skipped');
    },
  };
  return test;
}

describe('requireShaderF16', () => {
  it('lets the test run where the device has shader-f16', () => {
    const test = recorder();
    requireShaderF16(lavapipe(true), test, { TWOSOME_WEBGPU: 'lavapipe' });
    expect(test.note).toBeNull();
  });

  it('fails on lavapipe without it, and on the lavapipe stage when the adapter is another', () => {
    expect(() => requireShaderF16(lavapipe(false), recorder(), {})).toThrow(/lavapipe .* has no shader-f16/);
    expect(() => requireShaderF16(swiftshader, recorder(), { TWOSOME_WEBGPU: 'lavapipe' })).toThrow(
      'the device on SwiftShader (SwiftShader driver 5.0.0) has no shader-f16, though the lavapipe stage needs it',
    );
  });

  it('skips with the reason on SwiftShader', () => {
    const test = recorder();
    expect(() => requireShaderF16(swiftshader, test, { TWOSOME_WEBGPU: 'swiftshader' })).toThrow('skipped');
    expect(test.note).toBe(
      'needs shader-f16, which SwiftShader (SwiftShader driver 5.0.0) lacks (the lavapipe stage runs it)',
    );
  });
});

describe('stageAdapter', () => {
  it('is the CPU adapter TWOSOME_WEBGPU names, else null', () => {
    expect(stageAdapter({ TWOSOME_WEBGPU: 'lavapipe' })).toBe('lavapipe');
    expect(stageAdapter({ TWOSOME_WEBGPU: 'swiftshader' })).toBe('swiftshader');
    expect(stageAdapter({ TWOSOME_WEBGPU: 'system' })).toBeNull();
    expect(stageAdapter({})).toBeNull();
    expect(describeAdapter(adapter('other', '', true))).toBe('this adapter');
  });
});

describe('withoutDawnLimitNotices', () => {
  it("drops only Dawn's two limit notices", () => {
    const notices =
      'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic ' +
      'offset allocation limit.\n' +
      'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic ' +
      'offset allocation limit.\n';
    expect(withoutDawnLimitNotices(notices)).toBe('');
    expect(withoutDawnLimitNotices(`${notices}twosome: --model: no such directory\n`)).toBe(
      'twosome: --model: no such directory\n',
    );
    expect(withoutDawnLimitNotices('Warning: something else\n')).toBe('Warning: something else\n');
  });
});
