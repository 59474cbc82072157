/**
 * A LoRA adapter on the GPU: A and B of every module (f32), their gradients, and the calls that add the
 * adapter into a fused projection's output and differentiate it (all through gemm_f32.wgsl).
 *
 *   forward   u = xn A^T                         [R, r]
 *             y[:, off:off+out] += s u B^T        (s = alpha / r; y is the fused projection's output)
 *   backward  dB += s dy_slice^T u               [out, r]
 *             du  = s dy_slice B                 [R, r]
 *             dA += du^T xn                      [r, in]
 *             dxn += du A                        [R, in]   (after the frozen weight's input gradient)
 * Gradients accumulate (+=) so micro-batches add up; the optimizer zeroes them after each step.
 */
import { createStorageBuffer } from '../../gpu/buffers';
import { readbackPool } from '../../gpu/readback';
import type { KernelCall, KernelContext } from '../../gpu/kernel';
import { gemmCall } from '../engine/kernels/gemm';
import type { LoraAdapter, LoraSlice } from './lora';

export interface GpuLoraModule {
  layer: number;
  slice: LoraSlice;
  a: GPUBuffer; // [r, in]
  b: GPUBuffer; // [out, r]
  gradA: GPUBuffer;
  gradB: GPUBuffer;
}

export interface GpuLora {
  r: number;
  scale: number;
  modules: GpuLoraModule[];
}

type Ctx = KernelContext;

export function uploadLora(device: GPUDevice, adapter: LoraAdapter): GpuLora {
  return {
    r: adapter.config.r,
    scale: adapter.scale,
    modules: adapter.modules.map((m) => ({
      layer: m.layer,
      slice: m.slice,
      a: createStorageBuffer(device, m.a, `lora ${m.layer} ${m.slice.target} A`),
      b: createStorageBuffer(device, m.b, `lora ${m.layer} ${m.slice.target} B`),
      gradA: createStorageBuffer(device, m.a.length * 4, `lora ${m.layer} ${m.slice.target} dA`),
      gradB: createStorageBuffer(device, m.b.length * 4, `lora ${m.layer} ${m.slice.target} dB`),
    })),
  };
}

/** The adapter's current values (A, B) or gradients, in module order, as host arrays. */
export async function readLora(
  device: GPUDevice,
  lora: GpuLora,
  what: 'weights' | 'grads',
): Promise<{ a: Float32Array; b: Float32Array }[]> {
  const regions = lora.modules.flatMap((m) => [
    { buffer: what === 'weights' ? m.a : m.gradA, count: lora.r * m.slice.inDim },
    { buffer: what === 'weights' ? m.b : m.gradB, count: m.slice.outDim * lora.r },
  ]);
  const words = await readbackPool(device).read(regions);
  return lora.modules.map((_, i) => ({ a: words[2 * i], b: words[2 * i + 1] }));
}

export function destroyLora(lora: GpuLora): void {
  for (const m of lora.modules) [m.a, m.b, m.gradA, m.gradB].forEach((b) => b.destroy());
}

/** One holder's use of a GpuLora: release() once when done (later calls do nothing). */
export interface LoraHandle {
  readonly lora: GpuLora;
  release(): void;
}

/**
 * A GpuLora with several holders on one device (the LoRA trainer that updates it, the playground's scorer that
 * scores with it), so the adapter is used in place, never copied between them; its buffers are destroyed when
 * the last holder releases it.
 */
export class SharedLora {
  private holders = 0;

  constructor(readonly lora: GpuLora) {}

  hold(): LoraHandle {
    this.holders++;
    let released = false;
    return {
      lora: this.lora,
      release: () => {
        if (released) return;
        released = true;
        if (--this.holders === 0) destroyLora(this.lora);
      },
    };
  }
}

/** A handle on a GpuLora nobody else holds (an upload of one's own): release() destroys it. */
export function ownLora(lora: GpuLora): LoraHandle {
  return new SharedLora(lora).hold();
}

/** u = xn A^T [R, r]: the adapter's first product (what its backward needs of the forward). */
export async function loraUCall(
  ctx: Ctx,
  m: GpuLoraModule,
  r: number,
  xn: GPUBuffer,
  u: GPUBuffer,
  rows: number,
): Promise<KernelCall> {
  const { inDim } = m.slice;
  return gemmCall(
    ctx,
    'lora u',
    { buffer: xn, ld: inDim },
    { buffer: m.a, ld: inDim, transpose: true },
    { buffer: u, ld: r },
    { m: rows, n: r, k: inDim },
  );
}

/**
 * The arguments loraForwardCalls and loraBackwardCalls both begin with: the module, the adapter's rank r and
 * scale s, the module's input xn [R, in] and u = xn A^T [R, r] (the forward writes u, the backward reads it).
 */
type LoraModuleArgs = [ctx: Ctx, m: GpuLoraModule, r: number, scale: number, xn: GPUBuffer, u: GPUBuffer];

/** Forward: u = xn A^T, then y[:, slice] += s u B^T. `fusedOut` is the row width of y. */
export async function loraForwardCalls(
  ...[ctx, m, r, scale, xn, u, y, rows, fusedOut]: [...LoraModuleArgs, y: GPUBuffer, rows: number, fusedOut: number]
): Promise<KernelCall[]> {
  const { outDim, rowOffset } = m.slice;
  return [
    await loraUCall(ctx, m, r, xn, u, rows),
    await gemmCall(
      ctx,
      'lora up',
      { buffer: u, ld: r },
      { buffer: m.b, ld: r, transpose: true },
      { buffer: y, ld: fusedOut, offset: rowOffset },
      { m: rows, n: outDim, k: r, alpha: scale, beta: 1 },
    ),
  ];
}

/**
 * Backward of loraForwardCalls given dy (the fused projection's output gradient, row width fusedOut):
 * accumulates dA and dB, and adds the adapter's input gradient into dxn (which must already hold the frozen
 * weight's input gradient). `du` is scratch [R, r].
 */
export async function loraBackwardCalls(
  ...[ctx, m, r, scale, xn, u, dy, du, dxn, rows, fusedOut]: [
    ...LoraModuleArgs,
    dy: GPUBuffer,
    du: GPUBuffer,
    dxn: GPUBuffer,
    rows: number,
    fusedOut: number,
  ]
): Promise<KernelCall[]> {
  const { inDim, outDim, rowOffset } = m.slice;
  return [
    await gemmCall(
      ctx,
      'lora dB',
      { buffer: dy, ld: fusedOut, offset: rowOffset, transpose: true },
      { buffer: u, ld: r },
      { buffer: m.gradB, ld: r },
      { m: outDim, n: r, k: rows, alpha: scale, beta: 1 },
    ),
    await gemmCall(
      ctx,
      'lora du',
      { buffer: dy, ld: fusedOut, offset: rowOffset },
      { buffer: m.b, ld: r },
      { buffer: du, ld: r },
      { m: rows, n: r, k: outDim, alpha: scale },
    ),
    await gemmCall(
      ctx,
      'lora dA',
      { buffer: du, ld: r, transpose: true },
      { buffer: xn, ld: inDim },
      { buffer: m.gradA, ld: inDim },
      { m: r, n: inDim, k: rows, beta: 1 },
    ),
    await gemmCall(
      ctx,
      'lora dx',
      { buffer: du, ld: r },
      { buffer: m.a, ld: inDim },
      { buffer: dxn, ld: inDim },
      { m: rows, n: inDim, k: r, beta: 1 },
    ),
  ];
}
