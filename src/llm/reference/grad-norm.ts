/**
 * CPU reference of the global gradient norm and its clipping (llm/train/grad-norm.ts on the GPU), as
 * torch.nn.utils.clip_grad_norm_: float64 sums over every gradient array together. The CPU optimizers of
 * src/rl (PPO-MLP, the CPU critic) clip with it too.
 */

/** L2 norm over all gradient arrays together. */
export function globalGradNorm(grads: readonly Float32Array[]): number {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  return Math.sqrt(ss);
}

/**
 * torch.nn.utils.clip_grad_norm_: scales every gradient by min(1, maxNorm / (norm + 1e-6)); returns the norm
 * before clipping.
 */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  const norm = globalGradNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}
