/**
 * Number formats of MLC weights: IEEE half (f16), bfloat16, and 4-bit group quantization (q4f16_1 / q4f32_1).
 * Platform-neutral.
 *
 * Group quantization, as MLC does it (python/mlc_llm/quantization/group_quantization.py, `_quantize` and
 * `_dequantize`; utils.py `pack_weight`, `convert_uint_to_float`), for W [N out, K in], group size 32, int4:
 *   max_int   = 2^(4-1) - 1 = 7
 *   scale     = max(|w| over the group) / 7                      (in the model dtype: f16 or f32)
 *   q         = clamp(round(w / scale + 7), 0, 14)              (note: 14 = 2 * max_int, not 15)
 *   q_weight  u32 [N, K/8]: element k of a row is nibble k % 8 of word k / 8, low nibble first
 *   q_scale   [N, K/32]
 *   w'        = (q - 7) * scale[n, k / 32]                       (no zero point)
 * Every intermediate is rounded to the model dtype (the TVM expression is typed in it). `round` is TVM's
 * tir.round, which its LLVM backend lowers to llvm.round: halves away from zero (apache/tvm
 * src/target/llvm/intrin_rule_llvm.cc, as read). A group of zeros has scale 0; MLC would divide 0/0 there, we
 * store q = 7 (decodes to exactly 0).
 * In q4f32_1 the f32 scales are later *stored* as bf16 (tvmjs "f32-to-bf16"), so the scale used at decode
 * time is the bf16-rounded one; make-model does the same.
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** f32 -> IEEE binary16 bits, round to nearest even; overflow -> inf; NaN stays NaN (quiet, sign kept). */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // biased f16 exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): m = value / 2^-24, rounded to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (m & 1) === 1)) m++;
    return sign | m; // a carry into bit 10 gives the smallest normal, which is right
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is right (up to inf)
  return h;
}

/** IEEE binary16 bits -> number (exact). */
function f16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let f16Values: Float32Array | undefined;

/** IEEE binary16 bits -> number (exact), from a table of all 65536 built on first use: adapters decode millions. */
export function f16BitsToF32(bits: number): number {
  if (!f16Values) {
    f16Values = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Values[h] = f16Value(h);
  }
  return f16Values[bits & 0xffff];
}

/** The nearest f16 value (ties to even), as a number. */
export function roundToF16(value: number): number {
  return f16BitsToF32(f32ToF16Bits(value));
}

/** f32 -> bfloat16 bits (the top half of the f32), round to nearest even; NaN stays a quiet NaN. */
export function f32ToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits -> number (exact: widen by << 16). */
export function bf16BitsToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0];
}

export function roundToBf16(value: number): number {
  return bf16BitsToF32(f32ToBf16Bits(value));
}

export function f16ArrayToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16BitsToF32(bits[i]);
  return out;
}

export function f32ArrayToF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16Bits(values[i]);
  return out;
}

export function bf16ArrayToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

export function f32ArrayToBf16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]);
  return out;
}

export const Q4_GROUP_SIZE = 32;
/** 2^(bits-1) - 1 for int4: the zero point of the stored nibble. */
export const Q4_MAX_INT = 7;

/** Round half away from zero (llvm.round / C round()). */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

export interface Q4Tensor {
  /** u32 [N, K/8], 8 nibbles per word, low nibble first. */
  qWeight: Uint32Array;
  /** [N, K/32], each value exactly representable in the scale dtype. */
  scale: Float32Array;
}

/**
 * Quantizes W [N, K] (row-major, K a multiple of 32) like MLC's group quantization in the given model dtype
 * ('float16' for q4f16_1, 'float32' for q4f32_1).
 */
export function quantizeQ4(w: ArrayLike<number>, n: number, k: number, dtype: 'float16' | 'float32'): Q4Tensor {
  if (k % Q4_GROUP_SIZE !== 0) throw new RangeError(`quantizeQ4: K (${k}) must be a multiple of ${Q4_GROUP_SIZE}`);
  if (w.length !== n * k)
    throw new RangeError(`quantizeQ4: expected ${n * k} values for [${n}, ${k}], got ${w.length}`);
  const r = dtype === 'float16' ? roundToF16 : Math.fround;
  const groups = k / Q4_GROUP_SIZE;
  const qWeight = new Uint32Array((n * k) / 8);
  const scale = new Float32Array(n * groups);
  for (let row = 0; row < n; row++) {
    for (let g = 0; g < groups; g++) {
      const base = row * k + g * Q4_GROUP_SIZE;
      let maxAbs = 0;
      for (let i = 0; i < Q4_GROUP_SIZE; i++) maxAbs = Math.max(maxAbs, Math.abs(r(w[base + i])));
      const s = r(maxAbs / Q4_MAX_INT);
      scale[row * groups + g] = s;
      for (let i = 0; i < Q4_GROUP_SIZE; i++) {
        let q = Q4_MAX_INT;
        if (s !== 0) q = Math.min(Math.max(roundHalfAway(r(r(r(w[base + i]) / s) + Q4_MAX_INT)), 0), 2 * Q4_MAX_INT);
        const col = g * Q4_GROUP_SIZE + i;
        const word = (row * k + col) >>> 3;
        qWeight[word] = (qWeight[word] | (q << (4 * (col & 7)))) >>> 0;
      }
    }
  }
  return { qWeight, scale };
}

/** W [N, K] = (q - 7) * scale[n, k/32] from q_weight u32 [N, K/8] and scale [N, K/32]. */
export function dequantizeQ4(qWeight: Uint32Array, scale: ArrayLike<number>, n: number, k: number): Float32Array {
  if (k % Q4_GROUP_SIZE !== 0) throw new RangeError(`dequantizeQ4: K (${k}) must be a multiple of ${Q4_GROUP_SIZE}`);
  if (qWeight.length !== (n * k) / 8)
    throw new RangeError(`dequantizeQ4: q_weight has ${qWeight.length} words, [${n}, ${k}] needs ${(n * k) / 8}`);
  if (scale.length !== (n * k) / Q4_GROUP_SIZE)
    throw new RangeError(
      `dequantizeQ4: scale has ${scale.length} values, [${n}, ${k}] needs ${(n * k) / Q4_GROUP_SIZE}`,
    );
  const out = new Float32Array(n * k);
  const groups = k / Q4_GROUP_SIZE;
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < k; col++) {
      const word = qWeight[(row * k + col) >>> 3];
      const q = (word >>> (4 * (col & 7))) & 0xf;
      out[row * k + col] = (q - Q4_MAX_INT) * scale[row * groups + ((col / Q4_GROUP_SIZE) | 0)];
    }
  }
  return out;
}
