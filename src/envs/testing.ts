/** Helpers for the tests that play the environments (src/envs, and rl's tests of whole episodes). */
import type { Env, StepResult } from './types';

/** Steps `env` with the offered action `text`; throws, naming the offered ones, when it is not offered. */
export function play(env: Env, text: string): StepResult {
  const offered = env.observe().actions;
  const i = offered.indexOf(text);
  if (i < 0) throw new Error(`"${text}" not offered; offered: ${offered.join(' | ')}`);
  return env.step(i);
}

/** Plays the offered actions `texts` in order (play); the last step's result (none for no texts). */
export function playAll(env: Env, texts: readonly string[]): StepResult | undefined {
  let last: StepResult | undefined;
  for (const text of texts) last = play(env, text);
  return last;
}

/** `env` after a reset() and the offered actions `texts` in order (play). */
export function resetAndPlay<E extends Env>(env: E, texts: readonly string[]): E {
  env.reset();
  playAll(env, texts);
  return env;
}

/** Entertainment from its initial state to the living room with the chips and the milk in hand (TV off). */
export const ENT_SNACKS_TO_LIVING_ROOM: readonly string[] = [
  'walk to the chips',
  'grab the chips',
  'walk to the milk',
  'grab the milk',
  'walk to the living room',
];

/**
 * The shortest successful episodes, by action text: Tomato Salad's from shared/spec/data/overcooked-optimal.json
 * (spec 3.5), Food Preparation's and Entertainment's from spec 4.6.
 */
export const OPTIMAL_PLANS: Readonly<Record<'tomato-salad' | 'food-preparation' | 'entertainment', string[]>> = {
  'tomato-salad': [
    'pick up the tomato',
    'put the tomato on the cutting board',
    'chop the tomato',
    'pick up the tomato',
    'take the bowl',
    'serve the dish',
  ],
  'food-preparation': [
    'walk to the pancake',
    'grab the pancake',
    'walk to the microwave',
    'open the microwave',
    'put the pancake in the microwave',
    'close the microwave',
  ],
  entertainment: [
    'walk to the living room',
    'walk to the TV',
    'turn on the TV',
    'walk to the kitchen',
    'walk to the chips',
    'grab the chips',
    'walk to the milk',
    'grab the milk',
    'walk to the living room',
    'walk to the sofa',
    'sit on the sofa',
  ],
};
