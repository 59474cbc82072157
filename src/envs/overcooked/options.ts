/** Options of the Overcooked env: reward constants, horizon and view radius (spec A.2, A.3, A.4). */
import type { OvercookedRewards } from './primitive';

export interface OvercookedOptions {
  /** Reward constants with their signs as applied: defaults subtask 0.2, correct 1, wrong -0.1, step -0.001. */
  rewards: OvercookedRewards;
  /** Primitive steps after which a step is terminal (a running macro still finishes). Default 200. */
  horizon: number;
  /**
   * Half-width of the agent's square view: 2 = the paper's 5x5 window. It drives the observation vector, and
   * therefore the text, and the controller's visibility test, as obs_radius does in the official env. The
   * PPO baseline's "released" variant uses 10, the full grid.
   */
  viewRadius: number;
}

export const DEFAULT_OVERCOOKED_OPTIONS: OvercookedOptions = Object.freeze({
  rewards: Object.freeze({ subtask: 0.2, correctDelivery: 1, wrongDelivery: -0.1, stepPenalty: -0.001 }),
  horizon: 200,
  viewRadius: 2,
}) as OvercookedOptions;

export type OvercookedOptionsInput = Partial<Omit<OvercookedOptions, 'rewards'>> & {
  rewards?: Partial<OvercookedRewards>;
};

/** Deep-merges partial options over the defaults and checks them. */
export function resolveOptions(options: OvercookedOptionsInput = {}): OvercookedOptions {
  const rewards = { ...DEFAULT_OVERCOOKED_OPTIONS.rewards, ...options.rewards };
  const resolved: OvercookedOptions = {
    rewards,
    horizon: options.horizon ?? DEFAULT_OVERCOOKED_OPTIONS.horizon,
    viewRadius: options.viewRadius ?? DEFAULT_OVERCOOKED_OPTIONS.viewRadius,
  };
  for (const [name, value] of Object.entries(rewards)) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new RangeError(`overcooked reward "${name}" must be a finite number, got ${String(value)}`);
  }
  if (!Number.isInteger(resolved.horizon) || resolved.horizon < 1) {
    throw new RangeError(`overcooked horizon must be a positive integer, got ${String(resolved.horizon)}`);
  }
  if (!Number.isInteger(resolved.viewRadius) || resolved.viewRadius < 0) {
    throw new RangeError(`overcooked viewRadius must be a non-negative integer, got ${String(resolved.viewRadius)}`);
  }
  return resolved;
}
