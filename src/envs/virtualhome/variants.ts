/**
 * The task table of the VirtualHome family: which scene (dynamics) each task id runs, and the words of the
 * unseen Food Preparation variants (spec environments.md B.9; ADRL `virtualhome_*.py`). A variant is a plain
 * word substitution in every Food Preparation prompt piece and action text; dynamics, observation bits and
 * action ids are unchanged. "heat up", "opend" and the singular verbs are kept ("The dishes is in the dishwasher. ").
 */
import type { VirtualHomeTaskId } from '../types';
import { ENTERTAINMENT_SCENE, FOOD_PREPARATION_SCENE, type Scene } from './scene';
import {
  FOOD_PREPARATION_ACTION_TEXTS,
  PANCAKE_WORDS,
  foodPreparationPieces,
  makeFoodPreparationText,
  substituteFoodWords,
  type FoodWords,
  type TextView,
} from './food-preparation-text';
import { ENTERTAINMENT_ACTION_TEXTS, ENTERTAINMENT_PIECES, entertainmentText } from './entertainment-text';
import { ENTERTAINMENT_OBS_KEYS, FOOD_PREPARATION_OBS_KEYS } from './observation';

/**
 * Food Preparation and its unseen variants, by task id: the words each one puts in place of "pancake" and
 * "microwave". A task id added here is a VirtualHome task (types.ts derives the id type from this table); its
 * titles and description go in the task registry (src/envs/registry.ts).
 */
export const VARIANT_WORDS = {
  'food-preparation': PANCAKE_WORDS,
  cheese: { food: 'cheese', appliance: 'microwave' },
  hamburger: { food: 'hamburger', appliance: 'microwave' },
  'apple-pie': { food: 'apple pie', appliance: 'microwave' },
  pizza: { food: 'pizza', appliance: 'microwave' },
  'washing-plate': { food: 'dishes', appliance: 'dishwasher' },
  laundry: { food: 'clothes', appliance: 'washing machine' },
} as const satisfies Record<string, FoodWords>;

/** The ids of Food Preparation and its variants (every VirtualHome task but Entertainment). */
export type FoodPreparationTaskId = keyof typeof VARIANT_WORDS;

const FOOD_PREPARATION_TASK_IDS = Object.keys(VARIANT_WORDS) as FoodPreparationTaskId[];

/** Food Preparation, Entertainment, then the unseen variants in their table's order. */
export const VIRTUALHOME_TASK_IDS: readonly VirtualHomeTaskId[] = [
  'food-preparation',
  'entertainment',
  ...FOOD_PREPARATION_TASK_IDS.filter((id) => id !== 'food-preparation'),
];

export function isVirtualHomeTaskId(id: string): id is VirtualHomeTaskId {
  return (VIRTUALHOME_TASK_IDS as readonly string[]).includes(id);
}

/** Everything task-specific: dynamics, global action texts, observation bit names, obs2text (memoized). */
export interface TaskSpec {
  taskId: VirtualHomeTaskId;
  scene: Scene;
  actionTexts: readonly string[];
  obsKeys: readonly string[];
  /** Labels of the task objects (render), by node id; variants rename pancake and microwave. */
  labels: Readonly<Record<string, string>>;
  /**
   * obs2text of a bit vector: prompt, offered global ids and their texts. Memoized (only a few dozen distinct
   * vectors are reachable), and frozen: callers must copy before mutating.
   */
  text(bits: number): OfferedView;
}

export interface OfferedView extends TextView {
  actionTexts: readonly string[];
}

function memoize(f: (bits: number) => TextView, actionTexts: readonly string[]): (bits: number) => OfferedView {
  const cache = new Map<number, OfferedView>();
  return (bits) => {
    let v = cache.get(bits);
    if (v === undefined) {
      const t = f(bits);
      v = Object.freeze({
        prompt: t.prompt,
        actionIds: Object.freeze(t.actionIds.slice()),
        actionTexts: Object.freeze(t.actionIds.map((id) => actionTexts[id])),
      });
      cache.set(bits, v);
    }
    return v;
  };
}

const specs = new Map<VirtualHomeTaskId, TaskSpec>();

/** The (shared, immutable) spec of a task id; throws for an id outside the VirtualHome family. */
export function taskSpec(taskId: VirtualHomeTaskId): TaskSpec {
  let spec = specs.get(taskId);
  if (spec) return spec;
  if (taskId === 'entertainment') {
    spec = {
      taskId,
      scene: ENTERTAINMENT_SCENE,
      actionTexts: ENTERTAINMENT_ACTION_TEXTS,
      obsKeys: ENTERTAINMENT_OBS_KEYS,
      labels: { chips: 'chips', milk: 'milk', tv: 'TV', sofa: 'sofa', 'coffee table': 'coffee table' },
      text: memoize(entertainmentText, ENTERTAINMENT_ACTION_TEXTS),
    };
  } else {
    const words: FoodWords | undefined = VARIANT_WORDS[taskId];
    if (!words)
      throw new Error(`unknown VirtualHome task "${String(taskId)}": use one of ${VIRTUALHOME_TASK_IDS.join(', ')}`);
    const actionTexts = Object.freeze(FOOD_PREPARATION_ACTION_TEXTS.map((t) => substituteFoodWords(t, words)));
    spec = {
      taskId,
      scene: FOOD_PREPARATION_SCENE,
      actionTexts,
      obsKeys: FOOD_PREPARATION_OBS_KEYS,
      labels: { pancake: words.food, microwave: words.appliance },
      text: memoize(makeFoodPreparationText(words), actionTexts),
    };
  }
  specs.set(taskId, spec);
  return spec;
}

/** Global action table (id -> text) of a task; the PPO-MLP baseline's policy head is over these ids. */
export function globalActionTexts(taskId: VirtualHomeTaskId): readonly string[] {
  return taskSpec(taskId).actionTexts;
}

/** Names of the observation bits (symbolic() entries) of a task. */
export function observationBitNames(taskId: VirtualHomeTaskId): readonly string[] {
  return taskSpec(taskId).obsKeys;
}

/**
 * Every text a VirtualHome task can show: the prompt pieces and the action table of Food Preparation in each
 * variant's words, in the variant table's order, then Entertainment's (src/llm/model/env-corpus.ts).
 */
export function virtualHomeTextPieces(): string[] {
  return [
    ...FOOD_PREPARATION_TASK_IDS.flatMap((id) => [
      ...Object.values(foodPreparationPieces(VARIANT_WORDS[id])),
      ...globalActionTexts(id),
    ]),
    ...Object.values(ENTERTAINMENT_PIECES),
    ...ENTERTAINMENT_ACTION_TEXTS,
  ];
}
