// Every WGSL file in shaders/ compiles on Dawn without errors or warnings. The *_subgroups.wgsl files say
// `enable subgroups;` and compile only on a device with the `subgroups` feature; no other file may say it,
// or that kernel would fail on devices without the feature.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeGpu, requestNodeGpuContext, subgroupsSetting } from './node-gpu';
import { shaderSource } from './shader-source';
import { selectVariant } from './shader-variants';

const dir = resolve(process.cwd(), 'shaders');
const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl'));
const needsSubgroups = (file: string) => file.endsWith('_subgroups.wgsl');
const enablesSubgroups = (file: string) => /^\s*enable\s+subgroups\s*;/m.test(readFileSync(resolve(dir, file), 'utf8'));
// At collection time, so that tests can be skipped by what the adapter has.
const ctx = await requestNodeGpuContext();
afterAll(() => ctx.device.destroy());

describe('shaders/', () => {
  it('has kernels, and subgroup variants of some', () => {
    expect(files.length).toBeGreaterThan(3);
    expect(files.filter(needsSubgroups).length).toBeGreaterThanOrEqual(4);
  });

  it('says `enable subgroups;` in exactly the *_subgroups.wgsl files', () => {
    expect(files.filter(enablesSubgroups).sort()).toEqual(files.filter(needsSubgroups).sort());
  });

  for (const file of files) {
    // Skipped only where the adapter lacks `subgroups` (or TWOSOME_SUBGROUPS=0 turned it off).
    it.skipIf(needsSubgroups(file) && !ctx.features.subgroups)(`${file} compiles cleanly`, async () => {
      // The default variant (no defines); kernels with variants test each of theirs against the CPU reference.
      const module = ctx.device.createShaderModule({ code: selectVariant(await shaderSource(file), {}, file) });
      const info = await module.getCompilationInfo();
      expect(info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
    });
  }

  it('requests `subgroups` whenever the adapter offers it (unless TWOSOME_SUBGROUPS=0)', async () => {
    const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: 'high-performance' });
    const wanted = (adapter?.features.has('subgroups' as GPUFeatureName) ?? false) && subgroupsSetting() !== 'off';
    expect(ctx.features.subgroups).toBe(wanted);
    expect(ctx.device.features.has('subgroups' as GPUFeatureName)).toBe(wanted);
    if (wanted && adapter?.info.subgroupMinSize !== undefined) expect(ctx.subgroupSizes).toEqual({ min: adapter.info.subgroupMinSize, max: adapter.info.subgroupMaxSize });
    // The engine's default: hardware GPUs with the feature, or any adapter with it when TWOSOME_SUBGROUPS=1.
    expect(ctx.useSubgroups).toBe(wanted && (!ctx.isSoftware || subgroupsSetting() === 'on'));
  });
});
