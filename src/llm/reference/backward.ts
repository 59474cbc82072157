/**
 * CPU reference of TWOSOME's actor training pass (llm.c style): a Llama forward with LoRA adapters that keeps
 * what the backward needs, and the backward from dL/d(log-prob of each scored action token) to dL/dA and
 * dL/dB of every LoRA module. The frozen model gets no gradients: only input gradients flow through it.
 * The GPU backward is tested against these functions, op by op and end to end.
 *
 * API:
 *   scoreWithLora(weights, adapter | null, prompts, opts)        -> S[p][k] and per-token log-probs
 *   loraGradients(weights, adapter, prompts, dLdS[p][k], opts)    -> { scores, modules: [{layer, target, a, b}] }
 *   loraGradientsPerToken(..., dLdTokenLogprob[p][k][j], opts)    -> the same, per-token upstream gradients
 *   opts: precision 'float64' (default) | 'float32'; layout 'separate' (default: one BOS + prompt + action
 *   sequence per action, the ground truth) | 'shared' (planScoring's shared-prompt rows, what the GPU runs);
 *   trace: every intermediate gradient by name (see GradientTrace).
 *   Lower level: loraForwardRows / loraBackwardRows on any RowLayout, and each op's forward and backward.
 *
 * Notation: R rows (their token ids, RoPE positions and attention segments), D hidden, nh query heads,
 * nkv kv heads, hd head dim, Q = (nh + 2 nkv) hd fused qkv width, I intermediate, V vocab, J scored rows,
 * r LoRA rank, s = alpha / r the LoRA scale.
 *
 * Forward, per layer (x [R, D] is the residual stream entering the layer):
 *   xn   [R, D]  = rmsnorm(x, input_layernorm)                         rstd1 [R]
 *   qkv  [R, Q]  = xn · Wqkv^T  + s (xn · A^T) · B^T  on the q / k / v row slices that have an adapter
 *   qkv          = rope(qkv)     Q and K heads only; LoRA is added BEFORE RoPE (PEFT wraps q_proj / k_proj)
 *   att  [R, nh hd] = softmax(q k^T / sqrt(hd)) v over each row's keys (causal, or the shared layout's two
 *                  segments); GQA: query head h reads kv head h / (nh / nkv)
 *   xm   [R, D]  = x + att · Wo^T  (+ s (att · A^T) · B^T for o_proj)
 *   mn   [R, D]  = rmsnorm(xm, post_attention_layernorm)                rstd2 [R]
 *   gu   [R, 2I] = mn · Wgu^T   (+ LoRA on the gate rows [0, I) and / or the up rows [I, 2I))
 *   h    [R, I]  = silu(gate) * up
 *   x'   [R, D]  = xm + h · Wdown^T (+ LoRA for down_proj)
 * then hidden [R, D] = rmsnorm(x_L, norm), logits [J, V] = hidden[logit rows] · lm_head^T (embed^T when
 * tied), logp[j] = log_softmax(logits[j])[target j]. In one sequence BOS + prompt (P ids) + action
 * (a_0..a_{n-1}), row P-1+j predicts a_j; S = sum_j logp[j].
 *
 * LoRA convention (PEFT, r / alpha / no dropout / no bias): for a target slice of a fused MLC weight,
 *   y[:, off : off + out] += s * (x · A^T) · B^T,   A [r, in], B [out, r] row-major, u = x · A^T [R, r]
 * and the gradients are
 *   dB [out, r] = s * dy_slice^T · u          du [R, r] = s * dy_slice · B
 *   dA [r, in]  = du^T · x                    dx [R, in] += du · A
 * where dy_slice is the gradient of the fused output's slice (for q / k: before RoPE, i.e. after RoPE's backward).
 *
 * Precision: by default everything runs in float64 end to end (activations in Float64Array; weights and
 * adapters are read from their float32 arrays exactly), so central finite differences of the forward check the
 * backward to ~1e-8. With `precision: 'float32'`, activations are rounded to float32 at the same points as
 * `llamaForward` (ops.ts), and a forward without LoRA reproduces `llamaForward` / `scoreTokenSequences`
 * bit for bit. Backward math is always float64 and gradients are returned as Float64Array.
 */
import type { LlamaConfig } from '../model/config';
import { attentionBackward, attentionForward, causalSegments, type AttentionForward } from './attention';
import { loraSlice, type LoraAdapter, type LoraModule, type LoraTarget } from '../train/lora';
import { configInvFreq } from '../engine/rope';
import { planScoring, type ScoringLayout } from '../engine/scoring-layout';
import type { LlamaWeights } from '../model/weights';
import type { ActionScores, ScoringBatch } from '../scores';
import { logSoftmaxGatherBackward, logSoftmaxGatherForward } from './logsoftmax-gather';
import { linearBackwardInput, linearForward } from './ops';
import { allocator, type Alloc, type PrecisionOptions, type Vec } from './precision';
import { rmsnormBackward, rmsnormForward } from './rmsnorm';
import { ropeBackward, ropeForward } from './rope';
import { siluMulBackward, siluMulForward } from './silu-mul';

// The op references of the model live in one file per op (./ops.ts for the linear layer, ./rmsnorm.ts,
// ./rope.ts, ...); this file composes them, with the LoRA and attention references, into the model's forward and
// backward.
export type { Precision, PrecisionOptions, Vec } from './precision';
export { allocator } from './precision';
export { linearBackwardInput, linearForward } from './ops';

// ---------------------------------------------------------------------------------------------------------
// LoRA on a row slice of a fused projection.

/** Where a LoRA module writes: rows [T] of y with stride yStride, columns [offset, offset + outDim). */
export interface LoraDims {
  rows: number;
  inDim: number;
  outDim: number;
  r: number;
  /** First column of the slice within y's rows (the slice's rowOffset in the fused weight). */
  offset: number;
  /** Width of y's rows (the fused output width). */
  yStride: number;
}

/**
 * Forward: u [T, r] = x [T, in] · A^T;  y[t, offset + o] += s * sum_k u[t, k] B[o, k]  (in place on y).
 * Returns u (what the backward needs).
 */
export function loraForward(
  x: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  scale: number,
  y: Vec,
  d: LoraDims,
  alloc: Alloc = allocator(),
): Vec {
  const { rows, inDim, outDim, r, offset, yStride } = d;
  const u = linearForward(x, a, rows, r, inDim, alloc);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < outDim; o++) {
      let delta = 0;
      for (let k = 0; k < r; k++) delta += u[t * r + k] * b[o * r + k];
      y[t * yStride + offset + o] += delta * scale;
    }
  }
  return u;
}

/**
 * Backward of loraForward, accumulating (+=) into dA [r, in], dB [out, r] and dx [T, in]:
 *   dB = s * dy_slice^T · u,  du = s * dy_slice · B,  dA = du^T · x,  dx += du · A.
 */
export function loraBackward(
  x: ArrayLike<number>,
  u: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  scale: number,
  dy: ArrayLike<number>,
  d: LoraDims,
  dA: Float64Array,
  dB: Float64Array,
  dx: Float64Array,
): void {
  const { rows, inDim, outDim, r, offset, yStride } = d;
  const du = new Float64Array(r);
  for (let t = 0; t < rows; t++) {
    du.fill(0);
    for (let o = 0; o < outDim; o++) {
      const g = dy[t * yStride + offset + o] * scale;
      if (g === 0) continue;
      for (let k = 0; k < r; k++) {
        dB[o * r + k] += g * u[t * r + k];
        du[k] += g * b[o * r + k];
      }
    }
    for (let k = 0; k < r; k++) {
      const g = du[k];
      if (g === 0) continue;
      for (let i = 0; i < inDim; i++) {
        dA[k * inDim + i] += g * x[t * inDim + i];
        dx[t * inDim + i] += g * a[k * inDim + i];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------------
// The model: forward with caches, backward to the LoRA parameters.

/** The LoRA modules of one layer, by target (index = position in adapter.modules). */
type LayerAdapters = Partial<Record<LoraTarget, { index: number; module: LoraModule }>>;

function adapterByLayer(config: LlamaConfig, adapter: LoraAdapter | null): LayerAdapters[] {
  const layers: LayerAdapters[] = Array.from({ length: config.layers }, () => ({}));
  if (!adapter) return layers;
  const r = adapter.config.r;
  adapter.modules.forEach((module, index) => {
    const { layer, slice } = module;
    if (!Number.isInteger(layer) || layer < 0 || layer >= config.layers)
      throw new RangeError(`LoRA module ${index}: layer ${layer} is outside the model's ${config.layers} layers`);
    const expected = loraSlice(config, slice.target);
    if (
      expected.fused !== slice.fused ||
      expected.rowOffset !== slice.rowOffset ||
      expected.outDim !== slice.outDim ||
      expected.inDim !== slice.inDim
    ) {
      throw new RangeError(`LoRA module ${index} (${slice.target}, layer ${layer}) does not match this model's shapes`);
    }
    if (module.a.length !== r * slice.inDim || module.b.length !== slice.outDim * r) {
      throw new RangeError(
        `LoRA module ${index} (${slice.target}, layer ${layer}): A must be [${r}, ${slice.inDim}] and B [${slice.outDim}, ${r}]`,
      );
    }
    if (layers[layer][slice.target]) throw new RangeError(`LoRA: two modules for ${slice.target} of layer ${layer}`);
    layers[layer][slice.target] = { index, module };
  });
  return layers;
}

const QKV_TARGETS = ['q_proj', 'k_proj', 'v_proj'] as const;
const GATE_UP_TARGETS = ['gate_proj', 'up_proj'] as const;

/** What one layer's backward needs (R rows). */
export interface LayerCache {
  /** [R, D] the residual stream entering the layer. */
  x: Vec;
  /** [R, D], [R] input RMSNorm output and 1/rms. */
  xn: Vec;
  rstd1: Vec;
  /** [R, Q] fused q, k, v after LoRA and RoPE (what attention read). */
  qkv: Vec;
  /** Attention probabilities [nh, R, K] and K. */
  attention: Pick<AttentionForward, 'probs' | 'keys'>;
  /** [R, nh hd] attention output (o_proj's input). */
  att: Vec;
  /** [R, D] residual after attention (post-attention RMSNorm's input). */
  xMid: Vec;
  /** [R, D], [R] post-attention RMSNorm output and 1/rms. */
  mn: Vec;
  rstd2: Vec;
  /** [R, 2I] gate and up after LoRA. */
  gateUp: Vec;
  /** [R, I] silu(gate) * up (down_proj's input). */
  h: Vec;
  /** u = input · A^T [R, r] of each adapted target of this layer. */
  loraU: Partial<Record<LoraTarget, Vec>>;
}

/** The rows of one pass: token ids, RoPE positions and attention segments [R, 4] (engine/scoring-layout.ts). */
export interface RowLayout {
  tokens: ArrayLike<number>;
  positions: ArrayLike<number>;
  segments: ArrayLike<number>;
}

/** One causal sequence: positions 0..T-1, row t reads rows 0..t. */
export function sequenceLayout(tokens: readonly number[]): RowLayout {
  return { tokens, positions: tokens.map((_, t) => t), segments: causalSegments(tokens.length) };
}

export interface LoraForwardCache {
  layout: RowLayout;
  layers: LayerCache[];
  /** [R, D] the residual stream after the last layer (final RMSNorm's input), its 1/rms [R] and the output. */
  xFinal: Vec;
  rstdFinal: Vec;
  hidden: Vec;
  /** Rows whose logits were computed, the tokens they score, the logits [J, V] and log-probs [J]. */
  logitRows: number[];
  targets: number[];
  logits: Vec;
  logprobs: number[];
}

/**
 * Forward of the rows of `layout` with LoRA (null: the frozen model), keeping every activation the backward
 * needs. logitRows[j] is the row whose next-token distribution scores targets[j].
 */
export function loraForwardRows(
  weights: LlamaWeights,
  adapter: LoraAdapter | null,
  layout: RowLayout,
  logitRows: ArrayLike<number>,
  targets: ArrayLike<number>,
  options: PrecisionOptions = {},
): LoraForwardCache {
  const c = weights.config;
  const precision = options.precision ?? 'float64';
  const alloc = allocator(precision);
  const { tokens, positions, segments } = layout;
  const T = tokens.length;
  checkLayout(c, layout);
  if (logitRows.length !== targets.length) throw new RangeError('forward: logitRows and targets differ in length');
  for (let j = 0; j < logitRows.length; j++) {
    if (!Number.isInteger(logitRows[j]) || logitRows[j] < 0 || logitRows[j] >= T)
      throw new RangeError(`forward: logit row ${logitRows[j]} is outside the ${T} rows`);
    if (!Number.isInteger(targets[j]) || targets[j] < 0 || targets[j] >= c.vocabSize)
      throw new RangeError(`forward: target ${targets[j]} is outside the vocabulary`);
  }
  const byLayer = adapterByLayer(c, adapter);
  const s = adapter?.scale ?? 0;
  const r = adapter?.config.r ?? 0;
  const D = c.hidden;
  const I = c.intermediate;
  const attDim = c.heads * c.headDim;
  const Q = (c.heads + 2 * c.kvHeads) * c.headDim;
  const invFreq = configInvFreq(c);

  // x [R, D] = embed[tokens]
  let x = alloc(T * D);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) x[t * D + d] = weights.embed[tokens[t] * D + d];

  const layers: LayerCache[] = [];
  weights.layers.forEach((W, l) => {
    const ad = byLayer[l];
    const loraU: LayerCache['loraU'] = {};
    const lora = (target: LoraTarget, input: Vec, y: Vec, yStride: number) => {
      const m = ad[target]?.module;
      if (!m) return;
      loraU[target] = loraForward(
        input,
        m.a,
        m.b,
        s,
        y,
        { rows: T, inDim: m.slice.inDim, outDim: m.slice.outDim, r, offset: m.slice.rowOffset, yStride },
        alloc,
      );
    };
    const { y: xn, rstd: rstd1 } = rmsnormForward(x, W.inputNorm, T, D, c.rmsNormEps, alloc);
    const qkv = linearForward(xn, W.qkv, T, Q, D, alloc);
    for (const target of QKV_TARGETS) lora(target, xn, qkv, Q);
    ropeForward(qkv, positions, invFreq, c.heads, c.kvHeads, c.headDim);
    const { out: att, probs, keys } = attentionForward(qkv, segments, T, c.heads, c.kvHeads, c.headDim, alloc);
    const proj = linearForward(att, W.o, T, D, attDim, alloc);
    lora('o_proj', att, proj, D);
    const xMid = alloc(T * D);
    for (let i = 0; i < T * D; i++) xMid[i] = x[i] + proj[i];
    const { y: mn, rstd: rstd2 } = rmsnormForward(xMid, W.postNorm, T, D, c.rmsNormEps, alloc);
    const gateUp = linearForward(mn, W.gateUp, T, 2 * I, D, alloc);
    for (const target of GATE_UP_TARGETS) lora(target, mn, gateUp, 2 * I);
    const h = siluMulForward(gateUp, T, I, alloc);
    const down = linearForward(h, W.down, T, D, I, alloc);
    lora('down_proj', h, down, D);
    const next = alloc(T * D);
    for (let i = 0; i < T * D; i++) next[i] = xMid[i] + down[i];
    layers.push({ x, xn, rstd1, qkv, attention: { probs, keys }, att, xMid, mn, rstd2, gateUp, h, loraU });
    x = next;
  });

  // hidden = rmsnorm(x_L, norm); logits [J, V] = hidden[logitRows] · lmHead^T; logp = log_softmax gathered
  const { y: hidden, rstd: rstdFinal } = rmsnormForward(x, weights.finalNorm, T, D, c.rmsNormEps, alloc);
  const J = logitRows.length;
  const gathered = alloc(J * D);
  for (let j = 0; j < J; j++) gathered.set(hidden.subarray(logitRows[j] * D, (logitRows[j] + 1) * D), j * D);
  const logits = linearForward(gathered, weights.lmHead, J, c.vocabSize, D, alloc);
  const logprobs = logSoftmaxGatherForward(logits, targets, c.vocabSize, precision);
  return {
    layout,
    layers,
    xFinal: x,
    rstdFinal,
    hidden,
    logitRows: Array.from(logitRows),
    targets: Array.from(targets),
    logits,
    logprobs,
  };
}

/** loraForwardRows on one causal sequence (positions 0..T-1). */
export function loraSequenceForward(
  weights: LlamaWeights,
  adapter: LoraAdapter | null,
  tokens: readonly number[],
  logitRows: readonly number[],
  targets: readonly number[],
  options: PrecisionOptions = {},
): LoraForwardCache {
  return loraForwardRows(weights, adapter, sequenceLayout(tokens), logitRows, targets, options);
}

/** dL/dA [r, in] and dL/dB [out, r] of one LoRA module (same order and layout as adapter.modules). */
export interface LoraModuleGradient {
  layer: number;
  target: LoraTarget;
  a: Float64Array;
  b: Float64Array;
}

/** Zeroed gradients shaped like the adapter's modules. */
export function zeroLoraGradients(adapter: LoraAdapter): LoraModuleGradient[] {
  return adapter.modules.map((m) => ({
    layer: m.layer,
    target: m.slice.target,
    a: new Float64Array(m.a.length),
    b: new Float64Array(m.b.length),
  }));
}

/**
 * Intermediate gradients, for comparing a GPU backward stage by stage. Names (layer -1: after the layers):
 *   layer -1: 'dlogits' [J, V], 'dhidden' [R, D] (final-norm output), 'dx' [R, D] (final-norm input)
 *   layer l:  'dh' [R, I], 'dgateUp' [R, 2I], 'dmn' [R, D], 'dxMid' [R, D], 'datt' [R, nh hd],
 *             'dqkvRoped' [R, Q] (attention's input), 'dqkv' [R, Q] (before RoPE: the projection output),
 *             'dxn' [R, D], 'dx' [R, D] (the layer input; not computed for layer 0)
 */
export type GradientTrace = (name: string, layer: number, tensor: Float64Array) => void;

/**
 * Backward of one forward from dlogp [J] (dL/d logprobs[j]) to the LoRA gradients, accumulated (+=) into
 * `grads` (from zeroLoraGradients). `fwd` must come from loraForwardRows with the same weights and adapter.
 */
export function loraBackwardRows(
  weights: LlamaWeights,
  adapter: LoraAdapter,
  fwd: LoraForwardCache,
  dlogp: ArrayLike<number>,
  grads: LoraModuleGradient[],
  trace?: GradientTrace,
): void {
  const c = weights.config;
  if (dlogp.length !== fwd.logitRows.length)
    throw new RangeError(`backward: ${dlogp.length} gradients for ${fwd.logitRows.length} scored rows`);
  if (grads.length !== adapter.modules.length) throw new RangeError('backward: gradients do not match the adapter');
  const byLayer = adapterByLayer(c, adapter);
  const s = adapter.scale;
  const r = adapter.config.r;
  const { positions, segments } = fwd.layout;
  const T = fwd.layout.tokens.length;
  const D = c.hidden;
  const I = c.intermediate;
  const V = c.vocabSize;
  const attDim = c.heads * c.headDim;
  const Q = (c.heads + 2 * c.kvHeads) * c.headDim;
  const invFreq = configInvFreq(c);
  const copy = (name: string, layer: number, t: Float64Array) => trace?.(name, layer, t.slice());

  // logp[j] = log_softmax(logits[j])[target j]; logits [J, V] = hidden[logitRows] · lmHead^T (frozen).
  const dlogits = logSoftmaxGatherBackward(fwd.logits, fwd.targets, dlogp, V);
  copy('dlogits', -1, dlogits);
  const dGathered = linearBackwardInput(dlogits, weights.lmHead, fwd.logitRows.length, V, D);
  // the gather's backward: scatter-add into the rows (a row read by several j sums them)
  const dHidden = new Float64Array(T * D);
  fwd.logitRows.forEach((row, j) => {
    for (let d = 0; d < D; d++) dHidden[row * D + d] += dGathered[j * D + d];
  });
  copy('dhidden', -1, dHidden);
  // hidden = rmsnorm(x_L, norm)
  let dx = rmsnormBackward(fwd.xFinal, weights.finalNorm, fwd.rstdFinal, dHidden, T, D);
  copy('dx', -1, dx);

  for (let l = c.layers - 1; l >= 0; l--) {
    const W = weights.layers[l];
    const L = fwd.layers[l];
    const ad = byLayer[l];
    const loraBack = (target: LoraTarget, input: Vec, dy: ArrayLike<number>, yStride: number, dInput: Float64Array) => {
      const entry = ad[target];
      if (!entry) return;
      const m = entry.module;
      const u = L.loraU[target];
      if (!u) throw new Error(`backward: the forward ran without the ${target} adapter of layer ${l}`);
      const g = grads[entry.index];
      loraBackward(
        input,
        u,
        m.a,
        m.b,
        s,
        dy,
        { rows: T, inDim: m.slice.inDim, outDim: m.slice.outDim, r, offset: m.slice.rowOffset, yStride },
        g.a,
        g.b,
        dInput,
      );
    };
    // x' = xm + h · Wdown^T (+ LoRA down): the residual passes dx to xm; the branch gets dx too.
    const dh = linearBackwardInput(dx, W.down, T, D, I);
    loraBack('down_proj', L.h, dx, D, dh);
    copy('dh', l, dh);
    // h = silu(gate) * up
    const dGateUp = siluMulBackward(L.gateUp, dh, T, I);
    copy('dgateUp', l, dGateUp);
    // gu = mn · Wgu^T (+ LoRA gate / up)
    const dmn = linearBackwardInput(dGateUp, W.gateUp, T, 2 * I, D);
    for (const target of GATE_UP_TARGETS) loraBack(target, L.mn, dGateUp, 2 * I, dmn);
    copy('dmn', l, dmn);
    // mn = rmsnorm(xm, post_attention_layernorm); xm also feeds x' directly (residual).
    const dxMid = rmsnormBackward(L.xMid, W.postNorm, L.rstd2, dmn, T, D);
    for (let i = 0; i < T * D; i++) dxMid[i] += dx[i];
    copy('dxMid', l, dxMid);
    // xm = x + att · Wo^T (+ LoRA o)
    const datt = linearBackwardInput(dxMid, W.o, T, D, attDim);
    loraBack('o_proj', L.att, dxMid, D, datt);
    copy('datt', l, datt);
    // att = attention over the roped qkv
    const dqkv = attentionBackward(L.qkv, segments, L.attention, datt, T, c.heads, c.kvHeads, c.headDim);
    copy('dqkvRoped', l, dqkv);
    // qkv = rope(qkv_linear): back to the gradient of the pre-RoPE projection (LoRA adds before RoPE)
    ropeBackward(dqkv, positions, invFreq, c.heads, c.kvHeads, c.headDim);
    copy('dqkv', l, dqkv);
    // qkv_linear = xn · Wqkv^T (+ LoRA q / k / v slices)
    const dxn = linearBackwardInput(dqkv, W.qkv, T, Q, D);
    for (const target of QKV_TARGETS) loraBack(target, L.xn, dqkv, Q, dxn);
    copy('dxn', l, dxn);
    if (l === 0) break; // below: the embedding, which is frozen
    // xn = rmsnorm(x, input_layernorm); x also feeds xm directly (residual).
    const dxIn = rmsnormBackward(L.x, W.inputNorm, L.rstd1, dxn, T, D);
    for (let i = 0; i < T * D; i++) dxIn[i] += dxMid[i];
    dx = dxIn;
    copy('dx', l, dx);
  }
}

function checkLayout(c: LlamaConfig, layout: RowLayout): void {
  const { tokens, positions, segments } = layout;
  const R = tokens.length;
  if (R === 0) throw new RangeError('forward: no tokens');
  if (positions.length !== R || segments.length !== 4 * R)
    throw new RangeError(`forward: ${R} tokens need ${R} positions and ${4 * R} segment entries`);
  for (let t = 0; t < R; t++) {
    const id = tokens[t];
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize)
      throw new RangeError(`forward: token ${id} at ${t} is outside the vocabulary (${c.vocabSize})`);
    if (!Number.isInteger(positions[t]) || positions[t] < 0 || positions[t] >= c.contextWindow)
      throw new RangeError(
        `forward: position ${positions[t]} of row ${t} is outside the context window (${c.contextWindow})`,
      );
    if (segments[4 * t + 1] + segments[4 * t + 3] === 0) throw new RangeError(`forward: row ${t} reads no keys`);
    for (const [start, len] of [
      [segments[4 * t], segments[4 * t + 1]],
      [segments[4 * t + 2], segments[4 * t + 3]],
    ]) {
      if (len > 0 && start + len > R)
        throw new RangeError(`forward: row ${t} reads rows ${start}..${start + len - 1}, past the ${R} rows`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// TWOSOME scoring with LoRA and its gradients.
//
// Layout 'separate' (default, the ground truth): every BOS + prompt + action is its own causal sequence and
// its own forward. Layout 'shared' (what the GPU runs): one pass over planScoring(prompts, 'shared') rows,
// every prompt once, each action reading its prompt and its own earlier tokens; mathematically the same.

/** One observation: BOS + prompt ids, and each offered action's ids as they follow `prompt + " "`. */
export interface ScoringPrompt {
  promptIds: readonly number[];
  actions: readonly (readonly number[])[];
}

export interface LoraScores {
  /** S[p][k]: summed log-prob of action k of prompt p. */
  logprobs: number[][];
  /** [p][k][j]: log p(action token j | BOS, prompt, earlier action tokens). */
  tokenLogprobs: number[][][];
}

export interface ScoringOptions extends PrecisionOptions {
  /** 'separate' (default): one full sequence per action. 'shared': the GPU's shared-prompt layout, one pass. */
  layout?: 'separate' | 'shared';
  /** Intermediate gradients (shared layout: one pass; separate: called for every action's sequence). */
  trace?: GradientTrace;
}

/** The sequence, logit rows and targets of one action: row P-1+j predicts action token j. */
export function actionSequence(
  promptIds: readonly number[],
  actionIds: readonly number[],
): { tokens: number[]; logitRows: number[]; targets: number[] } {
  if (promptIds.length === 0) throw new RangeError('scoring: the prompt needs at least BOS');
  if (actionIds.length === 0) throw new RangeError('scoring: an action needs at least one token');
  return {
    tokens: [...promptIds, ...actionIds],
    logitRows: actionIds.map((_, j) => promptIds.length - 1 + j),
    targets: [...actionIds],
  };
}

function sharedLayout(prompts: readonly ScoringPrompt[]): ScoringLayout {
  prompts.forEach(({ actions }) =>
    actions.forEach((a) => {
      if (a.length === 0) throw new RangeError('scoring: an action needs at least one token');
    }),
  );
  return planScoring(
    prompts.map((p) => ({ promptTokens: [...p.promptIds], actionTokens: p.actions.map((a) => [...a]) })),
    'shared',
  );
}

/**
 * One forward (and, with `backward`, one backward) per action sequence or one over the shared layout;
 * returns the scores. backward(p, k) gives dL/d(token log-probs) of action k of prompt p, or null for none.
 */
function run(
  weights: LlamaWeights,
  adapter: LoraAdapter | null,
  prompts: readonly ScoringPrompt[],
  options: ScoringOptions,
  backward?: { grads: LoraModuleGradient[]; dlogp: (p: number, k: number, n: number) => ArrayLike<number> | null },
): LoraScores {
  const scores: LoraScores = { logprobs: [], tokenLogprobs: [] };
  if ((options.layout ?? 'separate') === 'separate') {
    prompts.forEach(({ promptIds, actions }, p) => {
      const lps = actions.map((actionIds, k) => {
        const { tokens, logitRows, targets } = actionSequence(promptIds, actionIds);
        const fwd = loraSequenceForward(weights, adapter, tokens, logitRows, targets, options);
        const g = backward?.dlogp(p, k, actionIds.length);
        if (backward && adapter && g) loraBackwardRows(weights, adapter, fwd, g, backward.grads, options.trace);
        return fwd.logprobs;
      });
      scores.tokenLogprobs.push(lps);
      scores.logprobs.push(lps.map((lp) => lp.reduce((a, b) => a + b, 0)));
    });
    return scores;
  }
  const layout = sharedLayout(prompts);
  const fwd = loraForwardRows(weights, adapter, layout, layout.logitRows, layout.targets, options);
  const dlogp = new Float64Array(layout.logitRows.length);
  let any = false;
  layout.actionLogitRanges.forEach((ranges, p) => {
    const lps = ranges.map(({ first, count }, k) => {
      const g = backward?.dlogp(p, k, count);
      if (g) {
        for (let j = 0; j < count; j++) dlogp[first + j] = g[j];
        any = true;
      }
      return fwd.logprobs.slice(first, first + count);
    });
    scores.tokenLogprobs.push(lps);
    scores.logprobs.push(lps.map((lp) => lp.reduce((a, b) => a + b, 0)));
  });
  if (backward && adapter && any) loraBackwardRows(weights, adapter, fwd, dlogp, backward.grads, options.trace);
  return scores;
}

/** S_k of every action of every prompt, with LoRA (null: off). */
export function scoreWithLora(
  weights: LlamaWeights,
  adapter: LoraAdapter | null,
  prompts: readonly ScoringPrompt[],
  options: ScoringOptions = {},
): LoraScores {
  return run(weights, adapter, prompts, options);
}

/** The reference's prompts of a tokenized batch (the same ids). */
export function scoringPrompts(batch: ScoringBatch): ScoringPrompt[] {
  return batch.map((r) => ({ promptIds: r.promptTokens, actions: r.actionTokens }));
}

/**
 * LlamaEngine.forwardScores on the CPU: each prompt's ActionScores with `adapter` (null: the frozen model), in
 * the shared layout with float32 activations as the GPU computes them (no prompt hidden state).
 */
export function scoreBatch(weights: LlamaWeights, adapter: LoraAdapter | null, batch: ScoringBatch): ActionScores[] {
  const options = { layout: 'shared', precision: 'float32' } as const;
  const { logprobs } = scoreWithLora(weights, adapter, scoringPrompts(batch), options);
  return batch.map((r, p) => ({
    logprobs: logprobs[p],
    nTokens: r.actionTokens.map((ids) => ids.length),
    nWords: r.actionWords,
  }));
}

export interface LoraGradients {
  /** The forward's scores (the same as scoreWithLora's). */
  scores: LoraScores;
  /** modules[i] is the gradient of adapter.modules[i]. */
  modules: LoraModuleGradient[];
}

/** Gradients of a loss given dL/d(token log-prob) per prompt, action and action token. */
export function loraGradientsPerToken(
  weights: LlamaWeights,
  adapter: LoraAdapter,
  prompts: readonly ScoringPrompt[],
  dLdTokenLogprob: readonly (readonly ArrayLike<number>[])[],
  options: ScoringOptions = {},
): LoraGradients {
  if (dLdTokenLogprob.length !== prompts.length)
    throw new RangeError(`loraGradients: ${dLdTokenLogprob.length} gradient rows for ${prompts.length} prompts`);
  prompts.forEach(({ actions }, p) => {
    if (dLdTokenLogprob[p].length !== actions.length)
      throw new RangeError(
        `loraGradients: prompt ${p} has ${actions.length} actions but ${dLdTokenLogprob[p].length} gradients`,
      );
    actions.forEach((ids, k) => {
      if (dLdTokenLogprob[p][k].length !== ids.length)
        throw new RangeError(
          `loraGradients: prompt ${p} action ${k} has ${ids.length} tokens but ${dLdTokenLogprob[p][k].length} gradients`,
        );
    });
  });
  const modules = zeroLoraGradients(adapter);
  const dlogp = (p: number, k: number): ArrayLike<number> | null => {
    const g = dLdTokenLogprob[p][k];
    for (let j = 0; j < g.length; j++) if (g[j] !== 0) return g;
    return null;
  };
  const scores = run(weights, adapter, prompts, options, { grads: modules, dlogp });
  return { scores, modules };
}

/** Gradients of a loss given dL/dS[p][k] (S = summed action log-prob; every token of action k gets dL/dS_k). */
export function loraGradients(
  weights: LlamaWeights,
  adapter: LoraAdapter,
  prompts: readonly ScoringPrompt[],
  dLdS: readonly ArrayLike<number>[],
  options: ScoringOptions = {},
): LoraGradients {
  if (dLdS.length !== prompts.length)
    throw new RangeError(`loraGradients: ${dLdS.length} gradient rows for ${prompts.length} prompts`);
  const perToken = prompts.map(({ actions }, p) => {
    if (dLdS[p].length !== actions.length)
      throw new RangeError(`loraGradients: prompt ${p} has ${actions.length} actions but ${dLdS[p].length} gradients`);
    return actions.map((ids, k) => new Float64Array(ids.length).fill(dLdS[p][k]));
  });
  return loraGradientsPerToken(weights, adapter, prompts, perToken, options);
}

/**
 * The final-norm hidden state [H] of the last token of BOS + prompt with LoRA off (the critic's input).
 * In float32 mode it equals score.ts criticFeature bit for bit.
 */
export function lastPromptHidden(
  weights: LlamaWeights,
  promptIds: readonly number[],
  options: PrecisionOptions = {},
): Vec {
  const D = weights.config.hidden;
  const fwd = loraSequenceForward(weights, null, promptIds, [], [], options);
  return fwd.hidden.slice((promptIds.length - 1) * D, promptIds.length * D);
}
