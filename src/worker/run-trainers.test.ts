/**
 * TWOSOME in the worker's one GPU queue: every actor and critic call is a job of its own, so a scoring request
 * of the playground made during an update runs between two of the trainer's calls (not after the update), and
 * the run's numbers are the same as without it.
 */
import { describe, expect, it } from 'vitest';
import { presetConfig } from '../rl/config';
import { FakeTwosomeActor } from '../rl/twosome-fake';
import { CpuCritic, type TwosomeActor, type TwosomeCritic } from '../rl/twosome-model';
import { twosomeSeeds } from '../rl/twosome-trainer';
import { Rng } from '../util/rng';
import { queuedModels, TwosomeRunTrainer, type Exclusive } from './run-trainers';
import type { TrainMetrics } from './training-protocol';

const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5 };

/**
 * A FIFO queue like the AgentHost's, counting the jobs it ran; each job ends a macrotask later, as a GPU call
 * ends when the device answers (so messages, such as a scoring request, arrive in between).
 */
function fifo(): { exclusive: Exclusive; jobs: () => number } {
  let tail: Promise<unknown> = Promise.resolve();
  let jobs = 0;
  const exclusive: Exclusive = (work) => {
    const run = tail.then(async () => {
      jobs++;
      const out = await work();
      await new Promise((r) => setTimeout(r, 0));
      return out;
    });
    tail = run.catch(() => {});
    return run;
  };
  return { exclusive, jobs: () => jobs };
}

async function trainer(exclusive: Exclusive): Promise<TwosomeRunTrainer> {
  const config = presetConfig('twosome', 'tomato-salad', 'quick', { seed: 3, steps: 128 });
  const seeds = twosomeSeeds(config.seed);
  const actor = new FakeTwosomeActor();
  const critic = CpuCritic.init(actor.featureDim, config.critic.hiddenSizes, new Rng(seeds.critic), {
    ...ADAM,
    eps: config.adamEps,
  });
  return TwosomeRunTrainer.create(config, { actor, critic }, exclusive);
}

/** Everything but the wall-clock figures. */
const numbers = (m: TrainMetrics) => ({ ...m, timing: null, tokensPerSecond: null });

describe('TWOSOME in the GPU queue', () => {
  it('a scoring job asked for during an update runs between its calls; the run is the same as without it', async () => {
    const alone = await trainer(fifo().exclusive);
    const expected = [await alone.runUpdate(), await alone.runUpdate()].map(numbers);

    const queue = fifo();
    const run = await trainer(queue.exclusive);
    const updates: TrainMetrics[] = [];
    const interleaved: { jobsBefore: number; updatesDone: number }[] = [];
    const training = (async () => {
      for (let i = 0; i < 2; i++) updates.push(await run.runUpdate());
    })();
    // The playground asks for scores now and then while the update runs (a Step, a new state).
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setTimeout(r, 0));
      await queue.exclusive(async () =>
        interleaved.push({ jobsBefore: queue.jobs() - 1, updatesDone: updates.length }),
      );
    }
    await training;
    const total = queue.jobs() - interleaved.length;
    expect(updates.map(numbers)).toEqual(expected);
    // Each went ahead of the rest of the update: after some of its calls, long before its end.
    expect(interleaved[0].updatesDone).toBe(0);
    for (const job of interleaved) expect(job.jobsBefore).toBeLessThan(total);
    expect(new Set(interleaved.map((j) => j.jobsBefore)).size).toBe(interleaved.length);
  });
});

describe('queuedModels', () => {
  it("keeps the models' fused rollout step and GPU value loss, one job each, with the critic it wraps", async () => {
    const { exclusive, jobs } = fifo();
    const actor = new FakeTwosomeActor();
    const critic = CpuCritic.init(actor.featureDim, [8], new Rng(1), ADAM);
    const seen: unknown[] = [];
    const observe: NonNullable<TwosomeActor['observe']> = async (_score, obs, withCritic) => {
      seen.push(withCritic);
      return { scores: [], features: [], values: new Float32Array(obs.length) };
    };
    const vLoss = Promise.resolve(0.5);
    const accumulateValueLoss: NonNullable<TwosomeCritic['accumulateValueLoss']> = async () => ({ vLoss });
    const fused = Object.assign(actor, { observe });
    const withLoss = Object.assign(critic, { accumulateValueLoss });
    const queued = queuedModels({ actor: fused, critic: withLoss }, exclusive);
    expect(queued.actor.observe).toBeDefined();
    expect(queued.critic.accumulateValueLoss).toBeDefined();
    await queued.actor.observe!([], [], queued.critic);
    expect(seen).toEqual([withLoss]); // the critic itself, not its queued wrapper
    expect(await (await queued.critic.accumulateValueLoss!([], {} as never)).vLoss).toBe(0.5);
    expect(jobs()).toBe(2);

    // Models without them stay without them (observeStep then makes the separate calls).
    const plain = queuedModels({ actor: new FakeTwosomeActor(), critic }, exclusive);
    expect(plain.actor.observe).toBeUndefined();
  });
});
