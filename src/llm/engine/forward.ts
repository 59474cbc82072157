/**
 * The scoring forward pass on the GPU: one compute pass runs every row of a ScoringLayout (all prompts and all
 * their actions) through the model and ends with the log-prob of each scored token and the final-norm hidden
 * state of each prompt's last token.
 *
 * Per layer (LLaMA, pre-norm), rows R, hidden D, heads H, kv heads KVH, head dim hd, intermediate I,
 * optional LoRA on any projection (train/gpu-lora.ts); xn1 = rmsnorm(x_l, input_layernorm) comes in from the
 * call before:
 *   qkv    = xn1 · W_qkv^T (+ LoRA q/k/v)               [R, (H + 2 KVH) hd]
 *   qkv    = rope(qkv, positions)                        Q and K heads
 *   attn   = attention(qkv, segments)                    [R, H hd]
 *   proj   = attn · W_o^T (+ LoRA o)                     [R, D]
 *   x_mid  = x_l + proj;  xn2 = rmsnorm(x_mid, post_attention_layernorm)      one call (rstd2 [R])
 *   gateUp = xn2 · W_gate_up^T (+ LoRA gate/up)          [R, 2I]
 *   h      = silu(gate) * up                             [R, I]
 *   proj   = h · W_down^T (+ LoRA down)
 *   x_l+1  = x_mid + proj;  xn1 = rmsnorm(x_l+1, the next layer's input_layernorm, or the final norm: xn)
 * after the embedding and the first layer's input norm; then logits only at the layout's logit rows (gather,
 * then · W_lm^T, [J, V]); logprob[j] = log_softmax(logits[j])[target j]. Each residual add runs inside the norm
 * after it (kernels/rmsnorm.ts addRmsnormForwardCall): no pass of its own over the residual stream.
 *
 * The calls are a static plan: built once for a shape (rows, logit rows, prompts) on a workspace's buffers
 * (workspace.ts) and replayed for every layout of that shape or smaller, which load() writes, padded: padded
 * rows attend only to themselves and padded logit rows are never read back, so no real row's value changes.
 * The engine keeps one plan per bucketed shape (engine.ts); ScoringForward.build makes a one-off plan with a
 * workspace of its own, for tests and benchmarks.
 *
 * For training, the workspace keeps every layer's input x_l (activation checkpointing: the backward recomputes
 * one layer at a time from it), the logits and attention's log-sum-exp; backward.ts builds on those buffers.
 */
import type { KernelContext } from '../../gpu/kernel';
import type { LlamaConfig } from '../model/config';
import { disposeCalls, encodeCalls, type KernelCall } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';
import { readbackPool } from '../../gpu/readback';
import {
  allocateActivations,
  bufferOf,
  forwardPlanActivations,
  passBucket,
  type Allocation,
  type WorkspaceCapacity,
} from './activations';
import { checkBatchFits, deviceBatchLimits, type BatchLimits } from './batch-plan';
import { loraForwardCalls, loraUCall, type GpuLora, type GpuLoraModule } from '../train/gpu-lora';
import { embeddingCall } from './kernels/embedding';
import { attentionForwardCall } from './kernels/attention';
import { gatherRowsCall } from './kernels/gather-rows';
import { linearCall, type GpuLinear } from './kernels/linear';
import { logSoftmaxGatherCall } from './kernels/logsoftmax-gather';
import { addRmsnormForwardCall, rmsnormForwardCall } from './kernels/rmsnorm';
import { ropeForwardCall } from './kernels/rope';
import { siluMulForwardCall } from './kernels/silu-mul';
import { causalSegments, type ScoringLayout } from './scoring-layout';
import { Workspace } from './workspace';

/** The model dimensions the forward needs: those fields of the parsed mlc-chat-config (model/config.ts). */
export type ModelShape = Pick<
  LlamaConfig,
  'hidden' | 'intermediate' | 'heads' | 'kvHeads' | 'headDim' | 'layers' | 'vocabSize' | 'rmsNormEps'
>;

export interface GpuLayerWeights {
  inputNorm: GPUBuffer; // [D] f32
  qkv: GpuLinear; // [(H + 2 KVH) hd, D]
  o: GpuLinear; // [D, H hd]
  postNorm: GPUBuffer; // [D] f32
  gateUp: GpuLinear; // [2I, D]
  down: GpuLinear; // [D, I]
}

export interface GpuModelWeights {
  shape: ModelShape;
  /** RoPE inverse frequencies [hd/2] (theta and Llama-3 scaling applied). */
  invFreq: Float32Array;
  embed: GpuLinear; // [V, D]
  layers: GpuLayerWeights[];
  finalNorm: GPUBuffer; // [D] f32
  /** lm_head, or the embedding itself when the embeddings are tied. */
  lmHead: GpuLinear;
}

export interface ForwardResult {
  /** log p(target_j | rows before) for every logit row j. */
  tokenLogprobs: Float32Array;
  /** [prompts, D]: final-norm hidden state of each prompt's last token (the critic's input). */
  lastPromptHidden: Float32Array;
}

/** One layer's activations (the forward's, or the backward's recomputation): the workspace's scratch. */
export interface LayerActivations {
  xn1: GPUBuffer;
  rstd1: GPUBuffer;
  qkv: GPUBuffer;
  attn: GPUBuffer;
  proj: GPUBuffer;
  xMid: GPUBuffer;
  xn2: GPUBuffer;
  rstd2: GPUBuffer;
  gateUp: GPUBuffer;
  h: GPUBuffer;
  /** LoRA's u = xn A^T [R, r] per target of the layer. */
  loraU: (target: string) => GPUBuffer;
  /** [R, H]: when present, attention also writes each row's log-sum-exp here (the backward's recomputation). */
  lse?: GPUBuffer;
}

/** The scratch of `ws` as one layer's activations. */
export function layerActivations(ws: Workspace): LayerActivations {
  return {
    xn1: ws.get('xn1'),
    rstd1: ws.get('rstd1'),
    qkv: ws.get('qkv'),
    attn: ws.get('attn'),
    proj: ws.get('proj'),
    xMid: ws.get('x_mid'),
    xn2: ws.get('xn2'),
    rstd2: ws.get('rstd2'),
    gateUp: ws.get('gate_up'),
    h: ws.get('h'),
    loraU: (target) => ws.loraU(target),
    lse: ws.capacity.training ? ws.get('lse') : undefined,
  };
}

/** Inputs shared by every layer of one layout. */
export interface LayoutBuffers {
  tokens: GPUBuffer;
  positions: GPUBuffer;
  segments: GPUBuffer;
  cosSin: GPUBuffer;
}

/** Which fused output a LoRA target adds into, and that output's row width. */
export function fusedWidth(shape: ModelShape, fused: 'qkv' | 'o' | 'gate_up' | 'down'): number {
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd } = shape;
  return fused === 'qkv' ? (H + 2 * KVH) * hd : fused === 'gate_up' ? 2 * I : D;
}

/** An adapter's modules of one layer. */
export type LayerLora = { r: number; scale: number; modules: GpuLoraModule[] } | null;

/** Where a layer's MLP ends: the residual add fused into the next norm, or (the backward's recomputation) at h. */
export type LayerEnd = { xOut: GPUBuffer; norm: { weight: GPUBuffer; y: GPUBuffer; rstd: GPUBuffer } } | 'recompute';

/**
 * The calls of one layer from xn1 = rmsnorm(x_in) (already in act.xn1) on: attention, its residual add fused
 * into the post-attention norm, the MLP and, unless recomputing, its residual add fused into the next norm.
 * The recomputation stops at h (and LoRA down's u): the backward needs nothing of the down projection's output.
 */
export async function layerForwardCalls(
  ctx: KernelContext,
  shape: ModelShape,
  layer: GpuLayerWeights,
  lora: LayerLora,
  act: LayerActivations,
  /** `attention`: calls that replace attention over the layout's segments (generate.ts: over a KV cache). */
  io: { xIn: GPUBuffer; end: LayerEnd; attention?: () => Promise<KernelCall[]> },
  layout: LayoutBuffers,
  R: number,
): Promise<KernelCall[]> {
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, rmsNormEps: eps } = shape;
  const calls: KernelCall[] = [];
  const modules = (fused: 'qkv' | 'o' | 'gate_up' | 'down') =>
    lora?.modules.filter((m) => m.slice.fused === fused) ?? [];
  const adapters = async (fused: 'qkv' | 'o' | 'gate_up' | 'down', xn: GPUBuffer, y: GPUBuffer) => {
    for (const m of modules(fused))
      calls.push(
        ...(await loraForwardCalls(
          ctx,
          m,
          lora!.r,
          lora!.scale,
          xn,
          act.loraU(m.slice.target),
          y,
          R,
          fusedWidth(shape, fused),
        )),
      );
  };
  calls.push(...(await linearCall(ctx, act.xn1, layer.qkv, act.qkv, R)));
  await adapters('qkv', act.xn1, act.qkv);
  calls.push(
    await ropeForwardCall(ctx, act.qkv, layout.positions, layout.cosSin, {
      rows: R,
      heads: H,
      kvHeads: KVH,
      headDim: hd,
    }),
  );
  // The plan serves every layout of its shape, so attention's cost is that of its most keys: one causal sequence.
  const attention = { qkv: act.qkv, segments: layout.segments, out: act.attn, lse: act.lse };
  const attentionShape = { rows: R, heads: H, kvHeads: KVH, headDim: hd };
  if (io.attention) calls.push(...(await io.attention()));
  else calls.push(await attentionForwardCall(ctx, attention, attentionShape, causalSegments(R)));
  calls.push(...(await linearCall(ctx, act.attn, layer.o, act.proj, R)));
  await adapters('o', act.attn, act.proj);
  calls.push(
    await addRmsnormForwardCall(
      ctx,
      { residual: io.xIn, branch: act.proj, sum: act.xMid, weight: layer.postNorm, y: act.xn2, rstd: act.rstd2 },
      R,
      D,
      eps,
    ),
  );
  calls.push(...(await linearCall(ctx, act.xn2, layer.gateUp, act.gateUp, R)));
  await adapters('gate_up', act.xn2, act.gateUp);
  calls.push(await siluMulForwardCall(ctx, act.gateUp, act.h, R, I));
  if (io.end === 'recompute') {
    for (const m of modules('down')) calls.push(await loraUCall(ctx, m, lora!.r, act.h, act.loraU(m.slice.target), R));
    return calls;
  }
  calls.push(...(await linearCall(ctx, act.h, layer.down, act.proj, R)));
  await adapters('down', act.h, act.proj);
  const { xOut, norm } = io.end;
  calls.push(
    await addRmsnormForwardCall(
      ctx,
      { residual: act.xMid, branch: act.proj, sum: xOut, weight: norm.weight, y: norm.y, rstd: norm.rstd },
      R,
      D,
      eps,
    ),
  );
  return calls;
}

// The batch limits live with the planner that splits batches to fit them; re-exported for existing callers.
export { BatchTooLargeError, checkBatchFits } from './batch-plan';

export interface ScoringForwardOptions {
  /** Add this adapter into the projections (null or absent: the frozen model). */
  lora?: GpuLora | null;
  /** Keep each layer's input and the logits for the backward pass (the workspace must be a training one). */
  keepCheckpoints?: boolean;
  /**
   * What one pass may allocate and dispatch (default: the device's). A layout over them is refused
   * (BatchTooLargeError); callers split first (batch-plan.ts; LlamaEngine.forwardScores, LoraTrainer).
   */
  limits?: BatchLimits;
}

/** The shape a forward plan is built for: at least its layouts' rows, logit rows and prompts. */
export interface PassShape {
  rows: number;
  logitRows: number;
  prompts: number;
}

/** A layout's own sizes, and the largest position it uses + 1 (the RoPE table it needs). */
export function layoutSizes(layout: ScoringLayout): PassShape & { positions: number } {
  let maxPosition = 0;
  for (const p of layout.positions) maxPosition = Math.max(maxPosition, p);
  return {
    rows: layout.tokens.length,
    logitRows: layout.logitRows.length,
    prompts: layout.lastPromptRows.length,
    positions: maxPosition + 1,
  };
}

/** The workspace capacity a layout needs, bucketed (activations.ts passBucket) or exact. */
export function capacityFor(
  layout: ScoringLayout,
  options: { lora?: GpuLora | null; training: boolean; bucketed: boolean },
): WorkspaceCapacity {
  const s = layoutSizes(layout);
  const b = options.bucketed ? passBucket : (n: number) => Math.max(1, n);
  const lora = options.lora
    ? { r: options.lora.r, targets: [...new Set(options.lora.modules.map((m) => m.slice.target))] }
    : null;
  return {
    rows: b(s.rows),
    logitRows: b(s.logitRows),
    prompts: b(s.prompts),
    positions: b(s.positions),
    training: options.training,
    lora,
  };
}

export class ScoringForward {
  private readonly calls: KernelCall[] = [];
  /** The plan's own buffers: layout inputs and results (activations.ts forwardPlanActivations). */
  private readonly planBuffers: Allocation;
  /** The layout last loaded (what the results and the backward refer to). */
  layout: ScoringLayout | null = null;
  layoutBuffers!: LayoutBuffers;
  /** The workspace's scratch: the forward leaves the last layer's values in it (the backward starts there). */
  readonly activations: LayerActivations;

  private constructor(
    private readonly device: GPUDevice,
    readonly workspace: Workspace,
    readonly model: GpuModelWeights,
    readonly shape: PassShape,
    readonly options: ScoringForwardOptions,
    /** A workspace made for this forward alone (ScoringForward.build), released with it. */
    private readonly ownsWorkspace: boolean,
  ) {
    this.planBuffers = allocateActivations(
      device,
      forwardPlanActivations(model.shape, shape.rows, shape.logitRows, shape.prompts),
    );
    this.activations = layerActivations(workspace);
  }

  /**
   * A plan for layouts up to `shape` on `workspace` (which must hold it), with the adapter when given; the
   * engine's way (engine.ts), which keeps it and replays it.
   */
  static async create(
    ctx: KernelContext,
    workspace: Workspace,
    model: GpuModelWeights,
    shape: PassShape,
    options: ScoringForwardOptions = {},
  ): Promise<ScoringForward> {
    const f = new ScoringForward(ctx.device, workspace, model, shape, options, false);
    await f.prepare(ctx);
    return f;
  }

  /**
   * A one-off plan for exactly `layout`, with a workspace of its own (tests, benchmarks): run() scores it.
   * Builds and allocates everything; the engine keeps its plans instead (LlamaEngine.forwardFor).
   */
  static async build(
    device: GPUDevice,
    pipelines: PipelineCache,
    model: GpuModelWeights,
    layout: ScoringLayout,
    options: ScoringForwardOptions = {},
  ): Promise<ScoringForward> {
    const sizes = layoutSizes(layout);
    checkBatchFits(options.limits ?? deviceBatchLimits(device), model.shape, sizes.rows, sizes.logitRows);
    const capacity = capacityFor(layout, {
      lora: options.lora,
      training: options.keepCheckpoints === true,
      bucketed: false,
    });
    const workspace = Workspace.create(device, model.shape, model.invFreq, capacity);
    const f = new ScoringForward(
      device,
      workspace,
      model,
      { rows: capacity.rows, logitRows: capacity.logitRows, prompts: capacity.prompts },
      options,
      true,
    );
    await f.prepare({ device, pipelines });
    f.load(layout);
    return f;
  }

  private plan(name: string): GPUBuffer {
    return bufferOf(this.planBuffers, name);
  }

  private async prepare(ctx: KernelContext): Promise<void> {
    const { shape: model, invFreq } = this.model;
    const { hidden: D, vocabSize: V, rmsNormEps: eps, layers: L } = model;
    const { rows: R, logitRows: J, prompts: P } = this.shape;
    const ws = this.workspace;
    if (!ws.fits({ ...this.shape, positions: 1, training: this.options.keepCheckpoints === true, lora: null })) {
      throw new Error(
        `ScoringForward: the workspace (${ws.capacity.rows} rows, ${ws.capacity.logitRows} logit rows) ` +
          `does not hold a plan of ${R} rows, ${J} logit rows, ${P} prompts`,
      );
    }
    if (invFreq.length * 2 !== model.headDim)
      throw new Error(`ScoringForward: ${invFreq.length} RoPE frequencies for head_dim ${model.headDim}`);
    this.layoutBuffers = {
      tokens: this.plan('tokens'),
      positions: this.plan('positions'),
      segments: this.plan('segments'),
      cosSin: ws.get('rope cos/sin'),
    };
    const act = this.activations;
    const xnFinal = ws.get('xn final');
    const rstdFinal = ws.get('rstd final');
    const c = this.calls;
    c.push(...(await embeddingCall(ctx, this.layoutBuffers.tokens, this.model.embed, ws.residual(0), R)));
    c.push(
      await rmsnormForwardCall(
        ctx,
        { x: ws.residual(0), weight: this.model.layers[0].inputNorm, y: act.xn1, rstd: act.rstd1 },
        R,
        D,
        eps,
      ),
    );
    for (let l = 0; l < L; l++) {
      const lora = this.options.lora
        ? { ...this.options.lora, modules: this.options.lora.modules.filter((m) => m.layer === l) }
        : null;
      const norm =
        l + 1 < L
          ? { weight: this.model.layers[l + 1].inputNorm, y: act.xn1, rstd: act.rstd1 }
          : { weight: this.model.finalNorm, y: xnFinal, rstd: rstdFinal };
      c.push(
        ...(await layerForwardCalls(
          ctx,
          model,
          this.model.layers[l],
          lora,
          act,
          { xIn: ws.residual(l), end: { xOut: ws.residual(l + 1), norm } },
          this.layoutBuffers,
          R,
        )),
      );
    }
    c.push(await gatherRowsCall(ctx, xnFinal, this.plan('last prompt rows'), this.plan('last prompt hidden'), P, D));
    c.push(await gatherRowsCall(ctx, xnFinal, this.plan('logit rows'), ws.get('gathered'), J, D));
    c.push(...(await linearCall(ctx, ws.get('gathered'), this.model.lmHead, ws.get('logits'), J)));
    c.push(await logSoftmaxGatherCall(ctx, ws.get('logits'), this.plan('targets'), this.plan('token logprobs'), J, V));
  }

  /**
   * Writes `layout`'s rows into the plan's inputs, padded to the plan's shape (queue writes: they land before
   * the next submission, so a layout is loaded right before the encoder that runs it is submitted).
   */
  load(layout: ScoringLayout): void {
    const { rows: R, logitRows: J, prompts: P } = this.shape;
    const s = layoutSizes(layout);
    if (s.rows > R || s.logitRows > J || s.prompts > P || s.positions > this.workspace.capacity.positions) {
      throw new Error(
        `ScoringForward.load: a layout of ${s.rows} rows, ${s.logitRows} logit rows, ${s.prompts} prompts, ` +
          `positions < ${s.positions} exceeds this plan (${R}, ${J}, ${P}, < ${this.workspace.capacity.positions})`,
      );
    }
    for (const t of layout.tokens)
      if (t >= this.model.shape.vocabSize)
        throw new Error(`token id ${t} is outside the model's vocabulary of ${this.model.shape.vocabSize}`);
    const padded = padLayout(layout, this.shape);
    const { queue } = this.device;
    queue.writeBuffer(this.plan('tokens'), 0, padded.tokens);
    queue.writeBuffer(this.plan('positions'), 0, padded.positions);
    queue.writeBuffer(this.plan('segments'), 0, padded.segments);
    queue.writeBuffer(this.plan('logit rows'), 0, padded.logitRows);
    queue.writeBuffer(this.plan('targets'), 0, padded.targets);
    queue.writeBuffer(this.plan('last prompt rows'), 0, padded.lastPromptRows);
    this.layout = layout;
  }

  /** The prepared kernel calls, in order (for profiling). */
  get kernelCalls(): readonly KernelCall[] {
    return this.calls;
  }

  /** The residual stream entering layer l (l = layers: the final norm's input). Checkpointing only. */
  checkpoint(l: number): GPUBuffer {
    if (!this.options.keepCheckpoints) throw new Error('checkpoint(): the forward was built without keepCheckpoints');
    return this.workspace.residual(l);
  }

  get logits(): GPUBuffer {
    return this.workspace.get('logits');
  }

  get targets(): GPUBuffer {
    return this.plan('targets');
  }

  /** [J]: each logit row's log-prob of its target (what stageResults reads back as tokenLogprobs). */
  get tokenLogprobs(): GPUBuffer {
    return this.plan('token logprobs');
  }

  get rstdFinal(): GPUBuffer {
    return this.workspace.get('rstd final');
  }

  /** [P, D]: the prompts' last rows after the final norm (the critic's features, with the adapter off). */
  get promptHidden(): GPUBuffer {
    return this.plan('last prompt hidden');
  }

  /** Records the whole pass into one compute pass; nothing is read back until it has been submitted. */
  encode(encoder: GPUCommandEncoder): void {
    if (!this.layout) throw new Error('ScoringForward.encode: no layout loaded');
    const pass = encoder.beginComputePass({ label: 'scoring forward' });
    encodeCalls(pass, this.calls);
    pass.end();
    this.workspace.scratchHolder = this.options.keepCheckpoints ? this : null;
  }

  /** Records the copies of this pass's results (the loaded layout's rows only); read() after the submission. */
  stageResults(encoder: GPUCommandEncoder): { read(): Promise<ForwardResult> } {
    const { logitRows, lastPromptRows } = this.layout!;
    const staged = readbackPool(this.device).stage(encoder, [
      { buffer: this.plan('token logprobs'), count: logitRows.length },
      { buffer: this.plan('last prompt hidden'), count: lastPromptRows.length * this.model.shape.hidden },
    ]);
    return {
      read: async () => {
        const [tokenLogprobs, lastPromptHidden] = await staged.read();
        return { tokenLogprobs, lastPromptHidden };
      },
    };
  }

  /** Runs the loaded layout (or `layout`, loaded first) and reads its results: one submission, one wait. */
  async run(layout?: ScoringLayout): Promise<ForwardResult> {
    if (layout) this.load(layout);
    const encoder = this.device.createCommandEncoder();
    this.encode(encoder);
    const results = this.stageResults(encoder);
    this.device.queue.submit([encoder.finish()]);
    return results.read();
  }

  dispose(): void {
    disposeCalls(this.calls);
    this.planBuffers.forEach((b) => b.destroy());
    if (this.ownsWorkspace) this.workspace.dispose();
  }
}

/**
 * A layout padded to `shape`: padded rows (token 0 at position 0) attend only to themselves, padded logit rows
 * gather row 0 and score token 0, padded prompts read row 0. None of them is read back, and no real row attends
 * to a padded one, so every real row's values are those of the unpadded layout.
 */
export function padLayout(
  layout: ScoringLayout,
  shape: PassShape,
): Record<'tokens' | 'positions' | 'segments' | 'logitRows' | 'targets' | 'lastPromptRows', Uint32Array<ArrayBuffer>> {
  const R = layout.tokens.length;
  const grow = (a: Uint32Array, n: number) => {
    const out = new Uint32Array(n);
    out.set(a);
    return out;
  };
  const segments = grow(layout.segments, 4 * shape.rows);
  for (let r = R; r < shape.rows; r++) segments.set([r, 1, 0, 0], 4 * r);
  return {
    tokens: grow(layout.tokens, shape.rows),
    positions: grow(layout.positions, shape.rows),
    segments,
    logitRows: grow(layout.logitRows, shape.logitRows),
    targets: grow(layout.targets, shape.logitRows),
    lastPromptRows: grow(layout.lastPromptRows, shape.prompts),
  };
}
