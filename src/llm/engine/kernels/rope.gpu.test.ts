// RoPE forward and backward on Dawn against reference/rope.ts: Q and K heads rotate by their row's position,
// V does not; the backward is the inverse rotation.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { ropeBackward, ropeForward } from '../../reference/rope';
import { ropeTable } from '../rope';
import { ropeBackwardCall, ropeForwardCall } from './rope';
import { expectClose, kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();

describe('rope.wgsl on Dawn', () => {
  for (const [heads, kvHeads, headDim] of [
    [4, 2, 16],
    [6, 6, 8],
  ] as const) {
    it(`forward rotates Q and K, not V; backward undoes it (H=${heads}, KVH=${kvHeads}, hd=${headDim})`, async () => {
      const rng = new Rng(heads + headDim);
      const positions = Uint32Array.from([0, 1, 2, 3, 3, 4, 200]);
      const rows = positions.length;
      const shape = { rows, heads, kvHeads, headDim };
      const qkv = random(rng, rows * (heads + 2 * kvHeads) * headDim);
      const invFreq = Float32Array.from({ length: headDim / 2 }, (_, d) => 10000 ** (-(2 * d) / headDim));
      const [pos, table] = [gpu.upload(positions), gpu.upload(ropeTable(invFreq, 201))];
      const buffer = gpu.upload(qkv);
      const rotated = await gpu.run(await ropeForwardCall(gpu.kernels, buffer, pos, table, shape), buffer, qkv.length);
      const expected = Float64Array.from(qkv);
      ropeForward(expected, positions, invFreq, heads, kvHeads, headDim);
      expectClose(rotated, expected);
      const vStart = (heads + kvHeads) * headDim;
      expect(rotated.slice(vStart, vStart + kvHeads * headDim)).toEqual(qkv.slice(vStart, vStart + kvHeads * headDim));

      const grad = random(rng, qkv.length);
      const gradBuffer = gpu.upload(grad);
      const back = await gpu.run(
        await ropeBackwardCall(gpu.kernels, gradBuffer, pos, table, shape),
        gradBuffer,
        grad.length,
      );
      const expectedBack = Float64Array.from(grad);
      ropeBackward(expectedBack, positions, invFreq, heads, kvHeads, headDim);
      expectClose(back, expectedBack);
    });
  }
});
