/**
 * GPU memory of one TWOSOME training step (actor forward + backward with LoRA, critic head, optimizers),
 * computed from the architecture and the micro-batch alone: nothing is allocated. Platform-neutral.
 *
 * Every term is one GPU storage buffer, or a group of them, that the engine allocates, with the engine's shape
 * and label; memory-plan.gpu.test.ts records every buffer of a real training step on the micro model and checks
 * the sums and the largest buffer against this plan, byte for byte.
 *
 * Conventions:
 *   - Rows: a micro-batch of P prompts of T tokens (BOS included), each with N actions of n tokens, in the
 *     SHARED layout (scoring-layout.ts): R = P (T + N n) rows, J = P N n logit rows. Prompt row i attends to
 *     i + 1 keys and action token j to T + j + 1; the attention backward's reader lists are those
 *     kernels/attention.ts builds for that layout (attentionReaders). For a real batch, with T and n its longest
 *     prompt and action and N its most actions, every term is an upper bound of that batch's buffer.
 *   - Activations and gradients are f32, indices u32: every buffer is a whole number of 4-byte words, which is
 *     what createStorageBuffer allocates (it rounds up to 4 bytes, never more), so the sums are exact.
 *   - Buffers are sized for the engine's bucketed pass shape (activations.ts passBucket): R, J, P, the positions
 *     T + n and the key readers rounded up to their buckets (R and J capped at what the binding limit allows),
 *     as the engine allocates them so that a run's batches share a few shapes; `rows` and `logitRows` report
 *     the exact R and J, `paddedRows` and `paddedLogitRows` the allocated ones.
 *   - The terms come from the engine's own activation tables (activations.ts: workspaceActivations,
 *     forwardPlanActivations, backwardPlanActivations), so plan and engine cannot disagree on a buffer. The
 *     plans' small buffers (layouts, results, the backward's CSR lists) are counted for every plan the engine
 *     builds on the workspace: one per rung of its ladder (activations.ts planLadder), for the adapter and for
 *     the frozen model (the critic's features), and the adapter's backward plans.
 *   - The peak is the actor's backward (LoraTrainer.accumulate), where all of this is live at once:
 *       weights    the frozen model as gpu-weights.ts holds it (q4 words, scales as stored, norms f32);
 *       forward    the workspace (workspace.ts) of a training pass: every layer's input x_0..x_L (activation
 *                  checkpointing), ONE layer's activation scratch (the backward recomputes each layer into the
 *                  same buffers), the final norm, the gathered rows and logits [J, V], the RoPE table; and the
 *                  forward plans' layouts and results. Attention is flash-style: it keeps each row's
 *                  log-sum-exp [R, H], never probabilities [H, R, K];
 *       backward   the workspace's gradients: dlogits [J, V], one layer's gradients (reused by every layer),
 *                  delta [R, H], the lm_head input gradient's partial sums (at most the size of dlogits; none
 *                  for small models); and the backward plans' dL/dlogprob and the CSR transposes of the
 *                  logit-row gather and of the attention's keys (u32);
 *       LoRA       A, B, dA, dB and AdamW's m, v, norm partials and info (LoraTrainer);
 *       critic     W, dW and Adam's state (GpuTwosomeCritic), and its pass over a value minibatch of B_v rows
 *                  (features [B_v, D], activations, gradients), which it keeps once planned.
 *     peak = weights + activations + optimizer.
 *   - Not counted: the kernel calls' uniform parameter buffers (16-64 bytes, one per call of each kept plan:
 *     ~5 KiB for the micro model's 2 layers with q, v LoRA, ~100 KiB a plan for a 32-layer model), the device's
 *     pooled readback staging buffers (a few, of a few KiB: gpu/readback.ts), the plans of other shapes the
 *     engine keeps (their layouts: a few words a row; their activations are the one workspace's), the critic's
 *     pass for the rollout's batch size (numEnvs rows; kept like the minibatch one, but the plan does not know
 *     numEnvs), and anything on the CPU.
 *   - A micro-batch over the GPU's limits runs as several passes (batch-plan.ts) that keep every pass's forward
 *     and one pass's backward at once: about this plan's figure (less backward, plus the prompt rows a split
 *     prompt repeats), which the plan does not model.
 *   - The critic's input features (final-norm hidden state of the last prompt token, LoRA off) are computed
 *     with the engine's scoring pass at rollout (on the same workspace) and memoized on the CPU.
 */
import { estimateSizes, gpuBytes } from '../model/catalog';
import type { LlamaConfig } from '../model/config';
import { chunkBufferBytes, gpuRowsOf, planWeightChunks, wholeWords } from './gpu-weights';
import { attentionReaderCapacity } from './kernels/attention';
import { DEFAULT_LORA_CONFIG, loraSlice, type LoraTarget } from '../train/lora';
import { ADAM_INFO_WORDS, ADAM_STEP_ARGS_WORDS, normPartialSlots } from '../train/optimizer';
import {
  backwardPlanActivations,
  forwardPlanActivations,
  maxKeys,
  passBucket,
  planLadder,
  workspaceActivations,
  type ActivationSpec,
  type Dims,
} from './activations';
import { passLimits } from './batch-plan';
import { expectedLlamaTensors } from '../model/tensor-cache';

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
  /** Shapes and dtype of its buffers ("2 x [R 50, D 64] f32"), or how the bytes are made up. */
  detail: string;
  bytes: number;
}

export interface MemoryPlan {
  /** weightsBytes + activationBytes + optimizerBytes. */
  peakBytes: number;
  /** The frozen model on the GPU: q4 words + scales as stored (f16 for q4f16_1, f32 for q4f32_1), norms f32. */
  weightsBytes: number;
  /** The training forward (checkpoints, one layer's scratch, logits), the LoRA backward, the critic's minibatch pass. */
  activationBytes: number;
  /** Trainable parameters, gradients and optimizer state: LoRA (AdamW) and critic (Adam). */
  optimizerBytes: number;
  /** R and J of the shared layout. */
  rows: number;
  logitRows: number;
  /** R and J as allocated: rounded up to their buckets (activations.ts passBucket). */
  paddedRows: number;
  paddedLogitRows: number;
  /** Trainable parameter counts. */
  loraParams: number;
  criticParams: number;
  /**
   * The largest single buffer: a weight's largest row chunk as gpu-weights.ts uploads it under
   * `maxBindingBytes` (the whole tensor when it fits one buffer), an activation of this micro-batch (an
   * activation over the limit makes the engine run the micro-batch as several passes: batch-plan.ts), or a
   * LoRA or critic buffer.
   */
  largestBuffer: { name: string; bytes: number };
  /** The largest activation buffer ("term shape", e.g. "forward: gate_up [R, 2I]"). */
  largestActivation: { name: string; bytes: number };
  breakdown: MemoryTerm[];
}

/** Bytes of one f32 or u32 element: every buffer the plan counts is made of them. */
const WORD = 4;

/** "[R, 2I]" */
const symbolic = (dims: Dims) => `[${dims.map(([s]) => s).join(', ')}]`;
/** "[R 50, 2I 256]" (a literal dimension, e.g. 4, once) */
const numeric = (dims: Dims) => `[${dims.map(([s, v]) => (s === String(v) ? s : `${s} ${v}`)).join(', ')}]`;
const words = (dims: Dims) => dims.reduce((a, [, v]) => a * v, 1);

/** "2 x [R 50, D 64] + [J 24] f32": equal shapes counted, in first-seen order. */
function describe(buffers: Dims[], dtype: string): string {
  const counts = new Map<string, number>();
  for (const b of buffers) counts.set(numeric(b), (counts.get(numeric(b)) ?? 0) + 1);
  return `${[...counts].map(([shape, k]) => (k > 1 ? `${k} x ${shape}` : shape)).join(' + ')} ${dtype}`;
}

/** The terms of a plan, and its largest buffer per category. */
class Terms {
  readonly list: MemoryTerm[] = [];
  readonly largest = new Map<MemoryCategory, { name: string; bytes: number }>();

  /** Buffers of 4-byte words; `note` explains what the shapes alone do not. */
  add(category: MemoryCategory, name: string, buffers: Dims[], dtype = 'f32', note = ''): void {
    let bytes = 0;
    for (const dims of buffers) {
      const b = words(dims) * WORD;
      bytes += b;
      // First seen wins a tie: the forward's buffer is named, not its gradient of the same shape.
      if (b > (this.largest.get(category)?.bytes ?? 0))
        this.largest.set(category, { name: `${name} ${symbolic(dims)}`, bytes: b });
    }
    this.list.push({ category, name, detail: describe(buffers, dtype) + (note ? ` (${note})` : ''), bytes });
  }

  sum(category: MemoryCategory): number {
    return this.list.filter((t) => t.category === category).reduce((s, t) => s + t.bytes, 0);
  }
}

/** The plan's sizes, named as in the engine's comments. */
interface Sizes {
  P: number;
  T: number;
  N: number;
  n: number;
  R: number;
  J: number;
  L: number;
  r: number;
  /** Set by passTerms: R and J as allocated. */
  paddedRows: number;
  paddedLogitRows: number;
}

function checkPositive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`memory plan: ${name} must be a positive integer (got ${v})`);
}

/** The buffers of `specs` as terms, in table order (buffers of one term together). */
function tableTerms(t: Terms, specs: readonly ActivationSpec[]): void {
  const terms = new Map<string, ActivationSpec[]>();
  for (const spec of specs) terms.set(spec.term, [...(terms.get(spec.term) ?? []), spec]);
  for (const [term, list] of terms)
    t.add(
      'activations',
      term,
      list.map((x) => x.dims),
      list[0].dtype,
      list.find((x) => x.note)?.note ?? '',
    );
}

/**
 * A training pass on the engine (LlamaEngine.forwardFor with training, backwardFor): its workspace, at the
 * bucketed sizes the engine allocates, and the plans the engine builds on it: a ladder of forward plans (one
 * per rung of planLadder) for the adapter and for the frozen model (the critic's features), and the adapter's
 * backward plans, each with room for the key readers of any layout of its rows.
 */
function passTerms(
  t: Terms,
  config: LlamaConfig,
  s: Sizes,
  targets: readonly LoraTarget[],
  maxBindingBytes: number,
): void {
  const { P, T, n, R, J } = s;
  const cap = passLimits(config, { bindingBytes: maxBindingBytes, workgroupsPerDimension: WEBGPU_DEFAULT_WORKGROUPS });
  const rows = Math.max(R, Math.min(passBucket(R), cap.rows));
  const logitRows = Math.max(J, Math.min(passBucket(J), cap.logitRows));
  const prompts = passBucket(P);
  const workspace = workspaceActivations(config, {
    rows,
    logitRows,
    prompts,
    positions: passBucket(T + n),
    training: true,
    lora: { r: s.r, targets },
  });
  const plans: ActivationSpec[] = [];
  for (const rung of planLadder(rows)) {
    const forward = forwardPlanActivations(config, rung, logitRows, prompts);
    const attention = { rows: rung, heads: config.heads, kvHeads: config.kvHeads, headDim: config.headDim };
    const readers = attentionReaderCapacity(attention, maxKeys(rung));
    plans.push(...forward, ...forward, ...backwardPlanActivations(rung, logitRows, readers));
  }
  tableTerms(t, [...workspace, ...plans]);
  s.paddedRows = rows;
  s.paddedLogitRows = logitRows;
}

/** GpuAdam.create over tensors of these element counts: m and v of each, norm partials, info. */
function adamTerms(t: Terms, name: string, tensors: { dims: Dims }[]): void {
  t.add(
    'optimizer',
    `${name} m, v`,
    tensors.flatMap(({ dims }) => [dims, dims]),
  );
  const slots = tensors.reduce((sum, { dims }) => sum + normPartialSlots(words(dims)), 0);
  t.add(
    'optimizer',
    `${name} norm partials, info`,
    [[['partials', slots]], [['info', ADAM_INFO_WORDS]], [['step args', ADAM_STEP_ARGS_WORDS]]],
    'f32',
    'one partial per 256 elements of each tensor; lr and gradient scale',
  );
}

/** The adapter on the GPU (uploadLora) and its AdamW (LoraTrainer); returns the parameter count. */
function loraTerms(t: Terms, config: LlamaConfig, s: Sizes, targets: readonly LoraTarget[]): number {
  const { r, L } = s;
  const tensors: { dims: Dims }[] = [];
  for (let layer = 0; layer < L; layer++) {
    for (const target of targets) {
      const { inDim, outDim } = loraSlice(config, target);
      tensors.push(
        {
          dims: [
            ['r', r],
            ['in', inDim],
          ],
        },
        {
          dims: [
            ['out', outDim],
            ['r', r],
          ],
        },
      );
    }
  }
  const all = tensors.map((x) => x.dims);
  t.add('optimizer', 'LoRA A, B', all, 'f32', `${targets.length} targets x ${L} layers`);
  t.add('optimizer', 'LoRA dA, dB', all, 'f32', 'accumulated over the gradient-accumulation window');
  adamTerms(t, 'LoRA AdamW', tensors);
  return all.reduce((sum, d) => sum + words(d), 0);
}

/**
 * GpuCritic (W, dW), its Adam (GpuTwosomeCritic), and its pass over a value minibatch of B_v rows (CriticPass,
 * with GpuTwosomeCritic's features buffer); returns the parameter count. sizes = [D, h1, ..., 1].
 */
function criticTerms(t: Terms, sizes: readonly number[], Bv: number): number {
  const layers = sizes.length - 1;
  const width = (l: number): [string, number] =>
    l === 0 ? ['D', sizes[0]] : l === layers ? ['1', 1] : [`h${l}`, sizes[l]];
  const tensors = Array.from({ length: layers }, (_, l) => ({ dims: [width(l + 1), width(l)] as Dims })); // W_{l+1} [out, in]
  const all = tensors.map((x) => x.dims);
  t.add('optimizer', 'critic W', all, 'f32', `${sizes.join(' -> ')}, no bias`);
  t.add('optimizer', 'critic dW', all);
  adamTerms(t, 'critic Adam', tensors);
  // Named as train/gpu-critic.ts labels them: a_l is layer l's output (relu'd when hidden), da_l its gradient for
  // the hidden layers, walked down from L-1 to 1 (dv is the last layer's).
  const rows = (l: number): Dims => [['B_v', Bv], width(l)];
  const outputs = Array.from({ length: layers }, (_, l) => l + 1);
  const hidden = outputs.slice(0, -1).reverse();
  t.add('activations', 'critic features', [rows(0)], 'f32', 'the final-norm hidden states of a value minibatch');
  t.add(
    'activations',
    `critic ${outputs.map((l) => `a${l}`).join(', ')}`,
    outputs.map(rows),
    'f32',
    'relu(z) of each hidden layer, then the values',
  );
  t.add(
    'activations',
    ['critic dv', ...hidden.map((l) => `da${l}`)].join(', '),
    [[['B_v', Bv]], ...hidden.map(rows)],
    'f32',
    "dL/dv, then each hidden layer's gradient",
  );
  t.add(
    'activations',
    'critic value-loss targets, loss',
    [
      [
        ['B_v', Bv],
        ['2', 2],
      ],
      [['1', 1]],
    ],
    'f32',
    'old values and returns; the logged loss (rl/value-loss-gpu.ts)',
  );
  return all.reduce((sum, d) => sum + words(d), 0);
}

/**
 * PPO's policy loss on the GPU (rl/policy-loss-gpu.ts, kept by the GPU actor between passes): its tables, the
 * pass's token log-probs and their gradients, and the minibatches' figures, made for a pass of P samples on P
 * requests of N actions of n tokens (policyLossRoom), each count rounded up to a power of two.
 */
function policyLossTerms(t: Terms, s: Sizes): void {
  const pow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
  const P: [string, number] = ['pow2(P)', pow2(s.P)];
  const A: [string, number] = ['pow2(P N)', pow2(s.P * s.N)];
  const J: [string, number] = ['pow2(J)', pow2(s.J)];
  t.add(
    'activations',
    'policy loss sizes, requests, actions, samples, minibatches, stats',
    [[['2', 2]], [P, ['2', 2]], [A, ['3', 3]], [P, ['4', 4]], [P, ['2', 2]], [P, ['6', 6]]],
    'u32/f32',
    'the pass layout the loss reads, and per minibatch its logged figures',
  );
  t.add('activations', 'policy loss token log-probs, dL/dlogprob', [[J], [J]], 'f32', 'copied from and to the passes');
}

export function planTrainingMemory(config: LlamaConfig, options: MemoryPlanOptions): MemoryPlan {
  const { prompts: P, promptTokens: T, actions: N, actionTokens: n } = options.batch;
  checkPositive('prompts', P);
  checkPositive('prompt tokens', T);
  checkPositive('actions', N);
  checkPositive('action tokens', n);
  if (T + n > config.contextWindow)
    throw new RangeError(
      `memory plan: a prompt of ${T} tokens plus an action of ${n} exceeds the context window of ${config.contextWindow}`,
    );
  const lora = options.lora ?? DEFAULT_LORA_CONFIG;
  checkPositive('LoRA r', lora.r);
  if (lora.targets.length === 0) throw new RangeError('memory plan: LoRA needs at least one target');
  const criticHidden = options.criticHidden ?? [1024, 512];
  criticHidden.forEach((h) => checkPositive('critic width', h));
  const Bv = options.criticBatch ?? 32;
  checkPositive('critic batch', Bv);

  const R = P * (T + N * n);
  const J = P * N * n;
  const s: Sizes = { P, T, N, n, R, J, L: config.layers, r: lora.r, paddedRows: R, paddedLogitRows: J };

  const t = new Terms();
  // The engine's own rule (gpu-weights.ts; catalog.estimateSizes).
  t.list.push({
    category: 'weights',
    name: 'model weights',
    detail: `${config.quantization}: q4 words + scales as stored (f16 scales stay f16, f32 ones f32), norms widened to f32`,
    bytes: estimateSizes(config).gpuWeightBytes,
  });
  passTerms(t, config, s, lora.targets, options.maxBindingBytes ?? WEBGPU_DEFAULT_BINDING_BYTES);
  const loraParams = loraTerms(t, config, s, lora.targets);
  const criticParams = criticTerms(t, [config.hidden, ...criticHidden, 1], Bv);
  policyLossTerms(t, s);

  const weightsBytes = t.sum('weights');
  const activationBytes = t.sum('activations');
  const optimizerBytes = t.sum('optimizer');
  const largestActivation = t.largest.get('activations')!;
  const candidates = [
    largestWeightBuffer(config, options.maxBindingBytes ?? WEBGPU_DEFAULT_BINDING_BYTES),
    largestActivation,
    t.largest.get('optimizer')!,
  ];
  return {
    peakBytes: weightsBytes + activationBytes + optimizerBytes,
    weightsBytes,
    activationBytes,
    optimizerBytes,
    rows: s.R,
    logitRows: s.J,
    paddedRows: s.paddedRows,
    paddedLogitRows: s.paddedLogitRows,
    loraParams,
    criticParams,
    largestBuffer: candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a)),
    largestActivation,
    breakdown: t.list,
  };
}

/** WebGPU's default maxStorageBufferBindingSize: what a device gives when asked for nothing more. */
export const WEBGPU_DEFAULT_BINDING_BYTES = 128 * 2 ** 20;
/** WebGPU's default (and usual) maxComputeWorkgroupsPerDimension. */
const WEBGPU_DEFAULT_WORKGROUPS = 65535;

/**
 * The largest GPU buffer of any weight: planWeightChunks splits the tensors as the upload does, and a chunked
 * tensor's first chunk is its largest (all chunks but the last are full).
 */
export function largestWeightBuffer(config: LlamaConfig, maxBindingBytes: number): { name: string; bytes: number } {
  const tensors = expectedLlamaTensors(config).map((t) => ({
    name: t.name,
    ...gpuRowsOf(t.shape, gpuBytes(t.dtype, t.shape)),
  }));
  const plan = planWeightChunks(tensors, wholeWords(maxBindingBytes));
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
