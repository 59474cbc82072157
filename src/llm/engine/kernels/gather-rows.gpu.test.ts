// The row gather and its scatter-add backward on Dawn against reference/gather-rows.ts.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../util/rng';
import { gatherRows, scatterAddRows } from '../../reference/gather-rows';
import { gatherSources } from '../scoring-layout';
import { gatherRowsCall, scatterAddRowsCall } from './gather-rows';
import { expectClose, kernelTestGpu, random } from './test-gpu';

const gpu = kernelTestGpu();

describe('gather_rows.wgsl on Dawn', () => {
  it('gathers rows (some several times) and its backward sums them back, zero where nothing was gathered', async () => {
    const rng = new Rng(5);
    const [rows, dim] = [6, 33];
    const picked = Uint32Array.from([2, 2, 5, 0, 2]);
    const x = random(rng, rows * dim);
    const out = gpu.upload(picked.length * dim);
    const gathered = await gpu.run(
      await gatherRowsCall(gpu.kernels, gpu.upload(x), gpu.upload(picked), out, picked.length, dim),
      out,
      picked.length * dim,
    );
    expect(gathered).toEqual(Float32Array.from(gatherRows(x, picked, dim)));

    const dout = random(rng, picked.length * dim);
    const { offsets, sources } = gatherSources(picked, rows);
    const dx = gpu.upload(random(rng, rows * dim)); // overwritten, not added to
    const actual = await gpu.run(
      await scatterAddRowsCall(gpu.kernels, gpu.upload(dout), gpu.upload(offsets), gpu.upload(sources), dx, rows, dim),
      dx,
      rows * dim,
    );
    expectClose(actual, scatterAddRows(dout, picked, rows, dim));
    expect(actual.slice(dim, 2 * dim).every((v) => v === 0)).toBe(true);
  });
});
