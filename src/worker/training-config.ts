/**
 * The configs the Training panel runs, from (algorithm, task, preset, seed, steps): the same presets as
 * `twosome train` (src/cli/train.ts, which needs node:fs and so cannot be imported here).
 *
 * - TWOSOME: 'quick' (small models in a tab; the browser's default) or 'paper' (the official scripts).
 * - PPO-MLP: 'paper' is the baseline script's run; 'quick' keeps its hyperparameters but trains for the same
 *   number of env steps as TWOSOME's quick preset, so the two curves overlay on one x range.
 */
import { getTask } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { derivePpo, derivePpoMlp, paperPpoConfig, paperPpoMlpConfig, quickPpoConfig, type PpoConfig, type PpoMlpConfig } from '../rl/config';
import type { TrainPreset } from './training-protocol';

/** Env steps of the quick presets (TWOSOME's quick preset's own totals). */
function quickSteps(taskId: TaskId): number {
  return quickPpoConfig(taskId).totalTimesteps;
}

export function browserTwosomeConfig(taskId: TaskId, preset: TrainPreset, seed: number, steps?: number): PpoConfig {
  const config: PpoConfig = { ...(preset === 'paper' ? paperPpoConfig(taskId) : quickPpoConfig(taskId)), seed };
  if (steps !== undefined) config.totalTimesteps = steps;
  derivePpo(config); // throws a ConfigError naming the field
  return config;
}

export function browserPpoMlpConfig(taskId: TaskId, preset: TrainPreset, seed: number, steps?: number): PpoMlpConfig {
  const config: PpoMlpConfig = { ...paperPpoMlpConfig(taskId), seed };
  const total = steps ?? (preset === 'quick' ? quickSteps(taskId) : undefined);
  if (total !== undefined) {
    config.totalTimesteps = total;
    // Below one batch the rollout is shortened to fit (as `twosome train --steps`).
    if (total < config.numEnvs * config.numSteps) config.numSteps = Math.max(1, Math.floor(total / config.numEnvs));
    while ((config.numEnvs * config.numSteps) % config.numMinibatches !== 0) config.numMinibatches--;
  }
  derivePpoMlp(config);
  return config;
}

/** Training tasks are "seen"; VirtualHome's variants are the paper's unseen tasks. */
export function isSeenTask(taskId: TaskId): boolean {
  return getTask(taskId).split === 'train';
}
