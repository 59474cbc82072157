/**
 * Overcooked (spec environments.md section A): Tomato Salad (task 0, Overcooked-LLMA-v4) and Tomato-Lettuce
 * Salad (task 3, Overcooked-LLMA-v3) on map A, single agent, with the macro-action controller.
 */
import type { Env, OvercookedTaskId } from '../types';
import { OvercookedEnv } from './env';
import { resolveOptions, type OvercookedOptionsInput } from './options';

export { DEFAULT_OVERCOOKED_OPTIONS, type OvercookedOptions, type OvercookedOptionsInput } from './options';
export type { OvercookedRewards } from './primitive';
export { OvercookedEnv } from './env';
export { overcookedTextPieces } from './text';

/** A fresh env for the task, already reset. `options` may be partial, `rewards` included. */
export function createOvercookedEnv(taskId: OvercookedTaskId, options?: OvercookedOptionsInput): Env {
  if (taskId !== 'tomato-salad' && taskId !== 'tomato-lettuce-salad') {
    throw new Error(`unknown Overcooked task "${String(taskId)}": use tomato-salad or tomato-lettuce-salad`);
  }
  return new OvercookedEnv(taskId, resolveOptions(options));
}
