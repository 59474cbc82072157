/**
 * How long an update of a run will take, measured before the run starts (the Training card's expected time).
 *
 * TWOSOME: an update is numSteps rollout steps, each the scores (adapter on), features (adapter off) and the
 * critic's values of the numEnvs prompts (observeStep: one GPU round trip where the actor fuses them), then per
 * epoch policyNumMinibatches policy passes (forward + backward of one minibatch's prompts) and
 * valueNumMinibatches critic passes (twosome-trainer.ts).
 * measureTwosomeUpdate times one call of each kind on the run's own models and shapes, with prompts of the run's
 * task, after a warm-up call of each on other prompts (pipelines compile on first use; features are memoized per
 * prompt), and adds them up in that structure. The real run is somewhat faster: a rollout scores a state it has
 * seen once only, and features come from the memo once prompts repeat. So the figure is an upper estimate.
 *
 * PPO-MLP: updates on the CPU, all alike: measurePpoMlpUpdate times a real update of a throwaway trainer of the
 * same config (after one to warm up).
 */
import { createEnv } from '../envs/registry';
import type { PolicyRequest } from '../llm/scores';
import { Rng } from '../util/rng';
import { derivePpo, type PpoConfig, type PpoMlpConfig } from './config';
import { PpoMlpTrainer } from './ppo-mlp';
import { observeStep } from './twosome-model';
import type { TwosomeModels } from './twosome-trainer';

export interface TwosomeUpdateTime {
  secondsPerUpdate: number;
  numUpdates: number;
  /** Seconds of one call of each kind, as measured. */
  rolloutStep: number;
  policyPass: number;
  valuePass: number;
}

/** `count` distinct states of the task: env e after e + offset random actions (seeded). */
function sampleRequests(config: PpoConfig, count: number, offset: number): PolicyRequest[] {
  const rng = new Rng(config.seed + 7919 * offset);
  const out: PolicyRequest[] = [];
  for (let e = 0; out.length < count && e < 4 * count; e++) {
    const env = createEnv(config.taskId);
    env.reset(config.seed + e);
    for (let k = 0; k < e + offset && !env.done; k++) env.step(rng.int(env.observe().actions.length));
    if (env.done) continue;
    const { prompt, actions } = env.observe();
    if (!out.some((r) => r.prompt === prompt)) out.push({ prompt, actions });
  }
  // Few distinct states (a short task): repeat them, as a batch of identical prompts costs the same.
  for (let i = 0; out.length < count; i++) out.push(out[i]);
  return out;
}

const seconds = async (work: () => Promise<unknown>) => {
  const t0 = performance.now();
  await work();
  return (performance.now() - t0) / 1000;
};

export async function measureTwosomeUpdate(config: PpoConfig, models: TwosomeModels): Promise<TwosomeUpdateTime> {
  const derived = derivePpo(config);
  const { actor, critic } = models;
  const widest = Math.max(config.numEnvs, derived.policyMinibatchSize, derived.valueMinibatchSize);
  const zerosFor = (requests: readonly PolicyRequest[]) => () =>
    requests.map((r) => new Float64Array(r.actions.length));
  const time = async (requests: PolicyRequest[]) => {
    const envs = requests.slice(0, config.numEnvs);
    const minibatch = requests.slice(0, derived.policyMinibatchSize);
    // The rollout step as the trainer makes it (observeStep: one round trip where the actor fuses it).
    const rolloutStep = await seconds(() => observeStep(actor, critic, envs, envs));
    // Zero loss gradients: the pass costs the same, and the accumulated gradients are discarded after.
    const policyPass = await seconds(() => actor.accumulate(minibatch, zerosFor(minibatch)));
    await actor.zeroGrad();
    const valueFeatures = await actor.features(requests.slice(0, derived.valueMinibatchSize));
    const zero = () => new Float64Array(valueFeatures.length);
    const valuePass = await seconds(() => critic.accumulate(valueFeatures, zero));
    await critic.zeroGrad();
    return { rolloutStep, policyPass, valuePass };
  };
  await time(sampleRequests(config, widest, 0)); // warm-up
  const { rolloutStep, policyPass, valuePass } = await time(sampleRequests(config, widest, 1));
  const warm = Math.min(derived.numUpdates, derived.warmUpUpdates);
  const policyPerUpdate = config.updateEpochs * config.policyNumMinibatches * policyPass;
  const perUpdate = config.numSteps * rolloutStep + config.updateEpochs * config.valueNumMinibatches * valuePass;
  const total = derived.numUpdates * perUpdate + (derived.numUpdates - warm) * policyPerUpdate;
  return {
    secondsPerUpdate: total / derived.numUpdates,
    numUpdates: derived.numUpdates,
    rolloutStep,
    policyPass,
    valuePass,
  };
}

/** Seconds of one PPO-MLP update of `config` (the second of two on a fresh trainer), and the run's updates. */
export function measurePpoMlpUpdate(config: PpoMlpConfig): { secondsPerUpdate: number; numUpdates: number } {
  const trainer = new PpoMlpTrainer(config);
  const timed = () => {
    const t0 = performance.now();
    trainer.runUpdate();
    return (performance.now() - t0) / 1000;
  };
  const first = timed();
  return { secondsPerUpdate: trainer.done ? first : timed(), numUpdates: trainer.numUpdates };
}
