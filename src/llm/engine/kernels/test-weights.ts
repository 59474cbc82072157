/** Random weights in the GPU formats, with their decoded floats, for the linear kernels' tests. */
import type { Rng } from '../../../util/rng';
import { f16BitsToF32 } from '../../model/quant';
import { wholeLinear, type GpuLinear } from './linear';

/** A random q4 matrix [N, K]: packed words, raw scale words (f32 bits or f16 pairs) and its dequantized floats. */
export function randomQ4(rng: Rng, outDim: number, inDim: number, scaleF16: boolean) {
  const qWeight = new Uint32Array((outDim * inDim) / 8);
  for (let i = 0; i < qWeight.length; i++) qWeight[i] = rng.nextU32();
  const groups = (outDim * inDim) / 32;
  const scales = new Float32Array(groups);
  const scaleWords = new Uint32Array(scaleF16 ? Math.ceil(groups / 2) : groups);
  for (let g = 0; g < groups; g++) {
    if (scaleF16) {
      const bits = ((11 + rng.int(3)) << 10) | rng.int(1024); // 2^-4 .. 2^-1, exactly representable
      scales[g] = f16BitsToF32(bits);
      scaleWords[g >> 1] |= bits << (16 * (g & 1));
    } else {
      scales[g] = 0.01 + rng.next() * 0.2;
      scaleWords[g] = new Uint32Array(Float32Array.of(scales[g]).buffer)[0];
    }
  }
  const dense = new Float32Array(outDim * inDim);
  for (let n = 0; n < outDim; n++) {
    for (let k = 0; k < inDim; k++) {
      const q = (qWeight[(n * inDim + k) >> 3] >>> (4 * (k % 8))) & 0xf;
      dense[n * inDim + k] = (q - 7) * scales[(n * inDim + k) >> 5];
    }
  }
  return { qWeight, scaleWords, dense };
}

/** A random dense matrix [N, K] as f32 words or packed f16 pairs, and its float values. */
export function randomDense(rng: Rng, outDim: number, inDim: number, f16: boolean) {
  const dense = new Float32Array(outDim * inDim);
  const words = new Uint32Array(f16 ? Math.ceil(dense.length / 2) : dense.length);
  for (let i = 0; i < dense.length; i++) {
    if (f16) {
      const bits = (rng.int(2) << 15) | ((10 + rng.int(6)) << 10) | rng.int(1024);
      dense[i] = f16BitsToF32(bits);
      words[i >> 1] |= bits << (16 * (i & 1));
    } else {
      dense[i] = rng.normal();
      words[i] = new Uint32Array(Float32Array.of(dense[i]).buffer)[0];
    }
  }
  return { dense, words };
}

/**
 * A random weight [N, K] of `format` (q4 with f16 or f32 scales, dense f16 or f32; randomQ4, randomDense) and its
 * decoded floats; `linear` uploads it with `upload` as a GpuLinear, whole or in row chunks of the given sizes (as
 * gpu-weights.ts splits a weight larger than a binding). f16 q4 scales are split at even scale indices: a chunk
 * that starts at an odd row needs an even K/32.
 */
export function randomLinear(rng: Rng, format: 'q4' | 'dense', outDim: number, inDim: number, f16: boolean) {
  const chunked = <C>(split: readonly number[], chunk: (row: number, rows: number) => C) => {
    let row = 0;
    return split.map((rows) => {
      const c = chunk(row, rows);
      row += rows;
      return c;
    });
  };
  type Upload = (data: Uint32Array) => GPUBuffer;
  if (format === 'q4') {
    const q = randomQ4(rng, outDim, inDim, f16);
    const perRow = { words: inDim / 8, scales: f16 ? inDim / 64 : inDim / 32 };
    const linear = (upload: Upload, split?: readonly number[]): GpuLinear => {
      if (!split)
        return wholeLinear({
          format,
          qWeight: upload(q.qWeight),
          scales: upload(q.scaleWords),
          scaleF16: f16,
          outDim,
          inDim,
        });
      const chunks = chunked(split, (row, rows) => ({
        rowStart: row,
        rows,
        qWeight: upload(q.qWeight.slice(row * perRow.words, (row + rows) * perRow.words)),
        scales: upload(q.scaleWords.slice(row * perRow.scales, (row + rows) * perRow.scales)),
      }));
      return { format, chunks, scaleF16: f16, outDim, inDim };
    };
    return { dense: q.dense, linear };
  }
  const d = randomDense(rng, outDim, inDim, f16);
  const perRow = f16 ? inDim / 2 : inDim;
  const linear = (upload: Upload, split?: readonly number[]): GpuLinear => {
    if (!split) return wholeLinear({ format, weight: upload(d.words), f16, outDim, inDim });
    const chunks = chunked(split, (row, rows) => ({
      rowStart: row,
      rows,
      weight: upload(d.words.slice(row * perRow, (row + rows) * perRow)),
    }));
    return { format, chunks, f16, outDim, inDim };
  };
  return { dense: d.dense, linear };
}
