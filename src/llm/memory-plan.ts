/**
 * GPU memory of one TWOSOME training step (actor forward + backward with LoRA, critic head, optimizers),
 * computed from the architecture and the micro-batch alone: nothing is allocated. Platform-neutral.
 *
 * Conventions (what the GPU trainer is planned to do; every term below is one buffer or one group of buffers):
 *   - Rows: a micro-batch of P prompts of T tokens (BOS included), each with N actions of n tokens, in the
 *     SHARED layout (scoring-layout.ts): R = P (T + N n) rows; the logits are needed at J = P N n rows.
 *     An attention row reads at most K = T + n keys (its prompt, then its own action's earlier tokens).
 *   - All activations and gradients are float32 (4 bytes); indices are u32.
 *   - Activation checkpointing per layer: the forward keeps each layer's input [R, D] (L of them) and the
 *     final residual [R, D]; the backward recomputes ONE layer at a time from its stored input (its full
 *     activation set, below) and runs that layer's backward. The per-layer activation and gradient buffers
 *     are a workspace allocated once and reused by every layer (forward and backward), so they count once.
 *   - Within the workspace nothing is shared except what the schedule below makes dead (upper bound):
 *       backward of a layer: dh = dx·Wdown (+LoRA) -> dgu = silu'(...) -> dmn = dgu·Wgu (+LoRA)
 *       -> dxm = rmsnorm'(dmn) + dx -> datt = dxm·Wo (+LoRA) -> dqkv = attention'(datt) -> rope' in place
 *       -> dxn = dqkv·Wqkv (+LoRA) into dmn's buffer -> dx_in = rmsnorm'(dxn) + dxm into dx's buffer.
 *   - Attention stores its probabilities [nh, R, K] for the backward (a plain kernel; a flash-style backward
 *     that keeps only the row log-sum-exp would need less), and the backward its dS [nh, R, K].
 *   - Frozen weights are used as stored (q4 words, scales) by both passes: the input gradient dx = dy·W reads
 *     the same buffers, with no transposed or dequantized copy.
 *   - Everything listed is live at the peak (the backward of a layer, with logits and optimizer state
 *     allocated): peak = weights + activations + optimizer, a conservative sum. The critic's phase (value
 *     minibatches) is counted as if concurrent with the actor's; its terms are small. The rollout's inference
 *     buffers (ScoringForward) are assumed released, or replaced by this workspace, which is a superset.
 *   - The critic's input features (final-norm hidden state of the last prompt token, LoRA off) do not change
 *     during an update (frozen model, adapter off): they are computed at rollout and cached, so critic training
 *     is the MLP alone on [B_v, D].
 */
import { estimateSizes, gpuBytes } from './catalog';
import type { LlamaConfig } from './config';
import { chunkBufferBytes, planWeightChunks } from './gpu-weights';
import { DEFAULT_LORA_CONFIG, loraSlice, type LoraTarget } from './lora';
import { elementCount, expectedLlamaTensors } from './tensor-cache';

export interface TrainingBatch {
  /** P: prompts per micro-batch. */
  prompts: number;
  /** T: tokens per prompt, BOS included. */
  promptTokens: number;
  /** N: actions per prompt. */
  actions: number;
  /** n: tokens per action. */
  actionTokens: number;
}

export interface MemoryPlanOptions {
  batch: TrainingBatch;
  /** LoRA rank and targets (default: r 8 on q_proj and v_proj). */
  lora?: { r: number; targets: readonly LoraTarget[] };
  /** Critic MLP hidden widths (default [1024, 512]; output 1). */
  criticHidden?: readonly number[];
  /** Rows of a value minibatch (default 32 = 128 / 4, the paper's). */
  criticBatch?: number;
  /**
   * Bytes one GPU buffer may hold (min(maxStorageBufferBindingSize, maxBufferSize) of the device): a weight
   * larger than this is uploaded in row chunks. Default 128 MiB, WebGPU's default binding limit (every adapter
   * gives at least that).
   */
  maxBindingBytes?: number;
}

export type MemoryCategory = 'weights' | 'activations' | 'optimizer';

export interface MemoryTerm {
  category: MemoryCategory;
  name: string;
  /** Shape and dtype, or how the bytes are made up. */
  detail: string;
  bytes: number;
}

export interface MemoryPlan {
  /** weightsBytes + activationBytes + optimizerBytes. */
  peakBytes: number;
  /** The frozen model on the GPU: q4 words + scales as stored (f16 for q4f16_1, f32 for q4f32_1), norms f32. */
  weightsBytes: number;
  /** Checkpoints, one layer's recomputed activations and gradients, logits and their gradient, layout, critic activations. */
  activationBytes: number;
  /** Trainable parameters, gradients and Adam moments: LoRA (AdamW) and critic (Adam). */
  optimizerBytes: number;
  /** R and J of the shared layout. */
  rows: number;
  logitRows: number;
  /** Trainable parameter counts. */
  loraParams: number;
  criticParams: number;
  /**
   * The largest single buffer: a weight's largest row chunk as gpu-weights.ts uploads it under
   * `maxBindingBytes` (the whole tensor when it fits one buffer), or an activation of this micro-batch (an
   * activation over the limit makes the engine run the micro-batch as several passes: batch-plan.ts).
   */
  largestBuffer: { name: string; bytes: number };
  breakdown: MemoryTerm[];
}

const F32 = 4;
const U32 = 4;

function checkPositive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`memory plan: ${name} must be a positive integer (got ${v})`);
}

export function planTrainingMemory(config: LlamaConfig, options: MemoryPlanOptions): MemoryPlan {
  const { prompts: P, promptTokens: T, actions: N, actionTokens: n } = options.batch;
  checkPositive('prompts', P);
  checkPositive('prompt tokens', T);
  checkPositive('actions', N);
  checkPositive('action tokens', n);
  if (T + n > config.contextWindow) throw new RangeError(`memory plan: a prompt of ${T} tokens plus an action of ${n} exceeds the context window of ${config.contextWindow}`);
  const lora = options.lora ?? DEFAULT_LORA_CONFIG;
  checkPositive('LoRA r', lora.r);
  if (lora.targets.length === 0) throw new RangeError('memory plan: LoRA needs at least one target');
  const criticHidden = options.criticHidden ?? [1024, 512];
  criticHidden.forEach((h) => checkPositive('critic width', h));
  const Bv = options.criticBatch ?? 32;
  checkPositive('critic batch', Bv);

  const { hidden: D, intermediate: I, heads: nh, kvHeads: nkv, headDim: hd, layers: L, vocabSize: V } = config;
  const Q = (nh + 2 * nkv) * hd;
  const A = nh * hd;
  const R = P * (T + N * n);
  const J = P * N * n;
  const K = T + n;
  const r = lora.r;
  const nt = lora.targets.length;

  const terms: MemoryTerm[] = [];
  const add = (category: MemoryCategory, name: string, detail: string, bytes: number) => terms.push({ category, name, detail, bytes });
  const f32 = (dims: number[]) => dims.reduce((a, b) => a * b, 1) * F32;

  // --- weights: the engine's own rule (gpu-weights.ts; catalog.estimateSizes)
  const sizes = estimateSizes(config);
  add('weights', 'model weights', `${config.quantization}: q4 words + scales as stored (f16 scales stay f16, f32 ones f32), norms widened to f32`, sizes.gpuWeightBytes);

  // --- optimizer: trainable parameters, gradients (accumulated over micro-batches), 2 Adam moments, all f32
  let loraParams = 0;
  for (const target of lora.targets) {
    const s = loraSlice(config, target);
    loraParams += r * s.inDim + s.outDim * r;
  }
  loraParams *= L;
  add('optimizer', 'LoRA parameters', `${loraParams} f32 (A [r, in] + B [out, r], ${nt} targets x ${L} layers)`, loraParams * F32);
  add('optimizer', 'LoRA gradients', `${loraParams} f32 (accumulated over the gradient-accumulation window)`, loraParams * F32);
  add('optimizer', 'LoRA AdamW moments', `2 x ${loraParams} f32 (m, v)`, 2 * loraParams * F32);
  const criticSizes = [D, ...criticHidden, 1];
  let criticParams = 0;
  for (let l = 0; l + 1 < criticSizes.length; l++) criticParams += criticSizes[l] * criticSizes[l + 1];
  add('optimizer', 'critic parameters', `${criticParams} f32 (${criticSizes.join(' -> ')}, no bias)`, criticParams * F32);
  add('optimizer', 'critic gradients', `${criticParams} f32`, criticParams * F32);
  add('optimizer', 'critic Adam moments', `2 x ${criticParams} f32 (m, v)`, 2 * criticParams * F32);

  // --- activations kept for the whole pass
  add('activations', 'layer-input checkpoints', `${L + 1} x [R ${R}, D ${D}] f32 (each layer's input and the final residual)`, (L + 1) * f32([R, D]));
  add('activations', 'layout', `tokens, positions [R], segments [R, 4], logit rows, targets [J] u32; rope cos/sin [${K}, ${hd / 2}, 2] f32`, (R * 6 + J * 2) * U32 + f32([K, hd / 2, 2]));
  add('activations', 'final norm', `rstd [R] f32; gathered hidden and its gradient 2 x [J ${J}, D] f32`, f32([R]) + 2 * f32([J, D]));
  add('activations', 'logits', `[J ${J}, V ${V}] f32`, f32([J, V]));
  add('activations', 'logit gradient', `[J, V] f32`, f32([J, V]));
  add('activations', 'token log-probs and their gradient', `2 x [J] f32`, 2 * f32([J]));

  // --- one layer's recomputed activations (workspace, reused by every layer)
  add('activations', 'layer: xn, rstd (input norm)', `[R, D] + [R] f32`, f32([R, D]) + f32([R]));
  add('activations', 'layer: qkv', `[R, (nh + 2 nkv) hd = ${Q}] f32 (after LoRA and RoPE)`, f32([R, Q]));
  add('activations', 'layer: attention probabilities', `[nh ${nh}, R, K ${K}] f32`, f32([nh, R, K]));
  add('activations', 'layer: attention output', `[R, nh hd = ${A}] f32`, f32([R, A]));
  add('activations', 'layer: proj (o_proj / down_proj output)', `[R, D] f32`, f32([R, D]));
  add('activations', 'layer: residual after attention', `[R, D] f32`, f32([R, D]));
  add('activations', 'layer: post-attention norm output, rstd', `[R, D] + [R] f32`, f32([R, D]) + f32([R]));
  add('activations', 'layer: gate_up', `[R, 2I = ${2 * I}] f32`, f32([R, 2 * I]));
  add('activations', 'layer: h = silu(gate) * up', `[R, I = ${I}] f32`, f32([R, I]));
  add('activations', 'layer: LoRA intermediates u = x A^T', `${nt} x [R, r ${r}] f32`, nt * f32([R, r]));

  // --- one layer's gradients (workspace)
  add('activations', 'grad: residual (ping-pong)', `2 x [R, D] f32`, 2 * f32([R, D]));
  add('activations', 'grad: norm outputs (dmn, then dxn)', `[R, D] f32`, f32([R, D]));
  add('activations', 'grad: h', `[R, I] f32`, f32([R, I]));
  add('activations', 'grad: gate_up', `[R, 2I] f32`, f32([R, 2 * I]));
  add('activations', 'grad: attention output', `[R, nh hd] f32`, f32([R, A]));
  add('activations', 'grad: qkv', `[R, ${Q}] f32`, f32([R, Q]));
  add('activations', 'grad: attention scores dS', `[nh, R, K] f32`, f32([nh, R, K]));
  add('activations', 'grad: LoRA intermediates du', `${nt} x [R, r] f32`, nt * f32([R, r]));

  // --- critic head on a value minibatch (features cached at rollout)
  const criticActs = criticSizes.reduce((sum, w, l) => sum + (l === 0 ? w : 2 * w), 0); // input, then z and relu(z) per layer
  add('activations', 'critic activations and gradients', `B_v ${Bv} rows: input [B_v, D], pre/post activations (${criticSizes.slice(1).join(', ')}), and as many gradients`, 2 * Bv * criticActs * F32);

  const sum = (c: MemoryCategory) => terms.filter((t) => t.category === c).reduce((s, t) => s + t.bytes, 0);
  const weightsBytes = sum('weights');
  const activationBytes = sum('activations');
  const optimizerBytes = sum('optimizer');

  const weight = largestWeightBuffer(config, options.maxBindingBytes ?? WEBGPU_DEFAULT_BINDING_BYTES);
  const buffers: [string, number][] = [
    [weight.name, weight.bytes],
    ['gate_up [R, 2I]', f32([R, 2 * I])],
    ['attention probabilities [nh, R, K]', f32([nh, R, K])],
    ['logits [J, V]', f32([J, V])],
    ['qkv [R, Q]', f32([R, Q])],
  ];
  const [largestName, largestBytes] = buffers.reduce((a, b) => (b[1] > a[1] ? b : a));

  return {
    peakBytes: weightsBytes + activationBytes + optimizerBytes,
    weightsBytes,
    activationBytes,
    optimizerBytes,
    rows: R,
    logitRows: J,
    loraParams,
    criticParams,
    largestBuffer: { name: largestName, bytes: largestBytes },
    breakdown: terms,
  };
}

/** WebGPU's default maxStorageBufferBindingSize: what a device gives when asked for nothing more. */
export const WEBGPU_DEFAULT_BINDING_BYTES = 128 * 2 ** 20;

/**
 * The largest GPU buffer of any weight: planWeightChunks splits the tensors as the upload does, and a chunked
 * tensor's first chunk is its largest (all chunks but the last are full).
 */
export function largestWeightBuffer(config: LlamaConfig, maxBindingBytes: number): { name: string; bytes: number } {
  const tensors = expectedLlamaTensors(config).map((t) => {
    const rows = t.shape.length >= 2 ? t.shape[0] : 1;
    return { name: t.name, rows, rowBytes: (elementCount(t.shape) * gpuBytes(t.dtype, t.shape)) / rows };
  });
  const plan = planWeightChunks(tensors, Math.floor(maxBindingBytes / 4) * 4);
  let largest = { name: '', bytes: 0 };
  for (const t of tensors) {
    const chunks = plan.get(t.name)!;
    const bytes = chunkBufferBytes(chunks[0].rows, t.rowBytes);
    if (bytes > largest.bytes) {
      const part = chunks.length > 1 ? ` rows 0..${chunks[0].rows} (1 of ${chunks.length} chunks)` : '';
      largest = { name: `weight ${t.name}${part}`, bytes };
    }
  }
  return largest;
}

/** "4.69 GiB" style. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}
