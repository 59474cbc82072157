/**
 * CPU reference of the SiLU-gated MLP's middle (kernels/silu-mul.ts, shaders/silu_mul.wgsl):
 * h [T, I] = silu(gate) * up, gate = gu[:, 0:I], up = gu[:, I:2I], silu(g) = g sigmoid(g).
 */
import { allocator, type Alloc, type Vec } from './precision';

export function siluMulForward(
  gateUp: ArrayLike<number>,
  rows: number,
  inter: number,
  alloc: Alloc = allocator(),
): Vec {
  const h = alloc(rows * inter);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < inter; i++) {
      const gate = gateUp[t * 2 * inter + i];
      h[t * inter + i] = (gate / (1 + Math.exp(-gate))) * gateUp[t * 2 * inter + inter + i];
    }
  }
  return h;
}

/** Backward: dgate = dh * up * sig(g) (1 + g (1 - sig(g))), dup = dh * silu(g). Returns dgu [T, 2I]. */
export function siluMulBackward(
  gateUp: ArrayLike<number>,
  dh: ArrayLike<number>,
  rows: number,
  inter: number,
): Float64Array {
  const dgu = new Float64Array(rows * 2 * inter);
  for (let t = 0; t < rows; t++) {
    for (let i = 0; i < inter; i++) {
      const g = gateUp[t * 2 * inter + i];
      const up = gateUp[t * 2 * inter + inter + i];
      const sig = 1 / (1 + Math.exp(-g));
      const d = dh[t * inter + i];
      dgu[t * 2 * inter + i] = d * up * sig * (1 + g * (1 - sig));
      dgu[t * 2 * inter + inter + i] = d * g * sig;
    }
  }
  return dgu;
}
