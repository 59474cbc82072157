/**
 * Generalized advantage estimation with a per-step discount (twosome.md 2.3, ppo_llm_pomdp.py L258-269):
 *   disc_t  = gamma^{K_t}  (Overcooked SMDP, K_t = primitive steps of the macro at t)  or gamma (VirtualHome)
 *   delta_t = r_t + disc_t * V_{t+1} * (1 - done_t) - V_t
 *   A_t     = delta_t + disc_t * lambda * (1 - done_t) * A_{t+1}        (lambda is not exponentiated)
 *   returns = A + V
 * Arrays are [numSteps, numEnvs] flattened row-major (index t * numEnvs + e), like CleanRL's buffers.
 *
 * `dones[t]` is the done flag returned by the step taken at t (CleanRL stores it one row later, as
 * `dones[t + 1]` / `next_done`; the recursion is the same). V_{t+1} past the last row is `nextValues`,
 * the critic's value of the observation after the rollout (bootstrap).
 */

export interface GaeInput {
  numSteps: number;
  numEnvs: number;
  rewards: ArrayLike<number>;
  values: ArrayLike<number>;
  /** 1 (or true) where the step at t ended its episode. */
  dones: ArrayLike<number>;
  /** disc_t per step (see `stepDiscounts`). */
  discounts: ArrayLike<number>;
  /** V of each env's observation after the last step, length numEnvs. */
  nextValues: ArrayLike<number>;
  gaeLambda: number;
}

export interface GaeOutput {
  advantages: Float64Array;
  returns: Float64Array;
}

/** disc_t = gamma^{K_t} when `smdp`, else gamma (K is ignored). */
export function stepDiscounts(primitiveSteps: ArrayLike<number>, gamma: number, smdp: boolean): Float64Array {
  const out = new Float64Array(primitiveSteps.length);
  for (let i = 0; i < out.length; i++) out[i] = smdp ? Math.pow(gamma, primitiveSteps[i]) : gamma;
  return out;
}

export function computeGae(input: GaeInput): GaeOutput {
  const { numSteps: T, numEnvs: N, rewards, values, dones, discounts, nextValues, gaeLambda } = input;
  const size = T * N;
  for (const [name, arr] of [
    ['rewards', rewards],
    ['values', values],
    ['dones', dones],
    ['discounts', discounts],
  ] as const) {
    if (arr.length !== size) throw new RangeError(`${name} has ${arr.length} entries; numSteps * numEnvs = ${size}`);
  }
  if (nextValues.length !== N) throw new RangeError(`nextValues has ${nextValues.length} entries; numEnvs = ${N}`);
  const advantages = new Float64Array(size);
  const returns = new Float64Array(size);
  for (let e = 0; e < N; e++) {
    let lastGaeLam = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = t * N + e;
      const nextNonTerminal = dones[i] ? 0 : 1;
      const nextValue = t === T - 1 ? nextValues[e] : values[i + N];
      const disc = discounts[i];
      const delta = rewards[i] + disc * nextValue * nextNonTerminal - values[i];
      lastGaeLam = delta + disc * gaeLambda * nextNonTerminal * lastGaeLam;
      advantages[i] = lastGaeLam;
      returns[i] = lastGaeLam + values[i];
    }
  }
  return { advantages, returns };
}
