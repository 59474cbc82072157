// Every WGSL file in shaders/ compiles on Dawn without errors or warnings, in every variant its `//! if NAME`
// blocks give (gpu/shader-variants.ts). `enable subgroups;` (which compiles only on a device with the `subgroups`
// feature) appears in a file's SUBGROUPS variants only (every subgroup kernel is a variant of its op's one source), and `enable f16;` in
// F16 variants only: every other variant must compile on any device.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeGpu, requestNodeGpuContext, subgroupsSetting } from './node-gpu';
import { shaderSource } from './shader-source';
import { selectVariant } from './shader-variants';

const dir = resolve(process.cwd(), 'shaders');
const files = readdirSync(dir).filter((f) => f.endsWith('.wgsl'));
const source = (file: string) => readFileSync(resolve(dir, file), 'utf8');
const enablesSubgroups = (code: string) => /^\s*enable\s+subgroups\s*;/m.test(code);
/** The define names of a file's `//! if` blocks. */
const definesOf = (file: string) =>
  [...new Set([...source(file).matchAll(/^[ \t]*\/\/! if !?(\w+)/gm)].map((m) => m[1]))].sort();
/** Every combination of a file's defines ({} first). */
function variantsOf(file: string): Record<string, boolean>[] {
  return definesOf(file).reduce<Record<string, boolean>[]>(
    (all, name) => [...all, ...all.map((d) => ({ ...d, [name]: true }))],
    [{}],
  );
}
// At collection time, so that tests can be skipped by what the adapter has.
const ctx = await requestNodeGpuContext();
afterAll(() => ctx.device.destroy());

describe('shaders/', () => {
  it('has kernels, and subgroup variants of some (a SUBGROUPS define)', () => {
    expect(files.length).toBeGreaterThan(3);
    expect(files.filter((f) => definesOf(f).includes('SUBGROUPS')).length).toBeGreaterThanOrEqual(4);
  });

  it('says `enable f16;` only in F16 variants', () => {
    for (const file of files) {
      for (const defines of variantsOf(file)) {
        const code = selectVariant(source(file), defines, file);
        expect(/^\s*enable\s+f16\s*;/m.test(code), `${file} ${JSON.stringify(defines)}`).toBe(defines.F16 === true);
      }
    }
  });

  it('says `enable subgroups;` only in SUBGROUPS variants', () => {
    for (const file of files) {
      for (const defines of variantsOf(file)) {
        const code = selectVariant(source(file), defines, file);
        expect(enablesSubgroups(code), `${file} ${JSON.stringify(defines)}`).toBe(defines.SUBGROUPS === true);
      }
    }
  });

  for (const file of files) {
    for (const defines of variantsOf(file)) {
      const subgroups = defines.SUBGROUPS === true;
      const f16 = defines.F16 === true;
      const name = Object.keys(defines).length ? `${file} [${Object.keys(defines).join(',')}]` : file;
      // Skipped only where the adapter lacks `subgroups` (or TWOSOME_SUBGROUPS=0 turned it off) or `shader-f16`.
      const missing = (subgroups && !ctx.features.subgroups) || (f16 && !ctx.features.shaderF16);
      it.skipIf(missing)(`${name} compiles cleanly`, async () => {
        const module = ctx.device.createShaderModule({ code: selectVariant(await shaderSource(file), defines, file) });
        const info = await module.getCompilationInfo();
        expect(info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
      });
    }
  }

  it('requests `subgroups` whenever the adapter offers it (unless TWOSOME_SUBGROUPS=0)', async () => {
    const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: 'high-performance' });
    const wanted = (adapter?.features.has('subgroups' as GPUFeatureName) ?? false) && subgroupsSetting() !== 'off';
    expect(ctx.features.subgroups).toBe(wanted);
    expect(ctx.device.features.has('subgroups' as GPUFeatureName)).toBe(wanted);
    if (wanted && adapter?.info.subgroupMinSize !== undefined)
      expect(ctx.subgroupSizes).toEqual({ min: adapter.info.subgroupMinSize, max: adapter.info.subgroupMaxSize });
    // The engine's default: hardware GPUs with the feature, or any adapter with it when TWOSOME_SUBGROUPS=1.
    expect(ctx.useSubgroups).toBe(wanted && (!ctx.isSoftware || subgroupsSetting() === 'on'));
  });
});
