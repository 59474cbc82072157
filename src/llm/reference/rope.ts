/**
 * CPU reference of rotary position embedding (kernels/rope.ts, shaders/rope.wgsl), rotate-half form, on the
 * Q and K heads of fused qkv rows [T, (H + 2 KVH) hd]: the pair (a, b) = (d, d + hd/2) of a head at position p
 * turns by angle = fround(p * invFreq[d]) (float32, as HF computes it):  a' = a cos - b sin,  b' = b cos + a sin.
 * V heads are untouched.
 */
import type { Vec } from './precision';

/**
 * The arguments of ropeForward and ropeBackward: the rows turned in place (qkv, or dqkv for the backward), their
 * positions, the inverse frequencies and the head counts.
 */
type RopeArgs = [
  qkv: Vec,
  positions: ArrayLike<number>,
  invFreq: ArrayLike<number>,
  heads: number,
  kvHeads: number,
  headDim: number,
];

/** Forward, in place. */
export function ropeForward(...args: RopeArgs): void {
  ropeRotate(1, ...args);
}

/** Backward in place on dqkv: the transpose (inverse) rotation, da = da' cos + db' sin, db = db' cos - da' sin. */
export function ropeBackward(...args: RopeArgs): void {
  ropeRotate(-1, ...args);
}

function ropeRotate(sign: 1 | -1, ...[qkv, positions, invFreq, heads, kvHeads, headDim]: RopeArgs): void {
  const half = headDim / 2;
  const stride = (heads + 2 * kvHeads) * headDim;
  for (let r = 0; r < positions.length; r++) {
    for (let h = 0; h < heads + kvHeads; h++) {
      const base = r * stride + h * headDim;
      for (let d = 0; d < half; d++) {
        const angle = Math.fround(positions[r] * invFreq[d]);
        const c = Math.cos(angle);
        const s = sign * Math.sin(angle);
        const a = qkv[base + d];
        const b = qkv[base + d + half];
        qkv[base + d] = a * c - b * s;
        qkv[base + d + half] = b * c + a * s;
      }
    }
  }
}
