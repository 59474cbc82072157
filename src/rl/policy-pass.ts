/**
 * One policy pass's PPO losses: the samples of one or more minibatches of an accumulation window scored in one
 * forward, each minibatch with its own clipped loss (ppo-loss.ts policyLoss) over TWOSOME's action distribution
 * (policy.ts), divided by the accumulation count. Samples of the same (prompt, actions) point at one request,
 * whose score gradients are their sum (the backward is linear in dL/dS).
 *
 * `policyPassLoss` is the computation on the CPU from the pass's scores: the loss of the CPU and fake actors,
 * and the reference of the GPU actor's (policy-loss-gpu.ts, shaders/policy_loss.wgsl).
 */
import type { ActionScores } from '../llm/scores';
import { actionDistribution, scoreGradients, type Normalization } from './policy';
import { policyLoss, type PolicyLossOutput } from './ppo-loss';

/** One pass's loss inputs, per sample, minibatch after minibatch (TwosomeActor.accumulatePolicyLoss). */
export interface PolicyPassLoss {
  /** Per sample: its request's index in the pass's requests. */
  slots: Int32Array;
  /** Per sample: the action taken at rollout time, and its log-prob then. */
  actions: Int32Array;
  oldLogProbs: Float32Array;
  /** Per sample: the advantage, already normalized per minibatch where the config says so (normAdv). */
  advantages: Float64Array;
  /** Samples per minibatch, in order: each minibatch has its own loss (its own means). */
  minibatchSizes: readonly number[];
  normalization: Normalization;
  clipCoef: number;
  entCoef: number;
  /** Multiplies each loss and its gradients: 1 / gradient accumulation steps. */
  scale: number;
}

/** What is logged of one minibatch's policy loss (ppo-loss.ts PolicyLossOutput without its gradients). */
export type PolicyLossStats = Omit<PolicyLossOutput, 'dNewLogProbs' | 'dEntropies'>;

/** The pass's minibatch losses and dL/dS of every request's actions (summed over the samples that share it). */
export function policyPassLoss(
  scores: readonly ActionScores[],
  loss: PolicyPassLoss,
): { losses: PolicyLossOutput[]; grads: Float64Array[] } {
  const grads = scores.map((s) => new Float64Array(s.logprobs.length));
  const losses: PolicyLossOutput[] = [];
  let offset = 0;
  for (const n of loss.minibatchSizes) {
    const samples = Array.from({ length: n }, (_, i) => offset + i);
    const dists = samples.map((s) => actionDistribution(scores[loss.slots[s]], loss.normalization));
    const out = policyLoss({
      newLogProbs: dists.map((dist, i) => dist.logProbs[loss.actions[samples[i]]]),
      oldLogProbs: loss.oldLogProbs.subarray(offset, offset + n),
      advantages: loss.advantages.subarray(offset, offset + n),
      entropies: dists.map((dist) => dist.entropy),
      clipCoef: loss.clipCoef,
      entCoef: loss.entCoef,
      normAdv: false, // already normalized per minibatch
      scale: loss.scale,
    });
    losses.push(out);
    dists.forEach((dist, i) => {
      const s = samples[i];
      const g = scoreGradients(dist, loss.actions[s], out.dNewLogProbs[i], out.dEntropies[i]);
      const into = grads[loss.slots[s]];
      for (let k = 0; k < g.length; k++) into[k] += g[k];
    });
    offset += n;
  }
  return { losses, grads };
}
