import { describe, expect, it } from 'vitest';
import { shaderSource } from './shader-source';
import { selectVariant } from './shader-variants';
import { packParams, reflectShader } from './wgsl-reflect';

const SOURCE = `
struct Params {
  rows: u32,   // T
  scale: f32,
  offset: i32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// @group(0) @binding(7) var<storage, read> commented_out: array<f32>;
@group(0)   @binding(3) var<storage,read_write> y: array<f32>;
`;

describe('reflectShader', () => {
  it('reads named bindings and the Params layout from the source', () => {
    const iface = reflectShader(SOURCE);
    expect([...iface.bindings.values()]).toEqual([
      { name: 'params', binding: 0, kind: 'uniform' },
      { name: 'x', binding: 1, kind: 'read' },
      { name: 'y', binding: 3, kind: 'read_write' },
    ]);
    expect(iface.params.map((f) => [f.name, f.type, f.offset])).toEqual([
      ['rows', 'u32', 0],
      ['scale', 'f32', 4],
      ['offset', 'i32', 8],
    ]);
    expect(iface.paramsBytes).toBe(16);
  });

  it('packs Params by name and refuses unknown, missing and out-of-range fields', () => {
    const iface = reflectShader(SOURCE);
    const view = new DataView(packParams(iface, { rows: 7, scale: 0.5, offset: -2 }, 'k'));
    expect([view.getUint32(0, true), view.getFloat32(4, true), view.getInt32(8, true)]).toEqual([7, 0.5, -2]);
    expect(() => packParams(iface, { rows: 1, scale: 1 }, 'k')).toThrow('k: Params field "offset" was not given');
    expect(() => packParams(iface, { rows: 1, scale: 1, offset: 0, pad: 0 }, 'k')).toThrow('no field "pad"');
    expect(() => packParams(iface, { rows: -1, scale: 1, offset: 0 }, 'k')).toThrow('does not fit a u32');
    expect(() => packParams(iface, { rows: 1.5, scale: 1, offset: 0 }, 'k')).toThrow('not an integer');
  });

  it('refuses a binding number or name declared twice, and non-scalar Params fields', () => {
    expect(() =>
      reflectShader(
        '@group(0) @binding(1) var<storage, read> a: u32;\n@group(0) @binding(1) var<storage, read> b: u32;',
        'f',
      ),
    ).toThrow('shaders/f: @binding(1) is declared twice');
    expect(() => reflectShader('struct Params { v: vec4<f32>, }', 'f')).toThrow('not a u32, i32 or f32 scalar');
  });

  it('reads every shipped kernel', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(new URL('../../shaders/', import.meta.url)).filter((f) => f.endsWith('.wgsl'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const iface = reflectShader(selectVariant(await shaderSource(file), {}, file), file);
      expect(iface.bindings.size, file).toBeGreaterThan(0);
    }
  });
});
