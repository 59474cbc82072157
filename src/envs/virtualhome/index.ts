/**
 * VirtualHome environments (spec environments.md section B): Food Preparation, Entertainment and the six unseen
 * Food Preparation variants. Entry point used by src/envs/registry.ts.
 *
 * Files: scene.ts (B.1 facts), state.ts (B.2 variables), rules.ts (B.3/B.4 validity, near(), effects),
 * observation.ts (B.5 bits, B.6 success), food-preparation-text.ts (B.7), entertainment-text.ts (B.8),
 * variants.ts (B.9 and the per-task tables), render.ts, env.ts (step, horizon, logged return), explore.ts
 * (reachable state graph).
 *
 * The original's quirks are kept on purpose (B.6, twosome.md 4.7), and live in:
 * - stale recorded room of carried objects, "walk to the pancake" leaving the kitchen, objects on the coffee
 *   table seen only when filed under the living room: state.ts `objRoom`, rules.ts walk / `observable`;
 * - silent no-op failures that still count toward the horizon: rules.ts `applyAction`, env.ts `apply`;
 * - no TV switch with both hands full; walking while sitting fails (the sofa trap): rules.ts;
 * - "opend", the "You are in the bathroom. and notice" period: food-preparation-text.ts;
 * - wrong walk index offers, "The TV is not close to you.", the doubled chips sentence, "the them",
 *   "turn off the TV" / "stand up from the sofa" offered only when they fail: entertainment-text.ts;
 * - "heat up" and singular verbs in every variant: variants.ts.
 */
import type { VirtualHomeTaskId } from '../types';
import { VirtualHomeEnv } from './env';

export { exploreStateGraph, type StateGraph, type GraphState, type GraphTransition } from './explore';
export { VirtualHomeEnv, VIRTUALHOME_HORIZON, VIRTUALHOME_LOGGED_GAMMA } from './env';
export { FOOD_PREPARATION_ACTION_TEXTS } from './food-preparation-text';
export { ENTERTAINMENT_ACTION_TEXTS } from './entertainment-text';
export { FOOD_PREPARATION_OBS_KEYS, ENTERTAINMENT_OBS_KEYS } from './observation';
export {
  VARIANT_WORDS,
  VIRTUALHOME_TASK_IDS,
  globalActionTexts,
  isVirtualHomeTaskId,
  observationBitNames,
  virtualHomeTextPieces,
} from './variants';

/** A fresh environment for a VirtualHome task, already in its initial state (reset() starts a new episode). */
export function createVirtualHomeEnv(taskId: VirtualHomeTaskId): VirtualHomeEnv {
  return new VirtualHomeEnv(taskId);
}
