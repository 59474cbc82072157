/**
 * The training backward pass on the GPU: from dL/d(log-prob of every scored token) to the LoRA gradients,
 * through the frozen 4-bit model. It runs on a ScoringForward built with `keepCheckpoints` and LoRA, after
 * that forward has been submitted (the loss gradient needs its log-probs). Per-layer activation
 * checkpointing: each layer is recomputed from its kept input, then differentiated, last layer first.
 *
 * What the forward did, and the backward of each step (llm.c style, shapes as in forward.ts):
 *   logprob[j] = log_softmax(logits[j])[t_j]   ->  dlogits [J, V]            (logsoftmax_gather_backward)
 *   logits = gathered · W_lm^T (frozen)        ->  dgathered = dlogits · W_lm  (input grad only)
 *   gathered = xn[logitRows]                   ->  dxn = scatter-add          (gather_rows' CSR backward)
 *   xn = rmsnorm(x_L)                          ->  dx_L                      (rmsnorm_backward)
 *   per layer l = L-1 .. 0, from x_l (recomputed activations), with dres = dx_{l+1}:
 *     x_out = x_mid + h · W_down^T (+LoRA)     ->  dh = dres · W_down (+LoRA grads, dh += du A)
 *     h = silu(gate) * up                      ->  dgate_up                  (silu_mul_backward)
 *     gate_up = xn2 · W_gu^T (+LoRA)           ->  dxn2 (+LoRA)
 *     xn2 = rmsnorm(x_mid)                     ->  dx_mid = dres + rmsnorm_backward(dxn2)     (one call)
 *     x_mid = x_in + attn · W_o^T (+LoRA)      ->  dattn (+LoRA)
 *     attn = attention(qkv)                    ->  dqkv                      (dq with delta, dk/dv; lse recomputed)
 *     qkv = rope(...)                          ->  inverse rotation of dqkv
 *     qkv = xn1 · W_qkv^T (+LoRA q/k/v)        ->  dxn1 (+LoRA)
 *     xn1 = rmsnorm(x_in)                      ->  dx_l = dx_mid + rmsnorm_backward(dxn1)     (one call)
 * No gradient is computed for any frozen weight; LoRA gradients accumulate into the adapter's gradA/gradB.
 * The recomputation of a layer stops at h (and LoRA down's u): the down projection's output is not needed.
 *
 * Like the forward, a static plan: built once per forward plan (engine.ts keeps it) with room for `keys` key
 * readers, and replayed; load() writes a layout's dL/dlogprob and the CSR transposes of its gathers. Its
 * gradient buffers are the workspace's, so the backward adds nothing per layout but these few words.
 */
import { disposeCalls, encodeCalls, type KernelCall, type KernelContext } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';
import {
  allocateActivations,
  backwardPlanActivations,
  bufferOf,
  LM_HEAD_PARTIALS,
  type Allocation,
} from './activations';
import { fusedWidth, layerForwardCalls, padLayout, type ScoringForward } from './forward';
import { loraBackwardCalls, type GpuLora } from '../train/gpu-lora';
import {
  attentionBackwardCalls,
  attentionReaderCapacity,
  attentionReaders,
  type AttentionShape,
} from './kernels/attention';
import { scatterAddRowsCall } from './kernels/gather-rows';
import { linearInputGradCall } from './kernels/linear';
import { logSoftmaxGatherBackwardCall } from './kernels/logsoftmax-gather';
import { rmsnormBackwardCall, rmsnormForwardCall } from './kernels/rmsnorm';
import { ropeBackwardCall } from './kernels/rope';
import { siluMulBackwardCall } from './kernels/silu-mul';
import { causalSegments, gatherSources, type ScoringLayout } from './scoring-layout';

/** Key readers a layout needs once padded to `rows` rows (each padded row reads itself). */
export function layoutKeys(layout: ScoringLayout, rows: number): number {
  let keys = rows - layout.tokens.length;
  for (let r = 0; r < layout.tokens.length; r++) keys += layout.segments[4 * r + 1] + layout.segments[4 * r + 3];
  return keys;
}

/** Attention's shape in `forward`'s plan. */
function attentionShapeOf(forward: ScoringForward): AttentionShape {
  const { heads, kvHeads, headDim } = forward.model.shape;
  return { rows: forward.shape.rows, heads, kvHeads, headDim };
}

export class LoraBackward {
  private readonly calls: KernelCall[] = [];
  private readonly planBuffers: Allocation;
  /** calls[from, to): the last layer's recomputation, skipped when the workspace's scratch still holds it. */
  private lastRecompute = { from: 0, to: 0 };
  readonly lora: GpuLora;

  private constructor(
    private readonly device: GPUDevice,
    readonly forward: ScoringForward,
    /** Room for this many key readers (the attention backward's CSR list). */
    readonly keys: number,
  ) {
    const lora = forward.options.lora;
    if (!lora || !forward.options.keepCheckpoints)
      throw new Error('LoraBackward needs a forward built with a LoRA adapter and keepCheckpoints');
    this.lora = lora;
    const readers = attentionReaderCapacity(attentionShapeOf(forward), keys);
    this.planBuffers = allocateActivations(
      device,
      backwardPlanActivations(forward.shape.rows, forward.shape.logitRows, readers),
    );
  }

  /** The backward plan of `forward` (the engine's way: engine.ts keeps it), with room for `keys` key readers. */
  static async create(ctx: KernelContext, forward: ScoringForward, keys: number): Promise<LoraBackward> {
    const b = new LoraBackward(ctx.device, forward, keys);
    await b.prepare(ctx);
    return b;
  }

  /** A one-off backward for the layout `forward` has loaded (tests, benchmarks); run() runs it. */
  static async build(device: GPUDevice, pipelines: PipelineCache, forward: ScoringForward): Promise<LoraBackward> {
    if (!forward.layout) throw new Error('LoraBackward.build: the forward has no layout loaded');
    return LoraBackward.create({ device, pipelines }, forward, layoutKeys(forward.layout, forward.shape.rows));
  }

  private plan(name: string): GPUBuffer {
    return bufferOf(this.planBuffers, name);
  }

  /** dL/d(token log-prob) per logit row, written by load(). */
  get tokenGrads(): GPUBuffer {
    return this.plan('dL/dlogprob');
  }

  private async prepare(ctx: KernelContext): Promise<void> {
    const f = this.forward;
    const ws = f.workspace;
    const { shape } = f.model;
    const {
      hidden: D,
      intermediate: I,
      heads: H,
      kvHeads: KVH,
      headDim: hd,
      vocabSize: V,
      layers: L,
      rmsNormEps: eps,
    } = shape;
    const { rows: R, logitRows: J } = f.shape;
    const lora = this.lora;
    const c = this.calls;

    // Recomputation reuses the workspace's scratch (its values are not needed after the forward); then the
    // gradients flowing through one layer. The recomputed attention also keeps its log-sum-exp, so the
    // attention backward does not walk every row's keys a third time to get it.
    const act = f.activations;
    const lse = act.lse!;
    // The plan serves every layout of its shape: attention's costs are those of its most keys (one causal
    // sequence); load() writes each layout's reader lists.
    const attentionShape = attentionShapeOf(f);
    const worstCase = causalSegments(R);
    const [dlogits, dgathered, dxn, dxMid, dh, dGateUp, dattn, dqkv, delta] = [
      'dlogits',
      'dgathered',
      'dxn',
      'dx_mid',
      'dh',
      'dgate_up',
      'dattn',
      'dqkv',
      'delta',
    ].map((n) => ws.get(n));
    const dx = [ws.get('dx a'), ws.get('dx b')];
    const du = ws.get('du');

    // Head: log-softmax gather, lm_head, gather, final norm.
    c.push(await logSoftmaxGatherBackwardCall(ctx, f.logits, f.targets, this.tokenGrads, dlogits, J, V));
    // The one product whose sum runs over a vocabulary: it splits that sum across workgroups, into the
    // workspace's partial sums (activations.ts; absent where the shape takes no split).
    const partials = ws.find(LM_HEAD_PARTIALS) ?? undefined;
    c.push(
      ...(await linearInputGradCall(ctx, dlogits, f.model.lmHead, dgathered, J, false, { split: true, partials })),
    );
    c.push(
      await scatterAddRowsCall(ctx, dgathered, this.plan('gather offsets'), this.plan('gather sources'), dxn, R, D),
    );
    c.push(
      await rmsnormBackwardCall(
        ctx,
        { x: f.checkpoint(L), weight: f.model.finalNorm, dy: dxn, rstd: f.rstdFinal, dx: dx[L % 2] },
        R,
        D,
      ),
    );

    const adapterGrads = async (
      layer: number,
      fused: 'qkv' | 'o' | 'gate_up' | 'down',
      xn: GPUBuffer,
      dy: GPUBuffer,
      dIn: GPUBuffer,
    ) => {
      for (const m of lora.modules.filter((mm) => mm.layer === layer && mm.slice.fused === fused)) {
        c.push(
          ...(await loraBackwardCalls(
            ctx,
            m,
            lora.r,
            lora.scale,
            xn,
            act.loraU(m.slice.target),
            dy,
            du,
            dIn,
            R,
            fusedWidth(shape, fused),
          )),
        );
      }
    };

    for (let l = L - 1; l >= 0; l--) {
      const layer = f.model.layers[l];
      const layerLora = { ...lora, modules: lora.modules.filter((m) => m.layer === l) };
      const dres = dx[(l + 1) % 2]; // dL/dx_{l+1}
      const dIn = dx[l % 2]; // dL/dx_l, written at the end of this layer
      // Recompute the layer from its checkpoint, up to h.
      const from = c.length;
      c.push(
        await rmsnormForwardCall(
          ctx,
          { x: f.checkpoint(l), weight: layer.inputNorm, y: act.xn1, rstd: act.rstd1 },
          R,
          D,
          eps,
        ),
      );
      c.push(
        ...(await layerForwardCalls(
          ctx,
          shape,
          layer,
          layerLora,
          act,
          { xIn: f.checkpoint(l), end: 'recompute' },
          f.layoutBuffers,
          R,
        )),
      );
      if (l === L - 1) this.lastRecompute = { from, to: c.length };
      // MLP.
      c.push(...(await linearInputGradCall(ctx, dres, layer.down, dh, R, false)));
      await adapterGrads(l, 'down', act.h, dres, dh);
      c.push(await siluMulBackwardCall(ctx, act.gateUp, dh, dGateUp, R, I));
      c.push(...(await linearInputGradCall(ctx, dGateUp, layer.gateUp, dxn, R, false)));
      await adapterGrads(l, 'gate_up', act.xn2, dGateUp, dxn);
      // dx_mid = dres (the residual branch) + rmsnorm_backward(dxn2).
      c.push(
        await rmsnormBackwardCall(
          ctx,
          { x: act.xMid, weight: layer.postNorm, dy: dxn, rstd: act.rstd2, dx: dxMid, dresidual: dres },
          R,
          D,
        ),
      );
      // Attention.
      c.push(...(await linearInputGradCall(ctx, dxMid, layer.o, dattn, R, false)));
      await adapterGrads(l, 'o', act.attn, dxMid, dattn);
      c.push(
        ...(await attentionBackwardCalls(
          ctx,
          {
            qkv: act.qkv,
            segments: f.layoutBuffers.segments,
            out: act.attn,
            dout: dattn,
            lse,
            delta,
            dqkv,
            readerOffsets: this.plan('reader offsets'),
            readers: this.plan('readers'),
          },
          attentionShape,
          worstCase,
          attentionReaders(worstCase, attentionShape),
        )),
      );
      c.push(
        await ropeBackwardCall(ctx, dqkv, f.layoutBuffers.positions, f.layoutBuffers.cosSin, {
          rows: R,
          heads: H,
          kvHeads: KVH,
          headDim: hd,
        }),
      );
      c.push(...(await linearInputGradCall(ctx, dqkv, layer.qkv, dxn, R, false)));
      await adapterGrads(l, 'qkv', act.xn1, dqkv, dxn);
      // dx_l = dx_mid + rmsnorm_backward(dxn1).
      c.push(
        await rmsnormBackwardCall(
          ctx,
          { x: f.checkpoint(l), weight: layer.inputNorm, dy: dxn, rstd: act.rstd1, dx: dIn, dresidual: dxMid },
          R,
          D,
        ),
      );
    }
  }

  /** The prepared kernel calls, in order (for tests and profiling). */
  get kernelCalls(): readonly KernelCall[] {
    return this.calls;
  }

  /**
   * Writes dL/d(token log-prob) of `layout` (the one its forward ran) and the transposes of its gathers, padded
   * to the plan's shape: padded logit rows get zero gradients and are gathered from no row. With `tokenGrads`
   * null every row is written zero and the caller fills the layout's rows on the GPU before the backward runs
   * (a loss computed on the GPU: LoraTrainer.accumulateGpuLoss).
   */
  load(layout: ScoringLayout, tokenGrads: Float32Array | null): void {
    const { rows, logitRows } = this.forward.shape;
    if (tokenGrads && tokenGrads.length !== layout.logitRows.length)
      throw new Error(`backward: ${tokenGrads.length} token gradients for ${layout.logitRows.length} scored tokens`);
    const keys = layoutKeys(layout, rows);
    if (keys > this.keys) throw new Error(`backward: the layout's ${keys} key readers exceed this plan's ${this.keys}`);
    const padded = padLayout(layout, this.forward.shape);
    const gather = gatherSources(layout.logitRows, rows);
    const readers = attentionReaders(padded.segments, attentionShapeOf(this.forward));
    const room = bufferOf(this.planBuffers, 'readers').size / 4;
    if (readers.readers.length > room)
      throw new Error(`backward: the layout's ${readers.readers.length} attention readers exceed this plan's ${room}`);
    const grads = new Float32Array(logitRows);
    if (tokenGrads) grads.set(tokenGrads);
    const { queue } = this.device;
    const words = (a: Uint32Array) => a as Uint32Array<ArrayBuffer>;
    queue.writeBuffer(this.tokenGrads, 0, grads);
    queue.writeBuffer(this.plan('gather offsets'), 0, words(gather.offsets));
    if (gather.sources.length) queue.writeBuffer(this.plan('gather sources'), 0, words(gather.sources));
    queue.writeBuffer(this.plan('reader offsets'), 0, words(readers.offsets));
    queue.writeBuffer(this.plan('readers'), 0, words(readers.readers));
  }

  /**
   * Records the backward into one compute pass. Right after its forward, the workspace's scratch still holds
   * the last layer's activations (the same kernels on the same inputs give the same bits), so that layer's
   * recomputation is skipped; otherwise (another pass ran on the workspace since) every layer is recomputed.
   */
  encode(encoder: GPUCommandEncoder): void {
    const pass = encoder.beginComputePass({ label: 'lora backward' });
    const { from, to } = this.lastRecompute;
    if (this.forward.workspace.scratchHolder === this.forward) {
      encodeCalls(pass, this.calls.slice(0, from));
      encodeCalls(pass, this.calls.slice(to));
    } else encodeCalls(pass, this.calls);
    pass.end();
    this.forward.workspace.scratchHolder = null;
  }

  /**
   * Loads dL/d(token log-prob) for the forward's layout and runs the backward; LoRA gradients accumulate on the
   * GPU.
   */
  run(tokenGrads: Float32Array): void {
    this.load(this.forward.layout!, tokenGrads);
    const encoder = this.device.createCommandEncoder();
    this.encode(encoder);
    this.device.queue.submit([encoder.finish()]);
  }

  dispose(): void {
    disposeCalls(this.calls);
    this.planBuffers.forEach((b) => b.destroy());
  }
}
