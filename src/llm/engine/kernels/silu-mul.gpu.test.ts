// The SiLU-gated MLP middle, forward and backward, on Dawn against reference/silu-mul.ts.
import { describe, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { siluMulBackward, siluMulForward } from '../../reference/silu-mul';
import { siluMulBackwardCall, siluMulForwardCall } from './silu-mul';
import { expectClose, kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();

describe('silu_mul.wgsl on Dawn', () => {
  it('forward h = silu(gate) * up and backward d_gate_up', async () => {
    const rng = new Rng(3);
    const [rows, inter] = [5, 70];
    const gateUp = random(rng, rows * 2 * inter, 3);
    const dh = random(rng, rows * inter);
    const gu = gpu.upload(gateUp);
    const h = gpu.upload(rows * inter);
    expectClose(
      await gpu.run(await siluMulForwardCall(gpu.kernels, gu, h, rows, inter), h, rows * inter),
      siluMulForward(gateUp, rows, inter),
    );
    const dgu = gpu.upload(rows * 2 * inter);
    expectClose(
      await gpu.run(
        await siluMulBackwardCall(gpu.kernels, gu, gpu.upload(dh), dgu, rows, inter),
        dgu,
        rows * 2 * inter,
      ),
      siluMulBackward(gateUp, dh, rows, inter),
    );
  });
});
