/**
 * TWOSOME's critic on the GPU (spec 2.1): an MLP on the final-norm hidden state of each prompt's last token
 * (computed with LoRA off), float32, no biases:
 *
 *   z1 = x W1^T, a1 = relu(z1)      [P, h1]        backward from dv [P]:
 *   z2 = a1 W2^T, a2 = relu(z2)     [P, h2]          dW3 += dv^T a2,  da2 = dv W3,  dz2 = da2 [a2 > 0]
 *   v  = a2 W3^T                    [P, 1]           dW2 += dz2^T a1, da1 = dz2 W2, dz1 = da1 [a1 > 0]
 *                                                    dW1 += dz1^T x
 * Any number of hidden layers (sizes[0] = hidden, sizes[last] = 1). Gradients accumulate; the optimizer
 * (optimizer.ts) zeroes them after each step.
 */
import { createStorageBuffer } from '../../gpu/buffers';
import { disposeCalls, encodeCalls, type KernelCall } from '../../gpu/kernel';
import type { PipelineCache } from '../../gpu/pipelines';
import { readbackPool } from '../../gpu/readback';
import { gemmCall } from '../engine/kernels/gemm';
import { reluBackwardCall, reluForwardCall } from '../engine/kernels/relu';
import type { ParamGrad } from './optimizer';

export interface CriticWeights {
  /** [in, h1, ..., 1] */
  sizes: number[];
  /** W_l [sizes[l+1], sizes[l]] row-major. */
  weights: Float32Array[];
}

type Ctx = { device: GPUDevice; pipelines: PipelineCache };

export class GpuCritic {
  readonly weights: GPUBuffer[];
  readonly grads: GPUBuffer[];

  constructor(
    private readonly device: GPUDevice,
    readonly pipelines: PipelineCache,
    readonly sizes: number[],
    initial: Float32Array[],
  ) {
    this.weights = initial.map((w, l) => createStorageBuffer(device, w, `critic W${l + 1}`));
    this.grads = initial.map((w, l) => createStorageBuffer(device, w.length * 4, `critic dW${l + 1}`));
  }

  static create(device: GPUDevice, pipelines: PipelineCache, critic: CriticWeights): GpuCritic {
    return new GpuCritic(device, pipelines, critic.sizes, critic.weights);
  }

  /** Parameters and gradients for the optimizer. */
  paramGrads(): ParamGrad[] {
    return this.weights.map((param, l) => ({ param, grad: this.grads[l], count: this.sizes[l] * this.sizes[l + 1] }));
  }

  /** A forward (and optionally backward) plan for a batch of P feature rows in `features` [P, in]. */
  async plan(features: GPUBuffer, batch: number): Promise<CriticPass> {
    return CriticPass.build({ device: this.device, pipelines: this.pipelines }, this, features, batch);
  }

  async readWeights(): Promise<Float32Array[]> {
    return readbackPool(this.device).read(
      this.weights.map((buffer, l) => ({ buffer, count: this.sizes[l] * this.sizes[l + 1] })),
    );
  }

  async readGrads(): Promise<Float32Array[]> {
    return readbackPool(this.device).read(
      this.grads.map((buffer, l) => ({ buffer, count: this.sizes[l] * this.sizes[l + 1] })),
    );
  }

  dispose(): void {
    [...this.weights, ...this.grads].forEach((b) => b.destroy());
  }
}

export class CriticPass {
  private readonly forwardCalls: KernelCall[] = [];
  private readonly backwardCalls: KernelCall[] = [];
  private readonly buffers: GPUBuffer[] = [];
  /** [P] values, and dL/dv [P] written by the trainer before backward(). */
  values!: GPUBuffer;
  valueGrads!: GPUBuffer;

  private constructor(
    private readonly ctx: Ctx,
    readonly critic: GpuCritic,
    readonly batch: number,
  ) {}

  static async build(ctx: Ctx, critic: GpuCritic, features: GPUBuffer, batch: number): Promise<CriticPass> {
    const pass = new CriticPass(ctx, critic, batch);
    await pass.prepare(features);
    return pass;
  }

  private async prepare(features: GPUBuffer): Promise<void> {
    const { ctx, critic, batch: P } = this;
    const sizes = critic.sizes;
    const L = sizes.length - 1;
    const alloc = (n: number, label: string) => {
      const b = createStorageBuffer(ctx.device, n * 4, label);
      this.buffers.push(b);
      return b;
    };
    // acts[0] = features; acts[l] = output of layer l (relu'd for hidden layers); acts[L] = values.
    const acts = [features, ...sizes.slice(1).map((n, l) => alloc(P * n, `critic a${l + 1}`))];
    this.values = acts[L];
    for (let l = 0; l < L; l++) {
      const [inD, outD] = [sizes[l], sizes[l + 1]];
      this.forwardCalls.push(
        await gemmCall(
          ctx,
          `critic z${l + 1}`,
          { buffer: acts[l], ld: inD },
          { buffer: critic.weights[l], ld: inD, transpose: true },
          { buffer: acts[l + 1], ld: outD },
          { m: P, n: outD, k: inD },
        ),
      );
      if (l < L - 1) this.forwardCalls.push(await reluForwardCall(ctx, acts[l + 1], P * outD));
    }
    // Backward: dz for the last layer is dv; walk down.
    this.valueGrads = alloc(P, 'critic dv');
    let dz = this.valueGrads;
    for (let l = L - 1; l >= 0; l--) {
      const [inD, outD] = [sizes[l], sizes[l + 1]];
      this.backwardCalls.push(
        await gemmCall(
          ctx,
          `critic dW${l + 1}`,
          { buffer: dz, ld: outD, transpose: true },
          { buffer: acts[l], ld: inD },
          { buffer: critic.grads[l], ld: inD },
          { m: outD, n: inD, k: P, beta: 1 },
        ),
      );
      if (l === 0) break;
      const da = alloc(P * inD, `critic da${l}`);
      this.backwardCalls.push(
        await gemmCall(
          ctx,
          `critic da${l}`,
          { buffer: dz, ld: outD },
          { buffer: critic.weights[l], ld: inD },
          { buffer: da, ld: inD },
          { m: P, n: inD, k: outD },
        ),
      );
      this.backwardCalls.push(await reluBackwardCall(ctx, da, acts[l], P * inD));
      dz = da;
    }
  }

  private encode(encoder: GPUCommandEncoder, calls: KernelCall[]): void {
    const pass = encoder.beginComputePass({ label: 'critic' });
    encodeCalls(pass, calls);
    pass.end();
  }

  /** Records the forward over the features buffer (as it is when the encoder runs) into `encoder`. */
  encodeForward(encoder: GPUCommandEncoder): void {
    this.encode(encoder, this.forwardCalls);
  }

  /** Records a copy of the values; read() after `encoder` is submitted. */
  stageValues(encoder: GPUCommandEncoder): { read(): Promise<Float32Array> } {
    const staged = readbackPool(this.ctx.device).stage(encoder, [{ buffer: this.values, count: this.batch }]);
    return { read: async () => (await staged.read())[0] };
  }

  /** Values of the batch's feature rows: one submission, one wait. */
  async forward(): Promise<Float32Array> {
    const encoder = this.ctx.device.createCommandEncoder();
    this.encodeForward(encoder);
    const values = this.stageValues(encoder);
    this.ctx.device.queue.submit([encoder.finish()]);
    return values.read();
  }

  /** Records the backward from valueGrads (as it is when the encoder runs: e.g. written by a loss kernel). */
  encodeBackward(encoder: GPUCommandEncoder): void {
    this.encode(encoder, this.backwardCalls);
  }

  /** Accumulates the critic's gradients for dL/dv (after forward() on the same features); no wait. */
  backward(valueGrads: Float32Array): void {
    this.ctx.device.queue.writeBuffer(this.valueGrads, 0, new Float32Array(valueGrads));
    const encoder = this.ctx.device.createCommandEncoder();
    this.encode(encoder, this.backwardCalls);
    this.ctx.device.queue.submit([encoder.finish()]);
  }

  dispose(): void {
    disposeCalls([...this.forwardCalls, ...this.backwardCalls]);
    this.buffers.forEach((b) => b.destroy());
  }
}
