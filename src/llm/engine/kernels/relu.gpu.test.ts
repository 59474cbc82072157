// ReLU forward and backward (in place) on Dawn against reference/relu.ts.
import { describe, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { reluBackward, reluForward } from '../../reference/relu';
import { reluBackwardCall, reluForwardCall } from './relu';
import { expectClose, kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();

describe('relu.wgsl on Dawn', () => {
  it('forward max(z, 0) and backward da * [a > 0], zero at z = 0', async () => {
    const rng = new Rng(6);
    const n = 1000;
    const z = random(rng, n);
    z[3] = 0;
    const zb = gpu.upload(z);
    const a = await gpu.run(await reluForwardCall(gpu.kernels, zb, n), zb, n);
    expectClose(a, reluForward(z));
    const da = random(rng, n);
    const grad = gpu.upload(da);
    const expected = Float64Array.from(da);
    reluBackward(expected, z);
    expectClose(await gpu.run(await reluBackwardCall(gpu.kernels, grad, zb, n), grad, n), expected);
  });
});
