// Every WGSL file in shaders/ compiles on Dawn without errors or warnings.
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from './device';
import { requestNodeGpuContext } from './node-gpu';
import { shaderSource } from './shader-source';

const files = readdirSync(resolve(process.cwd(), 'shaders')).filter((f) => f.endsWith('.wgsl'));
let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

describe('shaders/', () => {
  it('has kernels', () => expect(files.length).toBeGreaterThan(3));
  for (const file of files) {
    it(`${file} compiles cleanly`, async () => {
      const module = ctx.device.createShaderModule({ code: await shaderSource(file) });
      const info = await module.getCompilationInfo();
      expect(info.messages.map((m) => `${m.type} ${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
    });
  }
});
