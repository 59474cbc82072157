/**
 * The CPU reference's two precisions: 'float64' (exact math, for finite-difference checks of the backward) and
 * 'float32' (activations rounded where the model stores them, as the GPU does). Every op reference takes an
 * allocator for its outputs; its sums run in float64 either way.
 */

export type Precision = 'float64' | 'float32';
/** An activation: Float64Array in float64 mode, Float32Array in float32 mode. */
export type Vec = Float32Array | Float64Array;
export type Alloc = (n: number) => Vec;

export interface PrecisionOptions {
  /** 'float64' (default): exact math for finite differences. 'float32': llamaForward's rounding points. */
  precision?: Precision;
}

export function allocator(precision: Precision = 'float64'): Alloc {
  return precision === 'float32' ? (n) => new Float32Array(n) : (n) => new Float64Array(n);
}

/** The float32 allocator (the GPU's storage, and the plain reference forward's). */
export const f32: Alloc = allocator('float32');
