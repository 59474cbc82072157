/**
 * RoPE frequencies and the cos/sin table, shared by the GPU forward (rope.wgsl reads the table) and the CPU
 * reference. Rotate-half form: the pair (d, d + hd/2) of a head at position p turns by p * invFreq[d].
 */
import type { Llama3RopeScaling, LlamaConfig } from '../model/config';

/**
 * Llama-3 frequency scaling of one inverse frequency (MLC `rope_freq_llama3`, equal to HF's piecewise
 * `_compute_llama3_parameters`):
 *   smooth = clamp((orig_max / (2 pi)) f - low) / (high - low), 0, 1)      (= (orig_max / wavelen - low) / (high - low))
 *   f'     = (1 - smooth) f / factor + smooth f
 * High frequencies (wavelength < orig_max / high) keep f; low ones (wavelength > orig_max / low) get f / factor;
 * in between they blend linearly in orig_max / wavelength.
 */
export function llama3ScaledFrequency(freq: number, s: Llama3RopeScaling): number {
  const smooth = Math.min(
    1,
    Math.max(
      0,
      ((s.originalMaxPositionEmbeddings / (2 * Math.PI)) * freq - s.lowFreqFactor) /
        (s.highFreqFactor - s.lowFreqFactor),
    ),
  );
  return ((1 - smooth) * freq) / s.factor + smooth * freq;
}

/**
 * invFreq [hd/2]: theta^(-2d/hd), Llama-3-scaled where configured, rounded to float32 (HF and MLC keep
 * them in float32). Pair (d, d + hd/2) turns by position * invFreq[d].
 */
export function ropeInvFreq(headDim: number, theta: number, scaling: Llama3RopeScaling | null = null): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let d = 0; d < half; d++) {
    const freq = 1 / theta ** ((2 * d) / headDim);
    inv[d] = scaling ? llama3ScaledFrequency(freq, scaling) : freq;
  }
  return inv;
}

export function configInvFreq(config: LlamaConfig): Float32Array {
  return ropeInvFreq(config.headDim, config.ropeTheta, config.ropeScaling);
}

/**
 * The RoPE table for positions 0..count-1: [count, hd/2] pairs (cos a, sin a), a = p * invFreq[d] rounded to
 * float32 as HF computes it, then cos and sin to float32. rope.wgsl reads it; the reference below uses it too.
 */
export function ropeTable(invFreq: Float32Array, count: number): Float32Array {
  const half = invFreq.length;
  const table = new Float32Array(count * half * 2);
  for (let p = 0; p < count; p++) {
    for (let d = 0; d < half; d++) {
      const angle = Math.fround(p * invFreq[d]);
      table[2 * (p * half + d)] = Math.cos(angle);
      table[2 * (p * half + d) + 1] = Math.sin(angle);
    }
  }
  return table;
}
