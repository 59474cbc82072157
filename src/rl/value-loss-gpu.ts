/**
 * PPO's clipped value loss and its gradient on the GPU (shaders/value_loss.wgsl): from the critic's values, the
 * rollout's values and the returns, dL/dv into the critic backward's input and the logged loss, between the
 * critic's forward and backward in one submission (twosome-gpu.ts GpuTwosomeCritic.accumulateValueLoss), so
 * that a value minibatch needs no round trip. Reference: ppo-loss.ts valueLoss.
 */
import { entryCall, type KernelCall, type KernelContext } from '../gpu/kernel';
import type { ValueLossInput } from './ppo-loss';

/** Words of the loss buffer. */
export const VALUE_LOSS_WORDS = 1;

export async function valueLossCall(
  ctx: KernelContext,
  b: { values: GPUBuffer; targets: GPUBuffer; dvalues: GPUBuffer; loss: GPUBuffer },
  count: number,
  settings: Pick<ValueLossInput, 'clipCoef' | 'clipVloss' | 'vfCoef'> & { scale: number },
): Promise<KernelCall> {
  return entryCall(ctx, 'value_loss.wgsl', 'value_loss', {
    label: 'value_loss',
    params: {
      count,
      clip_coef: settings.clipCoef,
      clip_vloss: settings.clipVloss ? 1 : 0,
      k: (settings.vfCoef * settings.scale * 0.5) / count,
    },
    buffers: b,
    workgroups: [1],
  });
}

/** The targets buffer's words: (old value, return) per row. */
export function valueLossTargets(oldValues: ArrayLike<number>, returns: ArrayLike<number>): Float32Array<ArrayBuffer> {
  const t = new Float32Array(2 * oldValues.length);
  for (let i = 0; i < oldValues.length; i++) {
    t[2 * i] = oldValues[i];
    t[2 * i + 1] = returns[i];
  }
  return t;
}
