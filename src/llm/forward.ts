/**
 * The scoring forward pass on the GPU: one command encoder runs every row of a ScoringLayout (all prompts and
 * all their actions) through the model and ends with the log-prob of each scored token and the final-norm
 * hidden state of each prompt's last token. The calls are built once per layout and can be replayed.
 *
 * Per layer (LLaMA, pre-norm), rows R, hidden D, heads H, kv heads KVH, head dim hd, intermediate I:
 *   xn     = rmsnorm(x, input_layernorm)                 [R, D]
 *   qkv    = xn · W_qkv^T                                 [R, (H + 2 KVH) hd]
 *   qkv    = rope(qkv, positions)                        Q and K heads
 *   attn   = attention(qkv, segments)                    [R, H hd]
 *   x     += attn · W_o^T                                [R, D]
 *   xn     = rmsnorm(x, post_attention_layernorm)
 *   gateUp = xn · W_gate_up^T                            [R, 2I]
 *   h      = silu(gate) * up                             [R, I]
 *   x     += h · W_down^T
 * then xn = rmsnorm(x, norm); logits only at the layout's logit rows (gather, then · W_lm^T, [J, V]);
 * logprob[j] = log_softmax(logits[j])[target j].
 */
import { createStorageBuffer, readFloat32 } from '../gpu/buffers';
import { disposeCalls, encodeCalls, type KernelCall } from '../gpu/kernel';
import type { PipelineCache } from '../gpu/pipelines';
import { attentionCall, gatherRowsCall, logSoftmaxGatherCall, residualAddCall, ropeCall, siluMulCall } from './kernels/forward-ops';
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

export class ScoringForward {
  private readonly calls: KernelCall[] = [];
  private readonly buffers: GPUBuffer[] = [];
  private logprobs!: GPUBuffer;
  private promptHidden!: GPUBuffer;

  private constructor(
    private readonly device: GPUDevice,
    readonly layout: ScoringLayout,
    readonly model: GpuModelWeights,
  ) {}

  /** Allocates the activations of this layout and prepares every kernel call. */
  static async build(device: GPUDevice, pipelines: PipelineCache, model: GpuModelWeights, layout: ScoringLayout): Promise<ScoringForward> {
    const f = new ScoringForward(device, layout, model);
    await f.prepare(pipelines);
    return f;
  }

  private alloc(data: Float32Array | Uint32Array | number, label: string): GPUBuffer {
    const buffer = createStorageBuffer(this.device, typeof data === 'number' ? data * 4 : data, label);
    this.buffers.push(buffer);
    return buffer;
  }

  private async prepare(pipelines: PipelineCache): Promise<void> {
    const { shape } = this.model;
    const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, vocabSize: V } = shape;
    const layout = this.layout;
    const R = layout.tokens.length;
    const J = layout.logitRows.length;
    const P = layout.lastPromptRows.length;
    const ctx = { device: this.device, pipelines };
    for (const t of layout.tokens) if (t >= V) throw new Error(`token id ${t} is outside the model's vocabulary of ${V}`);

    let maxPosition = 0;
    for (const p of layout.positions) maxPosition = Math.max(maxPosition, p);
    let totalKeys = 0;
    for (let r = 0; r < R; r++) totalKeys += layout.segments[4 * r + 1] + layout.segments[4 * r + 3];
    const tokens = this.alloc(layout.tokens, 'tokens');
    const positions = this.alloc(layout.positions, 'positions');
    const segments = this.alloc(layout.segments, 'segments');
    const cosSin = this.alloc(ropeTable(this.model.invFreq, maxPosition + 1), 'rope cos/sin');
    const x = this.alloc(R * D, 'x');
    const xn = this.alloc(R * D, 'xn');
    const rstd = this.alloc(R, 'rstd');
    const qkv = this.alloc(R * (H + 2 * KVH) * hd, 'qkv');
    const attn = this.alloc(R * H * hd, 'attn');
    const proj = this.alloc(R * D, 'proj');
    const gateUp = this.alloc(R * 2 * I, 'gate_up');
    const h = this.alloc(R * I, 'h');
    const logitRows = this.alloc(layout.logitRows, 'logit rows');
    const targets = this.alloc(layout.targets, 'targets');
    const gathered = this.alloc(J * D, 'gathered');
    const logits = this.alloc(J * V, 'logits');
    const lastRows = this.alloc(layout.lastPromptRows, 'last prompt rows');
    this.logprobs = this.alloc(J, 'token logprobs');
    this.promptHidden = this.alloc(P * D, 'last prompt hidden');

    const c = this.calls;
    c.push(await embeddingCall(ctx, tokens, this.model.embed, x, R));
    for (const layer of this.model.layers) {
      c.push(await rmsnormForwardCall(this.device, pipelines, { x, weight: layer.inputNorm, y: xn, rstd }, R, D, shape.rmsNormEps));
      c.push(await linearCall(ctx, xn, layer.qkv, qkv, R));
      c.push(await ropeCall(ctx, qkv, positions, cosSin, R, H, KVH, hd));
      c.push(await attentionCall(ctx, qkv, segments, attn, R, H, KVH, hd, totalKeys));
      c.push(await linearCall(ctx, attn, layer.o, proj, R));
      c.push(await residualAddCall(ctx, x, proj, R * D));
      c.push(await rmsnormForwardCall(this.device, pipelines, { x, weight: layer.postNorm, y: xn, rstd }, R, D, shape.rmsNormEps));
      c.push(await linearCall(ctx, xn, layer.gateUp, gateUp, R));
      c.push(await siluMulCall(ctx, gateUp, h, R, I));
      c.push(await linearCall(ctx, h, layer.down, proj, R));
      c.push(await residualAddCall(ctx, x, proj, R * D));
    }
    c.push(await rmsnormForwardCall(this.device, pipelines, { x, weight: this.model.finalNorm, y: xn, rstd }, R, D, shape.rmsNormEps));
    c.push(await gatherRowsCall(ctx, xn, lastRows, this.promptHidden, P, D));
    if (J > 0) {
      c.push(await gatherRowsCall(ctx, xn, logitRows, gathered, J, D));
      c.push(await linearCall(ctx, gathered, this.model.lmHead, logits, J));
      c.push(await logSoftmaxGatherCall(ctx, logits, targets, this.logprobs, J, V));
    }
  }

  /** The prepared kernel calls, in order (for profiling). */
  get kernelCalls(): readonly KernelCall[] {
    return this.calls;
  }

  /** Records the whole pass into one compute pass; nothing is read back until it has been submitted. */
  encode(encoder: GPUCommandEncoder): void {
    const pass = encoder.beginComputePass({ label: 'scoring forward' });
    encodeCalls(pass, this.calls);
    pass.end();
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
