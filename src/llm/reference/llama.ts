/**
 * CPU reference forward of a Llama model (MLC's LlamaForCausalLM), plain and readable, float64 accumulation
 * with float32 storage. The GPU forward is tested against it; it is too slow for anything but small models.
 *
 * Shapes (llm.c style): T tokens, H hidden, nh heads, nkv kv heads, hd head dim, I intermediate, V vocab.
 *
 *   x [T, H]   = embed[tokens]
 *   per layer:
 *     a [T, H]           = rmsnorm(x, input_layernorm)
 *     qkv [T, (nh+2nkv)hd] = a . Wqkv^T                  Q heads, then K heads, then V heads
 *     rope(Q, K) at positions 0..T-1 (rotate-half, theta, Llama-3 scaling)
 *     att [T, nh hd]     = causal softmax(q.k / sqrt(hd)) v, query head h reads kv head h / (nh/nkv)
 *     x += att . Wo^T
 *     m [T, H]           = rmsnorm(x, post_attention_layernorm)
 *     gu [T, 2I]         = m . Wgate_up^T                 gate columns, then up columns
 *     x += (silu(gate) * up) . Wdown^T
 *   hidden [T, H] = rmsnorm(x, norm)
 *   logits [T, V] = hidden . (lm_head or embed)^T
 *
 * The per-op functions are the kernels' references (./ops matmul, ./embedding, ./rmsnorm, ./rope, ./silu-mul,
 * ./attention with one causal segment per row), in float32 storage; this file adds a full log-softmax and the
 * composition.
 */
import type { LlamaWeights } from '../model/weights';
import { configInvFreq } from '../engine/rope';
import { attentionForward, causalSegments } from './attention';
import { embedding } from './embedding';
import { matmul } from './ops';
import { f32 } from './precision';
import { rowMaxAndSumExp } from './logsoftmax-gather';
import { rmsnormForward } from './rmsnorm';
import { ropeForward } from './rope';
import { siluMulForward } from './silu-mul';

export { configInvFreq, llama3ScaledFrequency, ropeInvFreq } from '../engine/rope';

/** Row-wise log-softmax of logits [R, V], computed in float64 (max-subtracted). */
export function logSoftmax(logits: Float32Array, rows: number, vocab: number): Float32Array {
  const out = new Float32Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const base = r * vocab;
    const { max, sum } = rowMaxAndSumExp(logits, base, vocab);
    const logZ = max + Math.log(sum);
    for (let v = 0; v < vocab; v++) out[base + v] = logits[base + v] - logZ;
  }
  return out;
}

function addInPlace(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

export interface ForwardResult {
  /** [T, V] */
  logits: Float32Array;
  /** [T, H], after the final RMSNorm (the critic's feature at the last prompt token). */
  hidden: Float32Array;
}

export interface ForwardOptions {
  /** Skip the vocabulary projection for the first `skipLogitsBefore` rows (their logits stay 0). */
  skipLogitsBefore?: number;
}

/** Forward of one causal sequence starting at position 0. */
export function llamaForward(
  weights: LlamaWeights,
  tokens: ArrayLike<number>,
  options: ForwardOptions = {},
): ForwardResult {
  const c = weights.config;
  const T = tokens.length;
  if (T === 0) throw new RangeError('llamaForward: no tokens');
  if (T > c.contextWindow)
    throw new RangeError(`llamaForward: ${T} tokens exceed the context window (${c.contextWindow})`);
  for (let t = 0; t < T; t++) {
    if (!Number.isInteger(tokens[t]) || tokens[t] < 0 || tokens[t] >= c.vocabSize)
      throw new RangeError(`llamaForward: token ${tokens[t]} at ${t} is outside the vocabulary (${c.vocabSize})`);
  }
  const H = c.hidden;
  const qkvDim = (c.heads + 2 * c.kvHeads) * c.headDim;
  const invFreq = configInvFreq(c);
  const positions = Array.from({ length: T }, (_, t) => t);

  const x = embedding(weights.embed, tokens, H);
  for (const layer of weights.layers) {
    const { y: a } = rmsnormForward(x, layer.inputNorm, T, H, c.rmsNormEps, f32);
    const qkv = matmul(a as Float32Array, layer.qkv, T, qkvDim, H);
    ropeForward(qkv, positions, invFreq, c.heads, c.kvHeads, c.headDim);
    const att = attentionForward(qkv, causalSegments(T), T, c.heads, c.kvHeads, c.headDim, f32).out as Float32Array;
    addInPlace(x, matmul(att, layer.o, T, H, c.heads * c.headDim));
    const { y: m } = rmsnormForward(x, layer.postNorm, T, H, c.rmsNormEps, f32);
    const gateUp = matmul(m as Float32Array, layer.gateUp, T, 2 * c.intermediate, H);
    addInPlace(
      x,
      matmul(siluMulForward(gateUp, T, c.intermediate, f32) as Float32Array, layer.down, T, H, c.intermediate),
    );
  }
  const hidden = rmsnormForward(x, weights.finalNorm, T, H, c.rmsNormEps, f32).y as Float32Array;
  const skip = Math.min(Math.max(options.skipLogitsBefore ?? 0, 0), T);
  const logits = new Float32Array(T * c.vocabSize);
  logits.set(matmul(hidden.subarray(skip * H), weights.lmHead, T - skip, c.vocabSize, H), skip * c.vocabSize);
  return { logits, hidden };
}
