// The GPU optimizer step against the CPU's torch-equivalent Adam/AdamW and clip_grad_norm_ (src/rl/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorageBuffer, readFloat32 } from '../../gpu/buffers';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { PipelineCache } from '../../gpu/pipelines';
import { Adam } from '../reference/adamw';
import { clipGradNorm } from '../reference/grad-norm';
import { Rng } from '../../util/rng';
import { GpuAdam } from './optimizer';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

describe('GpuAdam', () => {
  for (const [name, weightDecay, maxGradNorm, variant] of [
    ['AdamW with clipping', 0.01, 0.5, 'thread'],
    ['AdamW with clipping', 0.01, 0.5, 'workgroup'],
    ['Adam without clipping', 0, 0, 'thread'],
    ['Adam without clipping', 0, 0, 'workgroup'],
  ] as const) {
    it(`${name} equals the CPU reference over several steps (${variant} gradient norm)`, async () => {
      const rng = new Rng(9);
      const sizes = [300, 17, 1000];
      const params = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
      const cpuParams = params.map((p) => p.slice());
      const { device } = ctx;
      const bufs = params.map((p) => ({
        param: createStorageBuffer(device, p),
        grad: createStorageBuffer(device, p.length * 4),
        count: p.length,
      }));
      const config = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay, maxGradNorm };
      const gpu = GpuAdam.create(device, new PipelineCache(device), bufs, config, variant);
      const cpu = new Adam(cpuParams, { lr: 1e-2, eps: 1e-5, weightDecay, decoupled: true });
      for (let step = 0; step < 4; step++) {
        const grads = sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal() * 0.3));
        grads.forEach((g, i) => device.queue.writeBuffer(bufs[i].grad, 0, g));
        const scaled = grads.map((g) => g.map((v) => v * 0.5)); // grad_scale 0.5 after clipping
        const norm =
          maxGradNorm > 0 ? clipGradNorm(grads, maxGradNorm) : Math.hypot(...grads.flatMap((g) => Array.from(g)));
        const cpuGrads = maxGradNorm > 0 ? grads.map((g) => g.map((v) => v * 0.5)) : scaled;
        cpu.step(cpuGrads);
        await gpu.step(1e-2, 0.5);
        const info = await gpu.readInfo();
        expect(info.finite).toBe(true);
        expect(info.step).toBe(step + 1);
        expect(Math.abs(info.gradNorm - norm) / norm).toBeLessThan(1e-5);
      }
      for (let i = 0; i < sizes.length; i++) {
        const actual = await readFloat32(device, bufs[i].param, sizes[i]);
        for (let k = 0; k < sizes[i]; k++) expect(Math.abs(actual[k] - cpuParams[i][k])).toBeLessThan(1e-5);
        expect((await readFloat32(device, bufs[i].grad, sizes[i])).every((v) => v === 0)).toBe(true); // zeroed after the step
      }
      gpu.dispose();
      bufs.forEach((b) => (b.param.destroy(), b.grad.destroy()));
    });
  }

  it('saves and restores its state: a restored optimizer continues exactly', async () => {
    const { device } = ctx;
    const rng = new Rng(3);
    const config = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0.01, maxGradNorm: 0.5 };
    const start = Float32Array.from({ length: 50 }, () => rng.normal());
    const grads = [0, 1, 2].map(() => Float32Array.from({ length: 50 }, () => rng.normal()));
    const make = () => {
      const b = { param: createStorageBuffer(device, start), grad: createStorageBuffer(device, 200), count: 50 };
      return { b, opt: GpuAdam.create(device, new PipelineCache(device), [b], config) };
    };
    const a = make();
    for (const g of grads) {
      device.queue.writeBuffer(a.b.grad, 0, g);
      await a.opt.step(1e-2);
    }
    const b = make();
    device.queue.writeBuffer(b.b.grad, 0, grads[0]);
    await b.opt.step(1e-2);
    const state = await b.opt.readState();
    const params = await readFloat32(device, b.b.param, 50);
    const c = make();
    device.queue.writeBuffer(c.b.param, 0, new Float32Array(params));
    c.opt.writeState(state);
    for (const g of grads.slice(1)) {
      device.queue.writeBuffer(c.b.grad, 0, g);
      await c.opt.step(1e-2);
    }
    expect(Array.from(await readFloat32(device, c.b.param, 50))).toEqual(
      Array.from(await readFloat32(device, a.b.param, 50)),
    );
    expect((await c.opt.readInfo()).step).toBe(3);
    for (const x of [a, b, c]) {
      x.opt.dispose();
      x.b.param.destroy();
      x.b.grad.destroy();
    }
  });

  it('skips a step with a non-finite gradient, reports it, and leaves parameters unchanged', async () => {
    const { device } = ctx;
    const p = Float32Array.from([1, 2, 3]);
    const b = {
      param: createStorageBuffer(device, p),
      grad: createStorageBuffer(device, Float32Array.from([0.1, Number.NaN, 0.2])),
      count: 3,
    };
    const gpu = GpuAdam.create(device, new PipelineCache(device), [b], {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-5,
      weightDecay: 0,
      maxGradNorm: 0.5,
    });
    await gpu.step(0.1);
    const info = await gpu.readInfo();
    expect(info).toMatchObject({ finite: false, step: 0, skippedSteps: 1 });
    expect(Array.from(await readFloat32(device, b.param, 3))).toEqual([1, 2, 3]);
    expect(Array.from(await readFloat32(device, b.grad, 3))).toEqual([0, 0, 0]);
    device.queue.writeBuffer(b.grad, 0, Float32Array.from([Infinity, 0, 0]));
    await gpu.step(0.1);
    expect(await gpu.readInfo()).toMatchObject({ finite: false, step: 0, skippedSteps: 2 });
    gpu.dispose();
    b.param.destroy();
    b.grad.destroy();
  });
});
