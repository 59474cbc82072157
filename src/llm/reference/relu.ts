/**
 * CPU reference of ReLU (kernels/relu.ts), the critic's hidden activation:
 *   forward   a = max(z, 0)
 *   backward  dz = da * [z > 0]    (relu'(0) = 0, as torch; a > 0 exactly where z > 0)
 */
import { allocator, type Alloc, type Vec } from './precision';

export function reluForward(z: ArrayLike<number>, alloc: Alloc = allocator()): Vec {
  const a = alloc(z.length);
  for (let i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : 0;
  return a;
}

/** dz from da and the forward's input z (or output a: the same mask), in place on da. */
export function reluBackward(da: Float64Array | Float32Array, z: ArrayLike<number>): void {
  for (let i = 0; i < da.length; i++) if (!(z[i] > 0)) da[i] = 0;
}
