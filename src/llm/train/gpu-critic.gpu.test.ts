// The GPU critic against the CPU reference critic (src/llm/reference/critic.ts): values and gradients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer } from '../../gpu/buffers';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { PipelineCache } from '../../gpu/pipelines';
import { Rng } from '../../util/rng';
import { GpuCritic } from './gpu-critic';
import { criticBackward, criticForward, initCritic } from '../reference/critic';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

describe('GpuCritic', () => {
  for (const hidden of [[96, 48], [40]]) {
    it(`forward and accumulated backward equal the reference (hidden ${hidden.join('-')})`, async () => {
      const rng = new Rng(hidden.length);
      const [P, D] = [5, 64];
      const critic = initCritic(D, rng, hidden);
      const x = Float32Array.from({ length: P * D }, () => rng.normal() * 3);
      const { device } = ctx;
      const gpu = GpuCritic.create(device, new PipelineCache(device), critic);
      const features = createStorageBuffer(device, x);
      const pass = await gpu.plan(features, P);
      const values = await pass.forward();
      const ref = criticForward(critic, x, P);
      values.forEach((v, i) =>
        expect(Math.abs(v - ref.values[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.values[i]))),
      );
      const dv = Float32Array.from({ length: P }, () => rng.normal());
      pass.backward(dv);
      pass.backward(dv); // gradients accumulate
      const grads = await gpu.readGrads();
      const refGrads = criticBackward(critic, ref, dv).weights;
      let worst = 0;
      grads.forEach((g, l) =>
        g.forEach(
          (v, i) =>
            (worst = Math.max(worst, Math.abs(v - 2 * refGrads[l][i]) / Math.max(1, Math.abs(2 * refGrads[l][i])))),
        ),
      );
      expect(worst).toBeLessThan(1e-4);
      pass.dispose();
      gpu.dispose();
      features.destroy();
    });
  }
});
