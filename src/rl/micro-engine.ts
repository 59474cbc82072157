/**
 * Tests only: the shipped micro model (public/models/micro) on a WebGPU engine, loaded once per test file in
 * beforeAll and released in afterAll. Read `ctx` and `engine` inside tests (they are set once beforeAll ran).
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { directorySource } from '../llm/model/weights-node';

export interface MicroEngine {
  ctx: GpuContext;
  engine: LlamaEngine;
}

export function microEngine(): MicroEngine {
  const gpu = {} as MicroEngine;
  beforeAll(async () => {
    gpu.ctx = await requestNodeGpuContext();
    gpu.engine = await LlamaEngine.load(gpu.ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
  });
  afterAll(() => {
    gpu.engine?.dispose();
    gpu.ctx?.device.destroy();
  });
  return gpu;
}
