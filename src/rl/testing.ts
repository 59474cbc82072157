/** Helpers for the tests of the TWOSOME trainer (on the fake actor, the CPU reference and the WebGPU engine). */
import { expect } from 'vitest';
import type { TaskId } from '../envs/types';
import { quickPpoConfig, type PpoConfig } from './config';
import type { TwosomeUpdateMetrics } from './twosome-trainer';

/** The losses and statistics of an update that the tests check finite or compare between runs. */
export const LOSS_FIGURES = [
  'policyLoss',
  'entropy',
  'approxKl',
  'oldApproxKl',
  'clipFrac',
  'valueLoss',
  'policyGradNorm',
  'valueGradNorm',
] as const;

/** Every figure of LOSS_FIGURES and of `more` in `m` is finite. */
export function expectFiniteFigures(m: TwosomeUpdateMetrics, more: readonly (keyof TwosomeUpdateMetrics)[] = []) {
  for (const k of [...LOSS_FIGURES, ...more]) expect(Number.isFinite(m[k]), k).toBe(true);
}

/**
 * `quick` on `task` cut down to a run of a few updates on the micro model: one value minibatch and the learning
 * rates these tests train with; `size` sets the rest (envs, steps, minibatches, budget).
 */
export function tinyTwosomeConfig(task: TaskId, size: Partial<PpoConfig>): PpoConfig {
  return { ...quickPpoConfig(task), valueNumMinibatches: 1, policyLr: 3e-3, valueLr: 1e-3, ...size };
}
