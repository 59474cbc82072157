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
 *     xn2 = rmsnorm(x_mid)                     ->  dx_mid = dres + rmsnorm_backward(dxn2)
 *     x_mid = x_in + attn · W_o^T (+LoRA)      ->  dattn (+LoRA)
 *     attn = attention(qkv)                    ->  dqkv                      (delta, dq, dkv; lse from the recompute)
 *     qkv = rope(...)                          ->  inverse rotation of dqkv
 *     qkv = xn1 · W_qkv^T (+LoRA q/k/v)        ->  dxn1 (+LoRA)
 *     xn1 = rmsnorm(x_in)                      ->  dx_l = dx_mid + rmsnorm_backward(dxn1)
 * No gradient is computed for any frozen weight; LoRA gradients accumulate into the adapter's gradA/gradB.
 */
import { createStorageBuffer } from '../../gpu/buffers';
import { disposeCalls, encodeCalls, type KernelCall } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';
import { fusedWidth, layerForwardCalls, type ScoringForward } from './forward';
import { loraBackwardCalls, type GpuLora } from '../train/gpu-lora';
import {
  attentionBackwardCalls,
  logSoftmaxGatherBackwardCall,
  rmsnormBackwardCall,
  ropeBackwardCall,
  scatterAddRowsCall,
  siluMulBackwardCall,
} from './kernels/backward-ops';
import { copyCall } from './kernels/forward-ops';
import { linearInputGradCall } from './kernels/linear';
import { gatherSources, keyReaders } from './scoring-layout';

export class LoraBackward {
  private readonly calls: KernelCall[] = [];
  private readonly buffers: GPUBuffer[] = [];
  /** calls[from, to): the last layer's recomputation, skipped when the forward's scratch still holds it. */
  private lastRecompute = { from: 0, to: 0 };
  /** dL/d(token log-prob) per logit row, written by the trainer before each run. */
  readonly tokenGrads: GPUBuffer;

  private constructor(
    private readonly device: GPUDevice,
    readonly forward: ScoringForward,
    readonly lora: GpuLora,
  ) {
    this.tokenGrads = this.alloc(forward.layout.logitRows.length, 'dL/dlogprob');
  }

  static async build(device: GPUDevice, pipelines: PipelineCache, forward: ScoringForward): Promise<LoraBackward> {
    const lora = forward.options.lora;
    if (!lora || !forward.options.keepCheckpoints) throw new Error('LoraBackward needs a forward built with a LoRA adapter and keepCheckpoints');
    const b = new LoraBackward(device, forward, lora);
    await b.prepare({ device, pipelines });
    return b;
  }

  private alloc(data: Float32Array | Uint32Array | number, label: string): GPUBuffer {
    const buffer = createStorageBuffer(this.device, typeof data === 'number' ? data * 4 : data, label);
    this.buffers.push(buffer);
    return buffer;
  }

  private async prepare(ctx: { device: GPUDevice; pipelines: PipelineCache }): Promise<void> {
    const f = this.forward;
    const { shape } = f.model;
    const { hidden: D, intermediate: I, heads: H, kvHeads: KVH, headDim: hd, vocabSize: V, layers: L } = shape;
    const layout = f.layout;
    const R = layout.tokens.length;
    const J = layout.logitRows.length;
    const lora = this.lora;
    const c = this.calls;

    // Recomputation reuses the forward's activation scratch (its values are not needed after the forward);
    // then the gradients flowing through one layer. The recomputed attention also keeps its log-sum-exp (the
    // forward's activations have an lse buffer when checkpointing), so the attention backward does not walk
    // every row's keys a third time to get it.
    const act = f.activations;
    const lse = act.lse!;
    const dlogits = this.alloc(J * V, 'dlogits');
    const dgathered = this.alloc(J * D, 'dgathered');
    const dxn = this.alloc(R * D, 'dxn');
    const dx = [this.alloc(R * D, 'dx a'), this.alloc(R * D, 'dx b')];
    const dxMid = this.alloc(R * D, 'dx_mid');
    const xOutScratch = this.alloc(R * D, 'recomputed x_out');
    const dh = this.alloc(R * I, 'dh');
    const dGateUp = this.alloc(R * 2 * I, 'dgate_up');
    const dattn = this.alloc(R * H * hd, 'dattn');
    const dqkv = this.alloc(R * (H + 2 * KVH) * hd, 'dqkv');
    const delta = this.alloc(R * H, 'delta');
    const du = this.alloc(R * lora.r, 'du');
    const { offsets: gatherOffsets, sources } = gatherSources(layout.logitRows, R);
    const { offsets: readerOffsets, readers } = keyReaders(layout.segments, R);
    const gatherOffsetsBuf = this.alloc(gatherOffsets, 'gather offsets');
    const sourcesBuf = this.alloc(sources, 'gather sources');
    const readerOffsetsBuf = this.alloc(readerOffsets, 'reader offsets');
    const readersBuf = this.alloc(readers, 'readers');

    // Head: log-softmax gather, lm_head, gather, final norm.
    c.push(await logSoftmaxGatherBackwardCall(ctx, f.logits, f.targets, this.tokenGrads, dlogits, J, V));
    // The one product whose sum runs over a vocabulary: let it split that sum across workgroups.
    c.push(...(await linearInputGradCall(ctx, dlogits, f.model.lmHead, dgathered, J, false, { split: true })));
    c.push(await scatterAddRowsCall(ctx, dgathered, gatherOffsetsBuf, sourcesBuf, dxn, R, D, false));
    c.push(await rmsnormBackwardCall(ctx, { x: f.checkpoint(L), weight: f.model.finalNorm, dy: dxn, rstd: f.rstdFinal, dx: dx[L % 2] }, R, D, false));

    const adapterGrads = async (layer: number, fused: 'qkv' | 'o' | 'gate_up' | 'down', xn: GPUBuffer, dy: GPUBuffer, dIn: GPUBuffer) => {
      for (const m of lora.modules.filter((mm) => mm.layer === layer && mm.slice.fused === fused)) {
        c.push(...(await loraBackwardCalls(ctx, m, lora.r, lora.scale, xn, act.loraU.get(m.slice.target)!, dy, du, dIn, R, fusedWidth(shape, fused))));
      }
    };

    for (let l = L - 1; l >= 0; l--) {
      const layer = f.model.layers[l];
      const layerLora = { ...lora, modules: lora.modules.filter((m) => m.layer === l) };
      const dres = dx[(l + 1) % 2]; // dL/dx_{l+1}
      const dIn = dx[l % 2]; // dL/dx_l, written at the end of this layer
      // Recompute the layer from its checkpoint (its output is x_{l+1}, already kept: it goes to scratch).
      const recompute = await layerForwardCalls(ctx, shape, layer, layerLora, act, { xIn: f.checkpoint(l), xOut: xOutScratch }, f.layoutBuffers, R);
      if (l === L - 1) this.lastRecompute = { from: c.length, to: c.length + recompute.length };
      c.push(...recompute);
      // MLP.
      c.push(...(await linearInputGradCall(ctx, dres, layer.down, dh, R, false)));
      await adapterGrads(l, 'down', act.h, dres, dh);
      c.push(await siluMulBackwardCall(ctx, act.gateUp, dh, dGateUp, R, I));
      c.push(...(await linearInputGradCall(ctx, dGateUp, layer.gateUp, dxn, R, false)));
      await adapterGrads(l, 'gate_up', act.xn2, dGateUp, dxn);
      // dx_mid = dres (the residual branch) + rmsnorm_backward(dxn2).
      c.push(await copyCall(ctx, dres, dxMid, R * D));
      c.push(await rmsnormBackwardCall(ctx, { x: act.xMid, weight: layer.postNorm, dy: dxn, rstd: act.rstd2, dx: dxMid }, R, D, true));
      // Attention.
      c.push(...(await linearInputGradCall(ctx, dxMid, layer.o, dattn, R, false)));
      await adapterGrads(l, 'o', act.attn, dxMid, dattn);
      c.push(
        ...(await attentionBackwardCalls(
          ctx,
          { qkv: act.qkv, segments: f.layoutBuffers.segments, out: act.attn, dout: dattn, lse, delta, dqkv, readerOffsets: readerOffsetsBuf, readers: readersBuf },
          R,
          H,
          KVH,
          hd,
          { lseFromForward: true },
        )),
      );
      c.push(await ropeBackwardCall(ctx, dqkv, f.layoutBuffers.positions, f.layoutBuffers.cosSin, R, H, KVH, hd));
      c.push(...(await linearInputGradCall(ctx, dqkv, layer.qkv, dxn, R, false)));
      await adapterGrads(l, 'qkv', act.xn1, dqkv, dxn);
      // dx_l = dx_mid + rmsnorm_backward(dxn1).
      c.push(await copyCall(ctx, dxMid, dIn, R * D));
      c.push(await rmsnormBackwardCall(ctx, { x: f.checkpoint(l), weight: layer.inputNorm, dy: dxn, rstd: act.rstd1, dx: dIn }, R, D, true));
    }

  }

  /** The prepared kernel calls, in order (for tests and profiling). */
  get kernelCalls(): readonly KernelCall[] {
    return this.calls;
  }

  /**
   * Records the backward into one compute pass. Right after its forward, the activation scratch still holds
   * the last layer's values (the same kernels on the same inputs give the same bits), so that layer's
   * recomputation is skipped; a later run (the scratch now holds layer 0's) recomputes every layer.
   */
  encode(encoder: GPUCommandEncoder): void {
    const pass = encoder.beginComputePass({ label: 'lora backward' });
    const { from, to } = this.lastRecompute;
    if (this.forward.lastLayerActivationsValid) {
      encodeCalls(pass, this.calls.slice(0, from));
      encodeCalls(pass, this.calls.slice(to));
    } else encodeCalls(pass, this.calls);
    pass.end();
    this.forward.lastLayerActivationsValid = false;
  }

  /** Writes dL/d(token log-prob) and runs the backward; LoRA gradients accumulate on the GPU. */
  run(tokenGrads: Float32Array): void {
    if (tokenGrads.length !== this.forward.layout.logitRows.length) throw new Error(`backward: ${tokenGrads.length} token gradients for ${this.forward.layout.logitRows.length} scored tokens`);
    this.device.queue.writeBuffer(this.tokenGrads, 0, new Float32Array(tokenGrads));
    const encoder = this.device.createCommandEncoder();
    this.encode(encoder);
    this.device.queue.submit([encoder.finish()]);
  }

  dispose(): void {
    disposeCalls(this.calls);
    this.buffers.forEach((b) => b.destroy());
  }
}
