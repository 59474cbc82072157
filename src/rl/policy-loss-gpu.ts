/**
 * PPO's clipped policy loss over TWOSOME's action distributions, and its gradient, on the GPU
 * (shaders/policy_loss.wgsl): from one policy pass's token log-probs, dL/d(token log-prob) into the LoRA
 * backward's input and each minibatch's logged figures, between the forward and the backward in one submission
 * (LoraTrainer.accumulateGpuLoss, twosome-gpu.ts GpuTwosomeActor.accumulatePolicyLoss), so that a policy pass
 * needs no round trip. Everything that does not depend on the forward is laid out here on the CPU: the action
 * table with each action's normalization divisor (rl/policy.ts normalizationDivisors: every normalization is a
 * divisor), the samples with their advantages already normalized per minibatch. Reference: rl/policy.ts
 * actionDistribution and scoreGradients, rl/ppo-loss.ts policyLoss.
 */
import { createStorageBuffer } from '../gpu/buffers';
import { disposeCalls, encodeCalls, entryCall, type KernelCall, type KernelContext } from '../gpu/kernel';
import { readbackPool, type StagedRead } from '../gpu/readback';
import type { ScoringBatch } from '../llm/scores';
import { batchTokenRanges, type GpuTokenLoss } from '../llm/train/lora-trainer';
import { normalizationDivisors } from './policy';
import type { PolicyLossStats, PolicyPassLoss } from './policy-pass';

/** Words per minibatch of the stats buffer: loss, pgLoss, entropy, approxKl, oldApproxKl, clipFrac. */
export const POLICY_LOSS_STATS = 6;

/** Sizes of one pass's loss: what its buffers must hold. */
export interface PolicyLossSizes {
  requests: number;
  actions: number;
  tokens: number;
  samples: number;
  minibatches: number;
}

/**
 * The room the GPU actor makes for a pass of `samples` samples when its observations offer at most `actions`
 * actions of at most `actionTokens` tokens (every sample its own request: the most a pass can have). The memory
 * plan (llm/engine/memory-plan.ts, policy loss terms) sizes the buffers by the same rule.
 */
export function policyLossRoom(samples: number, largest: { actions: number; actionTokens: number }): PolicyLossSizes {
  const { actions, actionTokens } = largest;
  return {
    requests: samples,
    actions: samples * actions,
    tokens: samples * actions * actionTokens,
    samples,
    minibatches: samples,
  };
}

/** The words of the loss's input buffers for one pass (struct layouts as in the shader). */
export interface PolicyLossTables {
  sizes: PolicyLossSizes;
  /** [R, 2] u32: first action, actions. */
  requests: Uint32Array<ArrayBuffer>;
  /** [A, 3]: first token (u32), tokens (u32), divisor (f32). */
  actions: ArrayBuffer;
  /** [N, 4]: request (u32), action (u32), old log-prob (f32), advantage (f32). */
  samples: ArrayBuffer;
  /** [M, 2] u32: first sample, samples. */
  minibatches: Uint32Array<ArrayBuffer>;
}

/** Lays out one pass's loss inputs, checking that every sample points at a request and an action it has. */
export function policyLossTables(batch: ScoringBatch, loss: PolicyPassLoss): PolicyLossTables {
  const ranges = batchTokenRanges(batch);
  const A = batch.reduce((sum, r) => sum + r.actionTokens.length, 0);
  const N = loss.slots.length;
  const M = loss.minibatchSizes.length;
  for (const [name, arr] of [
    ['actions', loss.actions],
    ['oldLogProbs', loss.oldLogProbs],
    ['advantages', loss.advantages],
  ] as const)
    if (arr.length !== N) throw new RangeError(`policy loss: ${arr.length} ${name} for ${N} samples`);
  if (loss.minibatchSizes.some((n) => !(Number.isInteger(n) && n > 0)))
    throw new RangeError(`policy loss: minibatch sizes ${loss.minibatchSizes.join(', ')} (each must be positive)`);
  if (loss.minibatchSizes.reduce((a, b) => a + b, 0) !== N)
    throw new RangeError(`policy loss: minibatches of ${loss.minibatchSizes.join(' + ')} samples, but ${N} samples`);

  const requests = new Uint32Array(2 * batch.length);
  const actions = new ArrayBuffer(12 * A);
  const actionWords = new Uint32Array(actions);
  const actionDivisors = new Float32Array(actions);
  let a = 0;
  batch.forEach((r, p) => {
    requests.set([a, r.actionTokens.length], 2 * p);
    const nTokens = r.actionTokens.map((t) => t.length);
    const divisors = normalizationDivisors({ logprobs: nTokens, nTokens, nWords: r.actionWords }, loss.normalization);
    ranges[p].forEach(({ first, count }, k) => {
      actionWords[3 * a] = first;
      actionWords[3 * a + 1] = count;
      actionDivisors[3 * a + 2] = divisors[k];
      a++;
    });
  });
  const samples = new ArrayBuffer(16 * N);
  const sampleWords = new Uint32Array(samples);
  const sampleValues = new Float32Array(samples);
  for (let s = 0; s < N; s++) {
    const slot = loss.slots[s];
    const action = loss.actions[s];
    if (!(slot >= 0 && slot < batch.length))
      throw new RangeError(`policy loss: sample ${s} points at request ${slot} of ${batch.length}`);
    if (!(action >= 0 && action < batch[slot].actionTokens.length))
      throw new RangeError(
        `policy loss: sample ${s} took action ${action}, its request offers ${requests[2 * slot + 1]}`,
      );
    sampleWords[4 * s] = slot;
    sampleWords[4 * s + 1] = action;
    sampleValues[4 * s + 2] = loss.oldLogProbs[s];
    sampleValues[4 * s + 3] = loss.advantages[s];
  }
  const minibatches = new Uint32Array(2 * M);
  let first = 0;
  loss.minibatchSizes.forEach((n, m) => {
    minibatches.set([first, n], 2 * m);
    first += n;
  });
  const tokens = ranges.flat().reduce((sum, r) => sum + r.count, 0);
  return {
    sizes: { requests: batch.length, actions: A, tokens, samples: N, minibatches: M },
    requests,
    actions,
    samples,
    minibatches,
  };
}

/** The stats buffer's words as one entry per minibatch. */
export function policyLossStats(words: Float32Array, minibatches: number): PolicyLossStats[] {
  return Array.from({ length: minibatches }, (_, m) => {
    const [loss, pgLoss, entropy, approxKl, oldApproxKl, clipFrac] = words.subarray(
      POLICY_LOSS_STATS * m,
      POLICY_LOSS_STATS * (m + 1),
    );
    return { loss, pgLoss, entropy, approxKl, oldApproxKl, clipFrac };
  });
}

type Buffers = Record<
  'sizes' | 'requests' | 'actions' | 'samples' | 'minibatches' | 'logprobs' | 'grads' | 'stats',
  GPUBuffer
>;

/** One pass's loss, ready to record (LoraTrainer.accumulateGpuLoss); read() after the submission. */
export interface PolicyLossPass extends GpuTokenLoss {
  read(): Promise<PolicyLossStats[]>;
}

/**
 * The policy loss's buffers and calls on one device, reused by every pass: made for the largest pass seen (and
 * the room the caller asks for), rounded up to powers of two, so a run makes them a few times at its start.
 */
export class GpuPolicyLoss {
  private capacity: PolicyLossSizes = { requests: 0, actions: 0, tokens: 0, samples: 0, minibatches: 0 };
  private buffers: Buffers | null = null;
  /** Per settings (clip, entropy coefficient, scale): the forward and backward calls on `buffers`. */
  private readonly calls = new Map<string, { forward: KernelCall; backward: KernelCall }>();

  constructor(private readonly ctx: KernelContext) {}

  /** The buffers for passes up to `sizes`, made again (with their calls) when a pass outgrows them. */
  private buffersFor(sizes: PolicyLossSizes): Buffers {
    const c = this.capacity;
    const fits = (Object.keys(c) as (keyof PolicyLossSizes)[]).every((k) => sizes[k] <= c[k]);
    if (this.buffers && fits) return this.buffers;
    for (const k of Object.keys(c) as (keyof PolicyLossSizes)[])
      c[k] = Math.max(c[k], 2 ** Math.ceil(Math.log2(Math.max(1, sizes[k]))));
    this.release();
    const make = (words: number, what: string) =>
      createStorageBuffer(this.ctx.device, 4 * words, `policy loss ${what}`);
    this.buffers = {
      sizes: make(2, 'sizes'),
      requests: make(2 * c.requests, `requests [${c.requests}]`),
      actions: make(3 * c.actions, `actions [${c.actions}]`),
      samples: make(4 * c.samples, `samples [${c.samples}]`),
      minibatches: make(2 * c.minibatches, `minibatches [${c.minibatches}]`),
      logprobs: make(c.tokens, `token log-probs [${c.tokens}]`),
      grads: make(c.tokens, `dL/dlogprob [${c.tokens}]`),
      stats: make(POLICY_LOSS_STATS * c.minibatches, `stats [${c.minibatches}, ${POLICY_LOSS_STATS}]`),
    };
    return this.buffers;
  }

  private async callsFor(b: Buffers, loss: PolicyPassLoss): Promise<{ forward: KernelCall; backward: KernelCall }> {
    const params = { clip_coef: loss.clipCoef, ent_coef: loss.entCoef, scale: loss.scale };
    const key = JSON.stringify(params);
    let calls = this.calls.get(key);
    if (!calls) {
      const { sizes, requests, actions, samples, minibatches, logprobs } = b;
      const inputs = { sizes, requests, actions, samples, minibatches, logprobs };
      const spec = (label: string, buffers: Record<string, GPUBuffer>) => ({
        label,
        params,
        buffers,
        workgroups: [1] as [number],
      });
      calls = {
        forward: await entryCall(
          this.ctx,
          'policy_loss.wgsl',
          'policy_loss',
          spec('policy_loss', {
            ...inputs,
            stats: b.stats,
          }),
        ),
        backward: await entryCall(
          this.ctx,
          'policy_loss.wgsl',
          'policy_loss_backward',
          spec('policy_loss_backward', {
            ...inputs,
            grads: b.grads,
          }),
        ),
      };
      this.calls.set(key, calls);
    }
    return calls;
  }

  /**
   * One pass's loss over `batch` (the pass's tokenized requests): its inputs written (queue writes, which land
   * before the submission that runs it), its calls ready. `room` asks for buffers at least that large.
   */
  async prepare(batch: ScoringBatch, loss: PolicyPassLoss, room?: Partial<PolicyLossSizes>): Promise<PolicyLossPass> {
    const tables = policyLossTables(batch, loss);
    const { sizes } = tables;
    const b = this.buffersFor({ ...sizes, ...maxSizes(sizes, room) });
    const { forward, backward } = await this.callsFor(b, loss);
    const { queue } = this.ctx.device;
    queue.writeBuffer(b.sizes, 0, Uint32Array.of(sizes.requests, sizes.minibatches));
    queue.writeBuffer(b.requests, 0, tables.requests);
    queue.writeBuffer(b.actions, 0, tables.actions);
    queue.writeBuffer(b.samples, 0, tables.samples);
    queue.writeBuffer(b.minibatches, 0, tables.minibatches);
    let staged: StagedRead | null = null;
    return {
      tokenLogprobs: b.logprobs,
      tokenGrads: b.grads,
      encode: (encoder) => {
        const pass = encoder.beginComputePass({ label: 'policy loss' });
        encodeCalls(pass, [forward, backward]);
        pass.end();
        const count = POLICY_LOSS_STATS * sizes.minibatches;
        staged = readbackPool(this.ctx.device).stage(encoder, [{ buffer: b.stats, count }]);
      },
      read: async () => {
        if (!staged) throw new Error('policy loss: read() before the pass was recorded');
        const [words] = await staged.read();
        return policyLossStats(words, sizes.minibatches);
      },
    };
  }

  private release(): void {
    for (const { forward, backward } of this.calls.values()) disposeCalls([forward, backward]);
    this.calls.clear();
    if (this.buffers) for (const buffer of Object.values(this.buffers)) buffer.destroy();
    this.buffers = null;
  }

  dispose(): void {
    this.release();
  }
}

/** Each size the larger of the pass's and the room asked for. */
function maxSizes(sizes: PolicyLossSizes, room: Partial<PolicyLossSizes> = {}): PolicyLossSizes {
  const out = { ...sizes };
  for (const k of Object.keys(out) as (keyof PolicyLossSizes)[]) out[k] = Math.max(out[k], room[k] ?? 0);
  return out;
}
