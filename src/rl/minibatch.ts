/**
 * The optimization phase of one PPO update as pure control flow: which samples each minibatch holds, when
 * gradients are zeroed, accumulated and applied, and when the KL early stop fires. A trainer drives it with
 * callbacks (compute a minibatch's gradients, apply an optimizer step, zero gradients); tests drive it with
 * fakes. Also: LR annealing and global gradient-norm clipping.
 *
 * TWOSOME (ppo_llm_pomdp.py L290-371), per epoch, with one shuffle shared by both phases:
 *   1. value phase: per value minibatch: zero, backward, clip, step;
 *   2. policy phase: zero; per policy minibatch: backward of loss / accumulation; every `accumulation`
 *      minibatches (a window): if the window's mean approx KL > target_kl, discard the gradients and stop
 *      all further updates of this batch (later epochs included); else clip, step, zero.
 * CleanRL ppo.py (PPO-MLP): one 'joint' phase, zero/backward/clip/step per minibatch; after each epoch, stop
 * if the last minibatch's approx KL > target_kl.
 */
import type { Rng } from '../util/rng';
import type { DerivedPpo, PpoConfig } from './config';

// ---------------------------------------------------------------------------------------------------------
// Minibatches

/** In-place Fisher-Yates shuffle (np.random.shuffle's role) driven by `rng`. */
export function shuffleInPlace(indices: Int32Array, rng: Rng): Int32Array {
  for (let i = indices.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = indices[i];
    indices[i] = indices[j];
    indices[j] = t;
  }
  return indices;
}

export function arange(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Consecutive slices of a permutation: minibatch m = perm[m*size, (m+1)*size). */
export function splitMinibatches(perm: Int32Array, numMinibatches: number): Int32Array[] {
  if (perm.length % numMinibatches !== 0) throw new RangeError(`${numMinibatches} minibatches do not divide ${perm.length} samples`);
  const size = perm.length / numMinibatches;
  return Array.from({ length: numMinibatches }, (_, m) => perm.slice(m * size, (m + 1) * size));
}

/** A fresh shuffled split of 0..batchSize-1. */
export function shuffledMinibatches(batchSize: number, numMinibatches: number, rng: Rng): Int32Array[] {
  return splitMinibatches(shuffleInPlace(arange(batchSize), rng), numMinibatches);
}

// ---------------------------------------------------------------------------------------------------------
// Learning rate and gradient clipping

/**
 * Linear annealing: lr * (1 - (update - 1 - warmUp) / numUpdates) for update = 1, 2, ... (1-based), after
 * `warmUpUpdates` critic-only updates that keep the base LR (as the original, which does not touch the LR then).
 */
export function annealedLr(baseLr: number, update: number, numUpdates: number, warmUpUpdates = 0): number {
  if (update <= warmUpUpdates) return baseLr;
  return baseLr * (1 - (update - 1 - warmUpUpdates) / numUpdates);
}

// ---------------------------------------------------------------------------------------------------------
// The update schedule

export type Phase = 'value' | 'policy' | 'joint';

export interface PhasePlan {
  phase: Phase;
  numMinibatches: number;
  /** Minibatches per optimizer step; each minibatch's loss is scaled by 1 / accumulationSteps. */
  accumulationSteps: number;
  /** 'window': TWOSOME's check at each accumulation boundary; 'epoch': CleanRL's after each epoch; 'none'. */
  klStop: 'none' | 'window' | 'epoch';
  targetKl: number | null;
}

export interface UpdatePlan {
  batchSize: number;
  updateEpochs: number;
  /** Run in this order within every epoch, over the epoch's one shuffle. */
  phases: PhasePlan[];
}

export type UpdateCommand =
  | { type: 'zeroGrad'; phase: Phase }
  /** Compute this minibatch's loss times `lossScale`, add its gradients; answer with its approx KL (policy/joint). */
  | { type: 'accumulate'; phase: Phase; epoch: number; minibatch: number; indices: Int32Array; lossScale: number }
  /** Clip the accumulated gradients and apply one optimizer step. */
  | { type: 'step'; phase: Phase; epoch: number }
  /** The KL early stop fired: the accumulated gradients were discarded (a zeroGrad follows) and the update ends. */
  | { type: 'klStop'; phase: Phase; epoch: number; approxKl: number };

export interface AccumulateResult {
  approxKl?: number;
}

export interface UpdateSummary {
  /** Optimizer steps per phase. */
  steps: Record<Phase, number>;
  /** Minibatches whose gradients were computed, per phase. */
  minibatches: Record<Phase, number>;
  klStopped: boolean;
  /** Epoch (0-based) in which the stop fired, or -1. */
  klStopEpoch: number;
  /** The KL that triggered the stop (window mean or last minibatch), or NaN. */
  klStopValue: number;
}

/**
 * The schedule as a generator: it yields commands and receives each 'accumulate' command's result through
 * `next(result)`. `runUpdate`/`runUpdateAsync` drive it with callbacks.
 */
export function* updateCommands(plan: UpdatePlan, rng: Rng): Generator<UpdateCommand, UpdateSummary, AccumulateResult | undefined> {
  const summary: UpdateSummary = {
    steps: { value: 0, policy: 0, joint: 0 },
    minibatches: { value: 0, policy: 0, joint: 0 },
    klStopped: false,
    klStopEpoch: -1,
    klStopValue: Number.NaN,
  };
  for (const p of plan.phases) {
    if (plan.batchSize % p.numMinibatches !== 0) throw new RangeError(`${p.phase}: ${p.numMinibatches} minibatches do not divide batch ${plan.batchSize}`);
    if (p.numMinibatches % p.accumulationSteps !== 0) throw new RangeError(`${p.phase}: accumulation ${p.accumulationSteps} does not divide ${p.numMinibatches} minibatches`);
  }
  const perm = arange(plan.batchSize);
  for (let epoch = 0; epoch < plan.updateEpochs; epoch++) {
    shuffleInPlace(perm, rng);
    for (const p of plan.phases) {
      const minibatches = splitMinibatches(perm, p.numMinibatches);
      const lossScale = 1 / p.accumulationSteps;
      const checkWindow = p.klStop === 'window' && p.targetKl !== null;
      let windowKl = 0;
      let lastKl = Number.NaN;
      yield { type: 'zeroGrad', phase: p.phase };
      for (let m = 0; m < minibatches.length; m++) {
        if (m % p.accumulationSteps === 0) windowKl = 0;
        const result = yield { type: 'accumulate', phase: p.phase, epoch, minibatch: m, indices: minibatches[m], lossScale };
        summary.minibatches[p.phase]++;
        lastKl = result?.approxKl ?? Number.NaN;
        windowKl += lastKl / p.accumulationSteps;
        if ((m + 1) % p.accumulationSteps !== 0) continue;
        if (checkWindow && windowKl > (p.targetKl as number)) {
          summary.klStopped = true;
          summary.klStopEpoch = epoch;
          summary.klStopValue = windowKl;
          yield { type: 'klStop', phase: p.phase, epoch, approxKl: windowKl };
          yield { type: 'zeroGrad', phase: p.phase };
          return summary;
        }
        yield { type: 'step', phase: p.phase, epoch };
        summary.steps[p.phase]++;
        yield { type: 'zeroGrad', phase: p.phase };
      }
      if (p.klStop === 'epoch' && p.targetKl !== null && lastKl > p.targetKl) {
        // CleanRL breaks after the epoch: this epoch's steps are kept.
        summary.klStopped = true;
        summary.klStopEpoch = epoch;
        summary.klStopValue = lastKl;
        yield { type: 'klStop', phase: p.phase, epoch, approxKl: lastKl };
        return summary;
      }
    }
  }
  return summary;
}

export interface UpdateHandlers {
  zeroGrad(phase: Phase): void;
  accumulate(phase: Phase, indices: Int32Array, lossScale: number, at: { epoch: number; minibatch: number }): AccumulateResult | void;
  step(phase: Phase, at: { epoch: number }): void;
  onKlStop?(phase: Phase, approxKl: number, epoch: number): void;
}

export interface AsyncUpdateHandlers {
  zeroGrad(phase: Phase): void | Promise<void>;
  accumulate(phase: Phase, indices: Int32Array, lossScale: number, at: { epoch: number; minibatch: number }): AccumulateResult | void | Promise<AccumulateResult | void>;
  step(phase: Phase, at: { epoch: number }): void | Promise<void>;
  onKlStop?(phase: Phase, approxKl: number, epoch: number): void | Promise<void>;
}

export function runUpdate(plan: UpdatePlan, rng: Rng, handlers: UpdateHandlers): UpdateSummary {
  const it = updateCommands(plan, rng);
  let reply: AccumulateResult | undefined;
  for (;;) {
    const next = it.next(reply);
    if (next.done) return next.value;
    reply = undefined;
    const c = next.value;
    if (c.type === 'zeroGrad') handlers.zeroGrad(c.phase);
    else if (c.type === 'accumulate') reply = handlers.accumulate(c.phase, c.indices, c.lossScale, { epoch: c.epoch, minibatch: c.minibatch }) ?? {};
    else if (c.type === 'step') handlers.step(c.phase, { epoch: c.epoch });
    else handlers.onKlStop?.(c.phase, c.approxKl, c.epoch);
  }
}

export async function runUpdateAsync(plan: UpdatePlan, rng: Rng, handlers: AsyncUpdateHandlers): Promise<UpdateSummary> {
  const it = updateCommands(plan, rng);
  let reply: AccumulateResult | undefined;
  for (;;) {
    const next = it.next(reply);
    if (next.done) return next.value;
    reply = undefined;
    const c = next.value;
    if (c.type === 'zeroGrad') await handlers.zeroGrad(c.phase);
    else if (c.type === 'accumulate') reply = (await handlers.accumulate(c.phase, c.indices, c.lossScale, { epoch: c.epoch, minibatch: c.minibatch })) ?? {};
    else if (c.type === 'step') await handlers.step(c.phase, { epoch: c.epoch });
    else await handlers.onKlStop?.(c.phase, c.approxKl, c.epoch);
  }
}

/** TWOSOME's plan: value minibatches then policy minibatches per epoch; critic only during warm-up. */
export function twosomeUpdatePlan(config: PpoConfig, derived: DerivedPpo, options: { warmUp?: boolean } = {}): UpdatePlan {
  const phases: PhasePlan[] = [{ phase: 'value', numMinibatches: config.valueNumMinibatches, accumulationSteps: 1, klStop: 'none', targetKl: null }];
  if (!options.warmUp) {
    phases.push({
      phase: 'policy',
      numMinibatches: config.policyNumMinibatches,
      accumulationSteps: config.gradientAccumulationSteps,
      klStop: 'window',
      targetKl: config.targetKl,
    });
  }
  return { batchSize: derived.batchSize, updateEpochs: config.updateEpochs, phases };
}

/** CleanRL ppo.py's plan: one joint loss per minibatch, epoch-level KL stop. */
export function cleanRlUpdatePlan(batchSize: number, numMinibatches: number, updateEpochs: number, targetKl: number | null): UpdatePlan {
  return { batchSize, updateEpochs, phases: [{ phase: 'joint', numMinibatches, accumulationSteps: 1, klStop: 'epoch', targetKl }] };
}
