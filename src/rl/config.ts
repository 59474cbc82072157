/**
 * Every hyperparameter of the two PPO trainers, typed (twosome.md 2.2-2.4 and 5): `RunConfig` holds what both
 * runs share (task, seed, rollout shape, GAE, the PPO clips and coefficients), `PpoConfig` adds TWOSOME's
 * (LoRA actor + MLP critic on the LLM) and `PpoMlpConfig` the PPO-MLP baseline's (symbolic observations).
 * Presets: `paperPpoConfig` (the official scripts), `quickPpoConfig` (small models in the browser) and
 * `paperPpoMlpConfig`; `presetConfig` is the one builder the CLI and the playground's worker call (a preset
 * with a seed, a step budget and overrides). `derivePpo`/`derivePpoMlp` compute batch sizes and update counts
 * and reject inconsistent configs with a message that names the field.
 */
import { getTask, type TaskInfo } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { NORMALIZATIONS, type Normalization } from './policy';

/** LoRA on the frozen LLM (peft LoraConfig, twosome.md 2.1). */
export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  /** Projection names the adapters wrap, e.g. ['q_proj', 'v_proj']. */
  targets: readonly string[];
}

/** The critic head on the LLM's last prompt-token hidden state: Linear(no bias) -> ReLU per hidden size -> Linear(1). */
export interface CriticConfig {
  hiddenSizes: readonly number[];
  bias: boolean;
}

/** What every PPO run (TWOSOME and PPO-MLP) is configured by: the rollout, the advantages and the PPO loss. */
export interface RunConfig {
  taskId: TaskId;
  seed: number;
  /** Env macro-steps summed over all envs (global steps). */
  totalTimesteps: number;
  numEnvs: number;
  /** Steps per env per rollout; batch = numEnvs * numSteps. */
  numSteps: number;
  /** Linear annealing of the learning rates to 0 over the updates (TWOSOME: after the critic warm-up). */
  annealLr: boolean;
  adamEps: number;
  updateEpochs: number;
  /** Discount per primitive step; Overcooked discounts a macro of K steps by gamma^K (SMDP). */
  gamma: number;
  /** Use gamma^K (K = StepResult.primitiveSteps) instead of gamma: the task's actions are macros (SMDP). */
  smdpDiscount: boolean;
  gaeLambda: number;
  /** Per-minibatch advantage normalization. */
  normAdv: boolean;
  clipCoef: number;
  clipVloss: boolean;
  entCoef: number;
  vfCoef: number;
  maxGradNorm: number;
  /**
   * The approx KL above which the update stops; null: never. TWOSOME checks each accumulation window's mean
   * and discards that window; PPO-MLP (CleanRL) checks the last minibatch of each epoch and keeps the epoch.
   */
  targetKl: number | null;
}

/** TWOSOME: the LoRA actor and the critic head on the LLM, each with its own optimizer. */
export interface PpoConfig extends RunConfig {
  /** AdamW on the LoRA weights (weight decay 0). */
  policyLr: number;
  /** Adam on the critic head. */
  valueLr: number;
  policyWeightDecay: number;
  /** Policy minibatches per epoch (paper: 32 of 4 samples). */
  policyNumMinibatches: number;
  /** Value minibatches per epoch (paper: 4 of 32 samples). */
  valueNumMinibatches: number;
  /** Policy minibatches whose gradients are summed before one optimizer step ("gradient-checkpointing-steps"). */
  gradientAccumulationSteps: number;
  /** Updates before the policy trains (critic only), as critic_warm_up_steps // batch. Paper scripts: 0. */
  criticWarmUpSteps: number;
  normalization: Normalization;
  lora: LoraConfig;
  critic: CriticConfig;
}

const PAPER_LORA: LoraConfig = Object.freeze({
  r: 8,
  alpha: 16,
  dropout: 0,
  targets: Object.freeze(['q_proj', 'v_proj']),
});
const PAPER_CRITIC: CriticConfig = Object.freeze({ hiddenSizes: Object.freeze([1024, 512]), bias: false });

/** The tasks with presets of their own; an unseen variant runs its training task's (`TaskInfo.variantOf`). */
type TrainingTaskId = 'tomato-salad' | 'tomato-lettuce-salad' | 'food-preparation' | 'entertainment';

/** A preset table's row for a task: its own, or its training task's for an unseen variant. */
function presetRow<R>(rows: Readonly<Record<TrainingTaskId, R>>, task: TaskInfo): R {
  const id = task.variantOf ?? task.id;
  if (!(id in rows))
    throw new ConfigError(`there is no preset for ${task.id}: give its training rows in src/rl/config.ts`);
  return rows[id as TrainingTaskId];
}

/** The per-task rows of twosome.md table 2.4 (HEAD scripts). */
const PAPER_ROWS: Record<
  TrainingTaskId,
  Pick<PpoConfig, 'policyLr' | 'valueLr' | 'totalTimesteps' | 'gamma' | 'seed'>
> = {
  'tomato-salad': { policyLr: 5e-7, valueLr: 1e-5, totalTimesteps: 500_000, gamma: 0.99, seed: 1 },
  'tomato-lettuce-salad': { policyLr: 5e-7, valueLr: 1e-5, totalTimesteps: 500_000, gamma: 0.99, seed: 1 },
  'food-preparation': { policyLr: 1e-6, valueLr: 5e-5, totalTimesteps: 50_000, gamma: 0.95, seed: 10 },
  entertainment: { policyLr: 1e-6, valueLr: 5e-5, totalTimesteps: 200_000, gamma: 0.95, seed: 100 },
};

/** The quick preset's env steps (Overcooked 20k, VirtualHome 5k: Food Preparation's optimum is 6 steps). */
const QUICK_TIMESTEPS: Record<TrainingTaskId, number> = {
  'tomato-salad': 20_000,
  'tomato-lettuce-salad': 20_000,
  'food-preparation': 5_000,
  entertainment: 5_000,
};

/** CleanRL ppo.py's advantage and loss settings, which TWOSOME's scripts and the PPO baseline's both keep. */
const CLEANRL_LOSS = Object.freeze({
  gaeLambda: 0.95,
  normAdv: true,
  clipCoef: 0.2,
  clipVloss: true,
  entCoef: 0.01,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
});

/** TWOSOME as the official scripts run it (twosome.md 2.4). */
export function paperPpoConfig(taskId: TaskId): PpoConfig {
  const task = getTask(taskId);
  const row = presetRow(PAPER_ROWS, task);
  return {
    taskId: task.id,
    seed: row.seed,
    totalTimesteps: row.totalTimesteps,
    numEnvs: 4,
    numSteps: 32,
    policyLr: row.policyLr,
    valueLr: row.valueLr,
    annealLr: true,
    adamEps: 1e-5,
    policyWeightDecay: 0,
    policyNumMinibatches: 32,
    valueNumMinibatches: 4,
    gradientAccumulationSteps: 8,
    updateEpochs: 1,
    criticWarmUpSteps: 0,
    gamma: row.gamma,
    smdpDiscount: task.macroActions,
    ...CLEANRL_LOSS,
    targetKl: 0.02,
    normalization: 'word',
    lora: PAPER_LORA,
    critic: PAPER_CRITIC,
  };
}

/**
 * A short run for small models in a browser tab (hundreds of millions of parameters, not 7B). Choices, and why:
 * - batch 4 envs x 16 steps = 64 (half the paper's) so an update comes every few seconds and the UI shows
 *   progress; policy minibatches of 4 (the paper's size, small backward passes) with accumulation 8, so each
 *   optimizer step still averages 32 samples (2 policy steps per update); value minibatches of 32 (2 per update).
 * - policy LR 1e-2, value LR 1e-3, entropy coefficient 0.05, measured on the shipped micro model (a random
 *   2-layer Llama; src/rl/learning.gpu.test.ts). The earlier 2e-5 / 1e-4 / 0.01 did not learn at all in the
 *   budget. With these values the policy first narrows (entropy 0.8 -> ~0.3 nats over ~50 updates), the 0.05
 *   bonus spreads it again (~1.2 nats) until episodes finish, and seed 1 reaches greedy success 1.0 / return
 *   0.92 after ~12k env steps (seed 4 also learns; seeds 2 and 3 keep exploring without finishing in 16k).
 *   Tried and worse: entropy 0.1 (seed 1 not greedy-solved in 200 updates) or 0.02 (collapses, seed 2);
 *   accumulation 4 with policy LR 1e-2 or 3e-2 (seed 1 unsolved); value LR 3e-3 (solves seed 2, not 1, 3, 4);
 *   policy LR 3e-3 (seed 1 unsolved); 8 envs (on seed 1 entropy fell to 0.002 in 20 updates; stopped there);
 *   policy minibatches of 16 with accumulation 2 (the same 32 samples per step; again seeds 1 and 4 of 1-4);
 *   a 40k budget (seed 2 still unsolved at 40k). On seeds 2 and 3 the policy narrows early onto actions that
 *   never finish the task, and the later entropy (~1 nat) does not find the way out within the budget.
 *   The KL early stop (0.02, unchanged) still bounds each update, and linear decay settles it.
 * - critic hidden sizes 256 -> 128 instead of 1024 -> 512: small models have hidden widths of 512-2048.
 * - total steps: 20k (Overcooked), 5k (VirtualHome; Food Preparation's optimum is 6 steps): QUICK_TIMESTEPS.
 * Everything else (gamma, lambda, clips, value-loss clipping, per-minibatch advantage normalization, grad clip
 * 0.5, LoRA r/alpha/targets, word normalization) is the paper's.
 */
export function quickPpoConfig(taskId: TaskId): PpoConfig {
  const paper = paperPpoConfig(taskId);
  return {
    ...paper,
    totalTimesteps: presetRow(QUICK_TIMESTEPS, getTask(taskId)),
    numSteps: 16,
    policyLr: 1e-2,
    valueLr: 1e-3,
    entCoef: 0.05,
    policyNumMinibatches: 16,
    valueNumMinibatches: 2,
    gradientAccumulationSteps: 8,
    critic: Object.freeze({ hiddenSizes: Object.freeze([256, 128]), bias: false }),
  };
}

// ---------------------------------------------------------------------------------------------------------
// PPO-MLP baseline (twosome.md section 5)

/**
 * 'fair' (default): the same 5x5 partial view and rewards (subtask 0.2) as TWOSOME.
 * 'released': what the released baseline script ran, where the task declares it (`releasedBaselineEnv`;
 * Overcooked: full grid, view radius 10, and subtask reward 0.1).
 */
export type PpoMlpVariant = 'fair' | 'released';

/** The PPO-MLP baseline: actor and critic MLPs on the symbolic observation, one Adam over both (CleanRL). */
export interface PpoMlpConfig extends RunConfig {
  variant: PpoMlpVariant;
  /** One Adam over actor and critic. */
  learningRate: number;
  numMinibatches: number;
  /** Hidden layer widths of both MLPs (tanh). */
  hiddenSizes: readonly number[];
}

const PPO_MLP_ROWS: Record<TrainingTaskId, { learningRate: number; totalTimesteps: number }> = {
  'tomato-salad': { learningRate: 1e-4, totalTimesteps: 500_000 },
  'tomato-lettuce-salad': { learningRate: 5e-4, totalTimesteps: 500_000 },
  'food-preparation': { learningRate: 1e-3, totalTimesteps: 50_000 },
  entertainment: { learningRate: 1e-3, totalTimesteps: 200_000 },
};

/** The PPO baseline as the deleted `*_ppo.sh` scripts ran it (cleanRL ppo.py), with the chosen variant. */
export function paperPpoMlpConfig(taskId: TaskId, variant: PpoMlpVariant = 'fair'): PpoMlpConfig {
  const task = getTask(taskId);
  const row = presetRow(PPO_MLP_ROWS, task);
  return {
    taskId: task.id,
    variant,
    seed: 1,
    totalTimesteps: row.totalTimesteps,
    numEnvs: 4,
    numSteps: 128,
    learningRate: row.learningRate,
    annealLr: true,
    adamEps: 1e-5,
    numMinibatches: 4,
    updateEpochs: 4,
    // The baseline scripts keep argparse's 0.99 in VirtualHome too (twosome.md 5).
    gamma: 0.99,
    smdpDiscount: task.macroActions,
    ...CLEANRL_LOSS,
    targetKl: null,
    hiddenSizes: Object.freeze([64, 64]),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The one preset builder (the CLI and the playground's worker)

/** 'quick': short runs for small models in a browser tab; 'paper': the official scripts. */
export const PRESETS = ['quick', 'paper'] as const;
export type Preset = (typeof PRESETS)[number];

/** TWOSOME settings a caller may change on top of a preset (undefined: the preset's value). */
export interface ConfigOverrides {
  /** The one override PPO-MLP takes too. */
  numEnvs?: number;
  numSteps?: number;
  policyNumMinibatches?: number;
  valueNumMinibatches?: number;
  gradientAccumulationSteps?: number;
  policyLr?: number;
  valueLr?: number;
  entCoef?: number;
  normalization?: Normalization;
}

export interface PresetOptions {
  seed?: number;
  /** Total env steps (the preset's otherwise). */
  steps?: number;
  overrides?: ConfigOverrides;
}

/**
 * A run's config: the preset for the task, then the seed, the step budget and the overrides; throws a
 * ConfigError that names the field for an inconsistent result.
 *
 * TWOSOME: `quickPpoConfig` or `paperPpoConfig`. PPO-MLP: the baseline script's config for either preset
 * (there are no quick hyperparameters); 'quick' only shortens it to TWOSOME's quick step budget, so that the
 * two curves share an x range. A budget below one batch (4 x 128) shortens the rollout to fit (numSteps =
 * steps / envs), and the minibatch count drops until it divides the batch.
 */
export function presetConfig(algo: 'twosome', taskId: TaskId, preset: Preset, options?: PresetOptions): PpoConfig;
export function presetConfig(algo: 'ppo-mlp', taskId: TaskId, preset: Preset, options?: PresetOptions): PpoMlpConfig;
export function presetConfig(
  algo: 'twosome' | 'ppo-mlp',
  taskId: TaskId,
  preset: Preset,
  options: PresetOptions = {},
): PpoConfig | PpoMlpConfig {
  const overrides = Object.fromEntries(Object.entries(options.overrides ?? {}).filter(([, v]) => v !== undefined));
  if (algo === 'twosome') {
    const config: PpoConfig = {
      ...(preset === 'paper' ? paperPpoConfig(taskId) : quickPpoConfig(taskId)),
      ...overrides,
    };
    if (options.seed !== undefined) config.seed = options.seed;
    if (options.steps !== undefined) config.totalTimesteps = options.steps;
    derivePpo(config);
    return config;
  }
  const config: PpoMlpConfig = { ...paperPpoMlpConfig(taskId) };
  if (options.overrides?.numEnvs !== undefined) config.numEnvs = options.overrides.numEnvs;
  if (options.seed !== undefined) config.seed = options.seed;
  const steps = options.steps ?? (preset === 'quick' ? quickPpoConfig(taskId).totalTimesteps : undefined);
  if (steps !== undefined) {
    config.totalTimesteps = steps;
    if (steps < config.numEnvs * config.numSteps) config.numSteps = Math.max(1, Math.floor(steps / config.numEnvs));
    while ((config.numEnvs * config.numSteps) % config.numMinibatches !== 0) config.numMinibatches--;
  }
  derivePpoMlp(config);
  return config;
}

// ---------------------------------------------------------------------------------------------------------
// Derived quantities and validation

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface DerivedPpo {
  batchSize: number;
  policyMinibatchSize: number;
  valueMinibatchSize: number;
  /** Policy optimizer steps per epoch when no KL stop fires. */
  policyStepsPerEpoch: number;
  /** Updates with annealed LRs (total_timesteps // batch). */
  numUpdates: number;
  /** Critic-only updates first (critic_warm_up_steps // batch). */
  warmUpUpdates: number;
}

export interface DerivedPpoMlp {
  batchSize: number;
  minibatchSize: number;
  numUpdates: number;
}

function positiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
}
function nonNegative(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new ConfigError(`${name} must be a finite number >= 0, got ${String(value)}`);
}
function unit(name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new ConfigError(`${name} must be in [0, 1], got ${String(value)}`);
}
function divides(what: string, batch: number, n: number): number {
  if (batch % n !== 0) throw new ConfigError(`${what} (${n}) must divide the batch size (${batch})`);
  return batch / n;
}

export function derivePpo(config: PpoConfig): DerivedPpo {
  getTask(config.taskId);
  positiveInt('numEnvs', config.numEnvs);
  positiveInt('numSteps', config.numSteps);
  positiveInt('policyNumMinibatches', config.policyNumMinibatches);
  positiveInt('valueNumMinibatches', config.valueNumMinibatches);
  positiveInt('gradientAccumulationSteps', config.gradientAccumulationSteps);
  positiveInt('updateEpochs', config.updateEpochs);
  for (const k of [
    'policyLr',
    'valueLr',
    'adamEps',
    'policyWeightDecay',
    'clipCoef',
    'entCoef',
    'vfCoef',
    'maxGradNorm',
    'criticWarmUpSteps',
  ] as const) {
    nonNegative(k, config[k]);
  }
  unit('gamma', config.gamma);
  unit('gaeLambda', config.gaeLambda);
  if (config.targetKl !== null) nonNegative('targetKl', config.targetKl);
  if (!NORMALIZATIONS.includes(config.normalization))
    throw new ConfigError(
      `normalization must be one of ${NORMALIZATIONS.join(', ')}, got ${String(config.normalization)}`,
    );
  positiveInt('lora.r', config.lora.r);
  nonNegative('lora.alpha', config.lora.alpha);
  unit('lora.dropout', config.lora.dropout);
  config.critic.hiddenSizes.forEach((h, i) => positiveInt(`critic.hiddenSizes[${i}]`, h));
  const batchSize = config.numEnvs * config.numSteps;
  const policyMinibatchSize = divides('policyNumMinibatches', batchSize, config.policyNumMinibatches);
  const valueMinibatchSize = divides('valueNumMinibatches', batchSize, config.valueNumMinibatches);
  if (config.policyNumMinibatches % config.gradientAccumulationSteps !== 0) {
    // The original carries a partial window's count into the next epoch while zeroing its gradients; we refuse
    // the case rather than reproduce it (no official script has it).
    throw new ConfigError(
      `gradientAccumulationSteps (${config.gradientAccumulationSteps}) must divide policyNumMinibatches (${config.policyNumMinibatches})`,
    );
  }
  const numUpdates = Math.floor(config.totalTimesteps / batchSize);
  if (numUpdates < 1)
    throw new ConfigError(`totalTimesteps (${config.totalTimesteps}) must be at least one batch (${batchSize})`);
  return {
    batchSize,
    policyMinibatchSize,
    valueMinibatchSize,
    policyStepsPerEpoch: config.policyNumMinibatches / config.gradientAccumulationSteps,
    numUpdates,
    warmUpUpdates: Math.floor(config.criticWarmUpSteps / batchSize),
  };
}

export function derivePpoMlp(config: PpoMlpConfig): DerivedPpoMlp {
  const task = getTask(config.taskId);
  if (config.variant !== 'fair' && config.variant !== 'released')
    throw new ConfigError(`variant must be 'fair' or 'released', got ${String(config.variant)}`);
  if (config.variant === 'released' && !task.releasedBaselineEnv) {
    throw new ConfigError(
      `the 'released' variant (full grid, subtask reward 0.1) exists only for Overcooked, not ${task.id}`,
    );
  }
  positiveInt('numEnvs', config.numEnvs);
  positiveInt('numSteps', config.numSteps);
  positiveInt('numMinibatches', config.numMinibatches);
  positiveInt('updateEpochs', config.updateEpochs);
  for (const k of ['learningRate', 'adamEps', 'clipCoef', 'entCoef', 'vfCoef', 'maxGradNorm'] as const)
    nonNegative(k, config[k]);
  unit('gamma', config.gamma);
  unit('gaeLambda', config.gaeLambda);
  if (config.targetKl !== null) nonNegative('targetKl', config.targetKl);
  config.hiddenSizes.forEach((h, i) => positiveInt(`hiddenSizes[${i}]`, h));
  const batchSize = config.numEnvs * config.numSteps;
  const minibatchSize = divides('numMinibatches', batchSize, config.numMinibatches);
  const numUpdates = Math.floor(config.totalTimesteps / batchSize);
  if (numUpdates < 1)
    throw new ConfigError(`totalTimesteps (${config.totalTimesteps}) must be at least one batch (${batchSize})`);
  return { batchSize, minibatchSize, numUpdates };
}
