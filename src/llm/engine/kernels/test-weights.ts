/** Random weights in the GPU formats, with their decoded floats, for the linear kernels' tests. */
import type { Rng } from '../../../util/rng';
import { f16BitsToF32 } from '../../model/quant';

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
