/** Shared by the engine's GPU tests (src/llm/*.gpu.test.ts). */
import { createEnv } from '../envs/registry';

/** ||a - b|| / ||b||: how far a whole gradient or score vector is from the reference. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-12);
}

/** One observation of Tomato Salad after its first action: a shared prompt and actions of several lengths. */
export function tomatoSaladObservations(): { prompt: string; actions: string[] }[] {
  const env = createEnv('tomato-salad');
  env.reset(0);
  env.step(0);
  return [env.observe()];
}
