/**
 * The engine's activation tables (llm.c's act_sizes + malloc_and_point_activations): every GPU buffer of a
 * scoring or training pass, listed once with its shape, from which the engine allocates (workspace.ts,
 * forward.ts, backward.ts) and the memory planner sums (memory-plan.ts), so the two cannot disagree.
 *
 * Buffers are sized for a pass's capacity, not for one batch: rows, logit rows, prompts and positions are
 * rounded up to a bucket (passBucket), so that the batches of an RL run, whose prompts and actions vary in
 * length, fall into a few shapes whose buffers, bind groups and uniforms are built once and replayed. A batch
 * smaller than the capacity is padded (forward.ts: padded rows attend only to themselves, padded logit rows
 * are never read back and get zero gradients), which changes no real row's value.
 *
 * Three tables:
 *   workspace   the big activations one pass at a time needs (workspace.ts, shared by every pass of an engine):
 *               residual stream (every layer's input when training: activation checkpoints), one layer's
 *               scratch, logits, the backward's gradients; the RoPE table for the capacity's positions;
 *   forward     one call plan's layout (token ids, positions, segments, logit rows, targets, prompt rows) and
 *               its results (forward.ts);
 *   backward    one backward plan's inputs: dL/dlogprob and the CSR transposes of the gathers (backward.ts).
 */
import type { ModelShape } from './forward';
import { inputGradPartialWords } from './kernels/linear';

/** The workspace buffer of the lm_head input gradient's partial sums (when its shape splits the sum). */
export const LM_HEAD_PARTIALS = 'lm_head partials';

/** A buffer's dimensions as [symbol, size] pairs, e.g. [['R', 50], ['2I', 256]] (memory-plan.ts prints both). */
export type Dims = [string, number][];

export interface ActivationSpec {
  /** The buffer's label, and its key in an allocation. */
  name: string;
  /** The memory plan's term it is summed into (several buffers may share one). */
  term: string;
  dims: Dims;
  dtype: 'f32' | 'u32';
  /** What the shapes do not say (the memory plan's note for the term; the first buffer of a term carries it). */
  note?: string;
}

/**
 * Bucketed sizes: the smallest c * 2^k >= n with c in {4, 5, 6, 7} (4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ...): at
 * most 25% more than asked, and few distinct values over a run.
 */
export function passBucket(n: number): number {
  if (n <= 4) return 4;
  const k = Math.floor(Math.log2(n)) - 2;
  const step = 2 ** k;
  return Math.ceil(n / step) * step;
}

/** The fewest rows the smallest plan of a ladder has (smaller passes are padded to it). */
const LADDER_FLOOR = 16;

/**
 * The rows of an engine's plans on a workspace of `capacity` rows: every bucket from 16 up, and the capacity
 * (engine.ts builds a plan per rung when an adapter is first used on the workspace, and runs a pass on the
 * smallest rung that holds it): a pass pads at most one bucket's worth of rows, and no later pass builds a plan.
 */
export function planLadder(capacity: number): number[] {
  const rungs: number[] = [];
  for (let rows = Math.min(LADDER_FLOOR, capacity); rows < capacity; rows = passBucket(rows + 1)) rungs.push(rows);
  rungs.push(capacity);
  return rungs;
}

/** The most key readers a layout of `rows` rows can have: row r attends to at most r + 1 rows (itself and earlier). */
export function maxKeys(rows: number): number {
  return (rows * (rows + 1)) / 2;
}

/** What a workspace holds room for: capacities, and which parts exist. */
export interface WorkspaceCapacity {
  /** R: rows of a pass (prompts and actions). */
  rows: number;
  /** J: scored tokens (logit rows). */
  logitRows: number;
  /** P: prompts (their last rows' hidden states). */
  prompts: number;
  /** RoPE positions 0 .. positions - 1. */
  positions: number;
  /** Every layer's input kept (activation checkpoints), attention's log-sum-exp and the backward's gradients. */
  training: boolean;
  /** LoRA rank and targets whose u = x A^T the forward keeps (null: no adapter). */
  lora: { r: number; targets: readonly string[] } | null;
}

/** Every `name` in `specs`, allocated: the workspace's or a plan's buffers by name. */
export type Allocation = Map<string, GPUBuffer>;

const words = (dims: Dims) => dims.reduce((a, [, v]) => a * v, 1);

/** Bytes of one spec's buffer (whole 4-byte words: what createStorageBuffer allocates). */
export function specBytes(spec: ActivationSpec): number {
  return Math.max(4, 4 * words(spec.dims));
}

/** malloc_and_point_activations: one storage buffer per spec, by name. */
export function allocateActivations(device: GPUDevice, specs: readonly ActivationSpec[]): Allocation {
  const out: Allocation = new Map();
  for (const spec of specs) {
    if (out.has(spec.name)) throw new Error(`activation table: "${spec.name}" is listed twice`);
    out.set(
      spec.name,
      device.createBuffer({
        label: spec.name,
        size: specBytes(spec),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      }),
    );
  }
  return out;
}

/** The buffer `name` of an allocation (a typo in a name is a bug, so it throws). */
export function bufferOf(allocation: Allocation, name: string): GPUBuffer {
  const b = allocation.get(name);
  if (!b) throw new Error(`activation "${name}" is not in this allocation (has ${[...allocation.keys()].join(', ')})`);
  return b;
}

/** Names of the per-layer residual buffers: x_0 .. x_L when training (checkpoints), else two ping-pong ones. */
export function residualName(layer: number, training: boolean): string {
  return `x_${training ? layer : layer % 2}`;
}

/** The label of LoRA's u = x A^T for one target. */
export const loraUName = (target: string) => `lora u ${target}`;

/** The workspace's buffers for `c` (ScoringForward's activations; LoraBackward's gradients when training). */
export function workspaceActivations(shape: ModelShape, c: WorkspaceCapacity): ActivationSpec[] {
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, vocabSize: V, layers: L } = shape;
  const { rows: R, logitRows: J, training } = c;
  const Q = (H + 2 * KVH) * hd;
  const RD: Dims = [
    ['R', R],
    ['D', D],
  ];
  const specs: ActivationSpec[] = [];
  const add = (term: string, name: string, dims: Dims, note?: string) =>
    specs.push({ name, term, dims, dtype: 'f32', note });

  add(
    'forward: rope cos/sin',
    'rope cos/sin',
    [
      ['positions', c.positions],
      ['hd/2', hd / 2],
      ['2', 2],
    ],
    "cos and sin of every position of the capacity's",
  );
  const residuals = training ? L + 1 : 2;
  for (let l = 0; l < residuals; l++) {
    add(
      training ? 'forward: layer-input checkpoints' : 'forward: residual stream',
      `x_${l}`,
      RD,
      training ? 'x_0 .. x_L' : 'two buffers, each layer reads one and writes the other',
    );
  }
  const scratch = "one layer's scratch, reused by every layer and the backward's recomputation";
  for (const name of ['xn1', 'proj', 'x_mid', 'xn2']) add('forward: xn1, proj, x_mid, xn2', name, RD, scratch);
  add('forward: rstd1, rstd2', 'rstd1', [['R', R]]);
  add('forward: rstd1, rstd2', 'rstd2', [['R', R]]);
  add('forward: qkv', 'qkv', [
    ['R', R],
    ['(H + 2 KVH) hd', Q],
  ]);
  add('forward: attn', 'attn', [
    ['R', R],
    ['H hd', H * hd],
  ]);
  if (training)
    add(
      'forward: lse',
      'lse',
      [
        ['R', R],
        ['H', H],
      ],
      "attention's row log-sum-exp, kept for the backward",
    );
  add('forward: gate_up', 'gate_up', [
    ['R', R],
    ['2I', 2 * I],
  ]);
  add('forward: h', 'h', [
    ['R', R],
    ['I', I],
  ]);
  for (const target of c.lora?.targets ?? [])
    add(
      'forward: LoRA u',
      loraUName(target),
      [
        ['R', R],
        ['r', c.lora!.r],
      ],
      'one per target',
    );
  add('forward: xn final, rstd final', 'xn final', RD);
  add('forward: xn final, rstd final', 'rstd final', [['R', R]]);
  add('forward: gathered', 'gathered', [
    ['J', J],
    ['D', D],
  ]);
  add('forward: logits', 'logits', [
    ['J', J],
    ['V', V],
  ]);
  if (!training) return specs;

  add('backward: dlogits', 'dlogits', [
    ['J', J],
    ['V', V],
  ]);
  add('backward: dgathered', 'dgathered', [
    ['J', J],
    ['D', D],
  ]);
  // The lm_head's input gradient splits its sum over the vocabulary into S partial sums [S, J, D] where its
  // output tiles alone would leave a large GPU idle (kernels/linear.ts inputGradSplits); none for small models.
  const partials = inputGradPartialWords(J, V, D);
  if (partials > 0)
    add(
      'backward: lm_head input-gradient partials',
      LM_HEAD_PARTIALS,
      [
        ['S', partials / (J * D)],
        ['J', J],
        ['D', D],
      ],
      'summed into dgathered',
    );
  for (const name of ['dxn', 'dx a', 'dx b', 'dx_mid'])
    add('backward: dxn, dx a, dx b, dx_mid', name, RD, "one layer's gradients, reused by every layer");
  add('backward: dh', 'dh', [
    ['R', R],
    ['I', I],
  ]);
  add('backward: dgate_up', 'dgate_up', [
    ['R', R],
    ['2I', 2 * I],
  ]);
  add('backward: dattn', 'dattn', [
    ['R', R],
    ['H hd', H * hd],
  ]);
  add('backward: dqkv', 'dqkv', [
    ['R', R],
    ['(H + 2 KVH) hd', Q],
  ]);
  add('backward: delta', 'delta', [
    ['R', R],
    ['H', H],
  ]);
  if (c.lora)
    add(
      'backward: du',
      'du',
      [
        ['R', R],
        ['r', c.lora.r],
      ],
      'shared by every target',
    );
  return specs;
}

/** One forward plan's layout and results for `rows` x `logitRows` x `prompts` (forward.ts). */
export function forwardPlanActivations(
  shape: ModelShape,
  rows: number,
  logitRows: number,
  prompts: number,
): ActivationSpec[] {
  const R: [string, number] = ['R', rows];
  const J: [string, number] = ['J', logitRows];
  const layout = 'forward: layout';
  const note = 'tokens, positions, segments, logit rows, targets, last prompt rows';
  return [
    { name: 'tokens', term: layout, dims: [R], dtype: 'u32', note },
    { name: 'positions', term: layout, dims: [R], dtype: 'u32' },
    { name: 'segments', term: layout, dims: [R, ['4', 4]], dtype: 'u32' },
    { name: 'logit rows', term: layout, dims: [J], dtype: 'u32' },
    { name: 'targets', term: layout, dims: [J], dtype: 'u32' },
    { name: 'last prompt rows', term: layout, dims: [['P', prompts]], dtype: 'u32' },
    { name: 'token logprobs', term: 'forward: token logprobs', dims: [J], dtype: 'f32' },
    {
      name: 'last prompt hidden',
      term: 'forward: last prompt hidden',
      dims: [
        ['P', prompts],
        ['D', shape.hidden],
      ],
      dtype: 'f32',
    },
  ];
}

/**
 * One backward plan's inputs for `rows` x `logitRows`, with room for `readers` words of attention's dK/dV
 * reader list (backward.ts; kernels/attention.ts attentionReaderCapacity).
 */
export function backwardPlanActivations(rows: number, logitRows: number, readers: number): ActivationSpec[] {
  const offsets: Dims = [['R + 1', rows + 1]];
  return [
    { name: 'dL/dlogprob', term: 'backward: dL/dlogprob', dims: [['J', logitRows]], dtype: 'f32' },
    {
      name: 'gather offsets',
      term: 'backward: gather offsets, sources',
      dims: offsets,
      dtype: 'u32',
      note: "the logit-row gather's transpose",
    },
    { name: 'gather sources', term: 'backward: gather offsets, sources', dims: [['J', logitRows]], dtype: 'u32' },
    {
      name: 'reader offsets',
      term: 'backward: reader offsets, readers',
      dims: offsets,
      dtype: 'u32',
      note: "the readers of each key row or key block (attention's dK/dV)",
    },
    { name: 'readers', term: 'backward: reader offsets, readers', dims: [['readers', readers]], dtype: 'u32' },
  ];
}
