/**
 * The scoring forward pass on the GPU: one command encoder runs every row of a ScoringLayout (all prompts and
 * all their actions) through the model and ends with the log-prob of each scored token and the final-norm
 * hidden state of each prompt's last token. The calls are built once per layout and can be replayed.
 *
 * Per layer (LLaMA, pre-norm), rows R, hidden D, heads H, kv heads KVH, head dim hd, intermediate I,
 * optional LoRA on any projection (train/gpu-lora.ts):
 *   xn1    = rmsnorm(x_in, input_layernorm)              [R, D]      (rstd1 [R])
 *   qkv    = xn1 · W_qkv^T (+ LoRA q/k/v)               [R, (H + 2 KVH) hd]
 *   qkv    = rope(qkv, positions)                        Q and K heads
 *   attn   = attention(qkv, segments)                    [R, H hd]
 *   x_mid  = x_in + attn · W_o^T (+ LoRA o)             [R, D]
 *   xn2    = rmsnorm(x_mid, post_attention_layernorm)   (rstd2 [R])
 *   gateUp = xn2 · W_gate_up^T (+ LoRA gate/up)          [R, 2I]
 *   h      = silu(gate) * up                             [R, I]
 *   x_out  = x_mid + h · W_down^T (+ LoRA down)
 * then xn = rmsnorm(x_L, norm); logits only at the layout's logit rows (gather, then · W_lm^T, [J, V]);
 * logprob[j] = log_softmax(logits[j])[target j].
 *
 * For training, `keepCheckpoints` keeps every layer's input x_l (activation checkpointing: the backward
 * recomputes one layer at a time from it) and the logits; backward.ts builds on those buffers.
 */
import { createStorageBuffer, readFloat32 } from '../../gpu/buffers';
import { disposeCalls, encodeCalls, type KernelCall } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';
import { checkBatchFits, deviceBatchLimits, type BatchLimits } from './batch-plan';
import { loraForwardCalls, type GpuLora, type GpuLoraModule } from '../train/gpu-lora';
import { attentionForwardCall } from './kernels/attention';
import { addOutCall, gatherRowsCall, logSoftmaxGatherCall, ropeCall, siluMulCall } from './kernels/forward-ops';
import { embeddingCall, linearCall, type GpuLinear } from './kernels/linear';
import { rmsnormForwardCall } from './kernels/rmsnorm';
import { ropeTable } from './rope';
import type { ScoringLayout } from './scoring-layout';

/** The model dimensions the forward needs (a subset of the parsed mlc-chat-config). */
export interface ModelShape {
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
  vocabSize: number;
  rmsNormEps: number;
}

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

/** One layer's activations (the forward's, or the backward's recomputation). */
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
  loraU: Map<string, GPUBuffer>;
  /** [R, H]: when present, attention also writes each row's log-sum-exp here (the backward's recomputation). */
  lse?: GPUBuffer;
}

/** Inputs shared by every layer of one layout. */
export interface LayoutBuffers {
  tokens: GPUBuffer;
  positions: GPUBuffer;
  segments: GPUBuffer;
  cosSin: GPUBuffer;
  /** The host copy of `segments` (attention sizes its tiles' costs and the backward's reader lists from it). */
  hostSegments: Uint32Array;
}

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

/** Which fused output a LoRA target adds into, and that output's row width. */
export function fusedWidth(shape: ModelShape, fused: 'qkv' | 'o' | 'gate_up' | 'down'): number {
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd } = shape;
  return fused === 'qkv' ? (H + 2 * KVH) * hd : fused === 'gate_up' ? 2 * I : D;
}

/** The calls of one layer: x_in -> x_out, keeping every intermediate in `act`. */
export async function layerForwardCalls(
  ctx: Ctx,
  shape: ModelShape,
  layer: GpuLayerWeights,
  lora: { r: number; scale: number; modules: GpuLoraModule[] } | null,
  act: LayerActivations,
  io: { xIn: GPUBuffer; xOut: GPUBuffer },
  layout: LayoutBuffers,
  R: number,
): Promise<KernelCall[]> {
  const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, rmsNormEps: eps } = shape;
  const calls: KernelCall[] = [];
  const adapters = async (fused: 'qkv' | 'o' | 'gate_up' | 'down', xn: GPUBuffer, y: GPUBuffer) => {
    for (const m of lora?.modules.filter((mm) => mm.slice.fused === fused) ?? []) {
      calls.push(...(await loraForwardCalls(ctx, m, lora!.r, lora!.scale, xn, act.loraU.get(m.slice.target)!, y, R, fusedWidth(shape, fused))));
    }
  };
  calls.push(await rmsnormForwardCall(ctx.device, ctx.pipelines, { x: io.xIn, weight: layer.inputNorm, y: act.xn1, rstd: act.rstd1 }, R, D, eps));
  calls.push(...(await linearCall(ctx, act.xn1, layer.qkv, act.qkv, R)));
  await adapters('qkv', act.xn1, act.qkv);
  calls.push(await ropeCall(ctx, act.qkv, layout.positions, layout.cosSin, R, H, KVH, hd));
  const attention = { qkv: act.qkv, segments: layout.segments, out: act.attn, lse: act.lse };
  const attentionShape = { rows: R, heads: H, kvHeads: KVH, headDim: hd };
  calls.push(await attentionForwardCall(ctx, attention, attentionShape, layout.hostSegments));
  calls.push(...(await linearCall(ctx, act.attn, layer.o, act.proj, R)));
  await adapters('o', act.attn, act.proj);
  calls.push(await addOutCall(ctx, io.xIn, act.proj, act.xMid, R * D));
  calls.push(await rmsnormForwardCall(ctx.device, ctx.pipelines, { x: act.xMid, weight: layer.postNorm, y: act.xn2, rstd: act.rstd2 }, R, D, eps));
  calls.push(...(await linearCall(ctx, act.xn2, layer.gateUp, act.gateUp, R)));
  await adapters('gate_up', act.xn2, act.gateUp);
  calls.push(await siluMulCall(ctx, act.gateUp, act.h, R, I));
  calls.push(...(await linearCall(ctx, act.h, layer.down, act.proj, R)));
  await adapters('down', act.h, act.proj);
  calls.push(await addOutCall(ctx, act.xMid, act.proj, io.xOut, R * D));
  return calls;
}

// The batch limits live with the planner that splits batches to fit them; re-exported for existing callers.
export { BatchTooLargeError, checkBatchFits } from './batch-plan';

export interface ScoringForwardOptions {
  /** Add this adapter into the projections (null or absent: the frozen model). */
  lora?: GpuLora | null;
  /** Keep each layer's input and the logits for the backward pass. */
  keepCheckpoints?: boolean;
  /**
   * What one pass may allocate and dispatch (default: the device's). A layout over them is refused
   * (BatchTooLargeError); callers split first (batch-plan.ts; LlamaEngine.forwardScores, LoraTrainer).
   */
  limits?: BatchLimits;
}

export class ScoringForward {
  private readonly calls: KernelCall[] = [];
  private readonly buffers: GPUBuffer[] = [];
  /** x_0 .. x_L when checkpointing (x_l = input of layer l); otherwise two ping-pong buffers. */
  readonly residuals: GPUBuffer[] = [];
  layoutBuffers!: LayoutBuffers;
  /**
   * One layer's activation scratch. The forward leaves the last layer's values in it; the backward reuses it
   * for its per-layer recomputation, so training holds one set, not two.
   */
  activations!: LayerActivations;
  /** Final norm's input row scales, its output, the gathered rows, logits [J, V], and the results. */
  rstdFinal!: GPUBuffer;
  xnFinal!: GPUBuffer;
  logits!: GPUBuffer;
  targets!: GPUBuffer;
  logprobs!: GPUBuffer;
  promptHidden!: GPUBuffer;

  private constructor(
    private readonly device: GPUDevice,
    readonly layout: ScoringLayout,
    readonly model: GpuModelWeights,
    readonly options: ScoringForwardOptions,
  ) {}

  /** Allocates the activations of this layout and prepares every kernel call. */
  static async build(device: GPUDevice, pipelines: PipelineCache, model: GpuModelWeights, layout: ScoringLayout, options: ScoringForwardOptions = {}): Promise<ScoringForward> {
    const f = new ScoringForward(device, layout, model, options);
    await f.prepare({ device, pipelines });
    return f;
  }

  alloc(data: Float32Array | Uint32Array | number, label: string): GPUBuffer {
    const buffer = createStorageBuffer(this.device, typeof data === 'number' ? data * 4 : data, label);
    this.buffers.push(buffer);
    return buffer;
  }

  /** Scratch for one layer's activations (R rows). */
  private allocLayerActivations(R: number): LayerActivations {
    const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd } = this.model.shape;
    const lora = this.options.lora;
    const loraU = new Map<string, GPUBuffer>();
    for (const m of lora?.modules ?? []) if (!loraU.has(m.slice.target)) loraU.set(m.slice.target, this.alloc(R * lora!.r, `lora u ${m.slice.target}`));
    return {
      xn1: this.alloc(R * D, 'xn1'),
      rstd1: this.alloc(R, 'rstd1'),
      qkv: this.alloc(R * (H + 2 * KVH) * hd, 'qkv'),
      attn: this.alloc(R * H * hd, 'attn'),
      proj: this.alloc(R * D, 'proj'),
      xMid: this.alloc(R * D, 'x_mid'),
      xn2: this.alloc(R * D, 'xn2'),
      rstd2: this.alloc(R, 'rstd2'),
      gateUp: this.alloc(R * 2 * I, 'gate_up'),
      h: this.alloc(R * I, 'h'),
      loraU,
      // Training: attention keeps its log-sum-exp, so the backward can start from the last layer's values.
      lse: this.options.keepCheckpoints ? this.alloc(R * H, 'lse') : undefined,
    };
  }

  private async prepare(ctx: Ctx): Promise<void> {
    const { shape } = this.model;
    const { hidden: D, vocabSize: V } = shape;
    const layout = this.layout;
    const R = layout.tokens.length;
    const J = layout.logitRows.length;
    const P = layout.lastPromptRows.length;
    for (const t of layout.tokens) if (t >= V) throw new Error(`token id ${t} is outside the model's vocabulary of ${V}`);
    checkBatchFits(this.options.limits ?? deviceBatchLimits(ctx.device), shape, R, J);

    let maxPosition = 0;
    for (const p of layout.positions) maxPosition = Math.max(maxPosition, p);
    this.layoutBuffers = {
      tokens: this.alloc(layout.tokens, 'tokens'),
      positions: this.alloc(layout.positions, 'positions'),
      segments: this.alloc(layout.segments, 'segments'),
      cosSin: this.alloc(ropeTable(this.model.invFreq, maxPosition + 1), 'rope cos/sin'),
      hostSegments: layout.segments,
    };
    const residualCount = this.options.keepCheckpoints ? shape.layers + 1 : 2;
    for (let i = 0; i < residualCount; i++) this.residuals.push(this.alloc(R * D, `x_${i}`));
    const act = this.allocLayerActivations(R);
    this.activations = act;
    this.rstdFinal = this.alloc(R, 'rstd final');
    this.xnFinal = this.alloc(R * D, 'xn final');
    const logitRows = this.alloc(layout.logitRows, 'logit rows');
    this.targets = this.alloc(layout.targets, 'targets');
    const gathered = this.alloc(J * D, 'gathered');
    this.logits = this.alloc(J * V, 'logits');
    const lastRows = this.alloc(layout.lastPromptRows, 'last prompt rows');
    this.logprobs = this.alloc(J, 'token logprobs');
    this.promptHidden = this.alloc(P * D, 'last prompt hidden');

    const c = this.calls;
    const x = (l: number) => this.residuals[this.options.keepCheckpoints ? l : l % 2];
    c.push(...(await embeddingCall(ctx, this.layoutBuffers.tokens, this.model.embed, x(0), R)));
    for (let l = 0; l < shape.layers; l++) {
      const lora = this.options.lora ? { ...this.options.lora, modules: this.options.lora.modules.filter((m) => m.layer === l) } : null;
      c.push(...(await layerForwardCalls(ctx, shape, this.model.layers[l], lora, act, { xIn: x(l), xOut: x(l + 1) }, this.layoutBuffers, R)));
    }
    c.push(await rmsnormForwardCall(ctx.device, ctx.pipelines, { x: x(shape.layers), weight: this.model.finalNorm, y: this.xnFinal, rstd: this.rstdFinal }, R, D, shape.rmsNormEps));
    c.push(await gatherRowsCall(ctx, this.xnFinal, lastRows, this.promptHidden, P, D));
    if (J > 0) {
      c.push(await gatherRowsCall(ctx, this.xnFinal, logitRows, gathered, J, D));
      c.push(...(await linearCall(ctx, gathered, this.model.lmHead, this.logits, J)));
      c.push(await logSoftmaxGatherCall(ctx, this.logits, this.targets, this.logprobs, J, V));
    }
  }

  /** The prepared kernel calls, in order (for profiling). */
  get kernelCalls(): readonly KernelCall[] {
    return this.calls;
  }

  /** The residual stream entering layer l (l = layers: the final norm's input). Checkpointing only. */
  checkpoint(l: number): GPUBuffer {
    if (!this.options.keepCheckpoints) throw new Error('checkpoint(): the forward was built without keepCheckpoints');
    return this.residuals[l];
  }

  /**
   * True from this forward's encode until a backward recomputation overwrites `activations`: the scratch then
   * holds the last layer's activations (and lse), exactly what the backward would recompute for that layer.
   */
  lastLayerActivationsValid = false;

  /** Records the whole pass into one compute pass; nothing is read back until it has been submitted. */
  encode(encoder: GPUCommandEncoder): void {
    const pass = encoder.beginComputePass({ label: 'scoring forward' });
    encodeCalls(pass, this.calls);
    pass.end();
    this.lastLayerActivationsValid = this.options.keepCheckpoints === true;
  }

  async run(): Promise<ForwardResult> {
    const encoder = this.device.createCommandEncoder();
    this.encode(encoder);
    this.device.queue.submit([encoder.finish()]);
    const [tokenLogprobs, lastPromptHidden] = await Promise.all([
      readFloat32(this.device, this.logprobs, this.layout.logitRows.length),
      readFloat32(this.device, this.promptHidden, this.layout.lastPromptRows.length * this.model.shape.hidden),
    ]);
    return { tokenLogprobs, lastPromptHidden };
  }

  dispose(): void {
    disposeCalls(this.calls);
    this.buffers.forEach((b) => b.destroy());
  }
}
