/**
 * PPO losses for one minibatch, their diagnostics, and their analytic gradients w.r.t. what the model produces
 * per sample (new log-prob, entropy, new value), which is what an engine's backward pass consumes.
 *
 * Policy (twosome.md 2.2; cleanRL ppo.py):
 *   ratio   = exp(newLogp - oldLogp)
 *   A       = (A - mean A) / (std A + 1e-8)          per minibatch, std unbiased (torch.std)
 *   pgLoss  = mean(max(-A * ratio, -A * clip(ratio, 1 - c, 1 + c)))
 *   loss    = (pgLoss - entCoef * mean(entropy)) * scale      (TWOSOME: scale = 1 / accumulation steps)
 * Value (clipped around the rollout's value):
 *   vLoss   = 0.5 * mean(max((V - R)^2, (Vold + clip(V - Vold, -c, c) - R)^2))
 *   loss    = vLoss * vfCoef * scale
 * The gradients follow torch's autograd exactly: `max` of two equal tensors sends half the gradient to each,
 * `clamp` passes the gradient where min <= x <= max (inclusive).
 */

/** CleanRL's advantage normalization. One sample has no spread: it becomes 0 (torch would give NaN). */
export function normalizeAdvantages(advantages: ArrayLike<number>): Float64Array {
  const n = advantages.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += advantages[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (advantages[i] - mean) ** 2;
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  for (let i = 0; i < n; i++) out[i] = (advantages[i] - mean) / (std + 1e-8);
  return out;
}

/** torch.maximum's backward: the larger input gets the gradient, ties split it in half. */
function maxWeights(a: number, b: number): [number, number] {
  return a > b ? [1, 0] : a < b ? [0, 1] : [0.5, 0.5];
}

export interface PolicyLossInput {
  newLogProbs: ArrayLike<number>;
  oldLogProbs: ArrayLike<number>;
  advantages: ArrayLike<number>;
  entropies: ArrayLike<number>;
  clipCoef: number;
  entCoef: number;
  normAdv: boolean;
  /** Multiplies the loss and its gradients (1 / gradient accumulation steps in TWOSOME). Default 1. */
  scale?: number;
}

export interface PolicyLossOutput {
  /** (pgLoss - entCoef * entropy) * scale: what is backpropagated. */
  loss: number;
  pgLoss: number;
  /** Mean entropy of the minibatch. */
  entropy: number;
  /** mean((ratio - 1) - log ratio) (http://joschu.net/blog/kl-approx.html). */
  approxKl: number;
  /** mean(-log ratio). */
  oldApproxKl: number;
  /** Fraction of samples with |ratio - 1| > clipCoef. */
  clipFrac: number;
  /** d loss / d newLogProbs[i]. */
  dNewLogProbs: Float64Array;
  /** d loss / d entropies[i]. */
  dEntropies: Float64Array;
}

/** The entries per array, one per sample, which every array must have (the first named is the reference). */
function minibatchSize(arrays: Record<string, ArrayLike<number>>): number {
  const [[first, { length: n }], ...rest] = Object.entries(arrays);
  if (n === 0) throw new RangeError('empty minibatch');
  for (const [name, arr] of rest) {
    if (arr.length !== n) throw new RangeError(`${name} has ${arr.length} entries, ${first} ${n}`);
  }
  return n;
}

export function policyLoss(input: PolicyLossInput): PolicyLossOutput {
  const { newLogProbs, oldLogProbs, entropies, clipCoef, entCoef } = input;
  const scale = input.scale ?? 1;
  const n = minibatchSize({ newLogProbs, oldLogProbs, advantages: input.advantages, entropies });
  const adv = input.normAdv ? normalizeAdvantages(input.advantages) : Float64Array.from(input.advantages);
  const lo = 1 - clipCoef;
  const hi = 1 + clipCoef;
  const dNewLogProbs = new Float64Array(n);
  const dEntropies = new Float64Array(n);
  let pg = 0;
  let ent = 0;
  let kl = 0;
  let oldKl = 0;
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    const logRatio = newLogProbs[i] - oldLogProbs[i];
    const ratio = Math.exp(logRatio);
    const a = adv[i];
    const clippedRatio = Math.min(Math.max(ratio, lo), hi);
    const l1 = -a * ratio;
    const l2 = -a * clippedRatio;
    pg += Math.max(l1, l2);
    ent += entropies[i];
    kl += ratio - 1 - logRatio;
    oldKl += -logRatio;
    if (Math.abs(ratio - 1) > clipCoef) clipped++;
    const [w1, w2] = maxWeights(l1, l2);
    const inRange = ratio >= lo && ratio <= hi ? 1 : 0;
    // d ratio / d newLogp = ratio.
    const dRatio = -a * (w1 + w2 * inRange);
    dNewLogProbs[i] = dRatio === 0 ? 0 : (scale / n) * dRatio * ratio;
    dEntropies[i] = (-entCoef * scale) / n;
  }
  const pgLoss = pg / n;
  const entropy = ent / n;
  return {
    loss: (pgLoss - entCoef * entropy) * scale,
    pgLoss,
    entropy,
    approxKl: kl / n,
    oldApproxKl: oldKl / n,
    clipFrac: clipped / n,
    dNewLogProbs,
    dEntropies,
  };
}

export interface ValueLossInput {
  newValues: ArrayLike<number>;
  /** Values stored at rollout time (the clipping center). */
  oldValues: ArrayLike<number>;
  returns: ArrayLike<number>;
  clipCoef: number;
  clipVloss: boolean;
  vfCoef: number;
  scale?: number;
}

export interface ValueLossOutput {
  /** vLoss * vfCoef * scale: what is backpropagated. */
  loss: number;
  /** 0.5 * mean(max(unclipped^2, clipped^2)) (or 0.5 * mean(unclipped^2) without clipping): the logged value loss. */
  vLoss: number;
  /** d loss / d newValues[i]. */
  dNewValues: Float64Array;
}

export function valueLoss(input: ValueLossInput): ValueLossOutput {
  const { newValues, oldValues, returns, clipCoef, vfCoef } = input;
  const scale = input.scale ?? 1;
  const n = minibatchSize({ newValues, oldValues, returns });
  const dNewValues = new Float64Array(n);
  const k = (vfCoef * scale * 0.5) / n;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = newValues[i];
    const r = returns[i];
    const unclipped = (v - r) ** 2;
    if (!input.clipVloss) {
      sum += unclipped;
      dNewValues[i] = k * 2 * (v - r);
      continue;
    }
    const diff = v - oldValues[i];
    const vClipped = oldValues[i] + Math.min(Math.max(diff, -clipCoef), clipCoef);
    const clipped = (vClipped - r) ** 2;
    sum += Math.max(unclipped, clipped);
    const [w1, w2] = maxWeights(unclipped, clipped);
    const inRange = diff >= -clipCoef && diff <= clipCoef ? 1 : 0;
    const dV = w1 * 2 * (v - r) + w2 * inRange * 2 * (vClipped - r);
    dNewValues[i] = dV === 0 ? 0 : k * dV;
  }
  const vLoss = (0.5 * sum) / n;
  return { loss: vLoss * vfCoef * scale, vLoss, dNewValues };
}
