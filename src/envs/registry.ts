/**
 * The task registry: every task the playground and the CLI offer, with the facts the UI shows and what the
 * task is, as the trainers and the UI need to know it (its step unit and discounting, whether its actions are
 * masked, its family's scene and legend). Code outside src/envs and src/scene asks these fields, never which
 * family a task belongs to. Optimal returns are the spec's computed ceilings of the logged (discounted) return.
 */
import { createOvercookedEnv, type OvercookedOptionsInput } from './overcooked';
import { createVirtualHomeEnv } from './virtualhome';
import type { Env, OvercookedTaskId, RenderDescription, TaskId, VirtualHomeTaskId } from './types';

/** The environment family: which simulator runs a task, and the `kind` of its render descriptions (its scene). */
export type TaskFamily = RenderDescription['kind'];

export interface TaskInfo {
  id: TaskId;
  title: string;
  description: string;
  family: TaskFamily;
  /** Seen in training in the paper, or one of the unseen generalization variants. */
  split: 'train' | 'unseen';
  /** An unseen variant's training task: same dynamics, so its presets use that task's hyperparameters. */
  variantOf?: TaskId;
  /** Most actions offered at one step (Overcooked: all macros, always offered). */
  actionCount: number;
  /** Size of the task's global action table (the PPO-MLP baseline's policy head). */
  globalActionCount: number;
  /**
   * The offered actions are a state-dependent subset of the global action table, so a policy over the whole
   * table masks the others (VirtualHome); false: every action is offered at every step (Overcooked).
   */
  actionMask: boolean;
  /** Length of the symbolic observation vector. */
  symbolicDim: number;
  /**
   * A step is a macro action that runs K >= 1 primitive steps (Overcooked): the logged return is discounted
   * per primitive step, so PPO discounts a step by gamma^K (the SMDP discount), and the horizon counts
   * primitive steps. false: a step is one primitive step (VirtualHome).
   */
  macroActions: boolean;
  /** Overcooked: primitive steps; VirtualHome: steps. */
  horizon: number;
  /** Discount of the logged return: per primitive step in Overcooked, per step in VirtualHome. */
  discount: number;
  /** Best achievable logged return (spec sections 3.5, 4.6). */
  optimalReturn: number;
  /** The task this one is trained on for crossover evaluation, if any (VirtualHome's two tasks). */
  crossover?: TaskId;
  /** What the scene marks around the agent (its observation), for the stage's legend. */
  legend: { swatch: 'view' | 'room'; text: string };
  /**
   * The environment the released PPO baseline scripts ran for this task where it differs from TWOSOME's
   * (Overcooked: the full grid and a subtask reward of 0.1); absent where the release has no such variant.
   */
  releasedBaselineEnv?: EnvOptions;
}

export interface EnvOptions {
  /** Overcooked only: reward constants, horizon and view radius (see OvercookedOptions). */
  overcooked?: OvercookedOptionsInput;
}

/** The families in the order the task lists show them, with their display names. */
export const FAMILIES: readonly { family: TaskFamily; title: string }[] = [
  { family: 'overcooked', title: 'Overcooked' },
  { family: 'virtualhome', title: 'VirtualHome' },
];

const overcookedBase = {
  family: 'overcooked',
  split: 'train',
  actionMask: false,
  macroActions: true,
  horizon: 200,
  discount: 0.99,
  legend: { swatch: 'view', text: 'agent’s 5×5 view' },
  releasedBaselineEnv: { overcooked: { viewRadius: 10, rewards: { subtask: 0.1 } } },
} as const;

const virtualHomeBase = {
  family: 'virtualhome',
  actionMask: true,
  macroActions: false,
  horizon: 50,
  discount: 0.95,
  legend: { swatch: 'room', text: 'agent’s room' },
} as const;

const foodPreparationBase = {
  ...virtualHomeBase,
  actionCount: 7,
  globalActionCount: 10,
  symbolicDim: 11,
  optimalReturn: 0.95 ** 5,
} as const;

/** An unseen Food Preparation variant (its words are in virtualhome/variants.ts). */
const unseenVariant = { ...foodPreparationBase, split: 'unseen', variantOf: 'food-preparation' } as const;

export const TASKS: readonly TaskInfo[] = [
  {
    id: 'tomato-salad',
    title: 'Tomato Salad',
    description: 'Overcooked 7x7: chop a tomato, put it in the bowl and serve it.',
    ...overcookedBase,
    actionCount: 5,
    globalActionCount: 5,
    symbolicDim: 18,
    optimalReturn: 0.9205,
  },
  {
    id: 'tomato-lettuce-salad',
    title: 'Tomato-Lettuce Salad',
    description:
      'Overcooked 7x7: chop a tomato and a lettuce, put both in the bowl and serve; the onion is a distractor.',
    ...overcookedBase,
    actionCount: 8,
    globalActionCount: 8,
    symbolicDim: 26,
    optimalReturn: 0.9477,
  },
  {
    id: 'food-preparation',
    title: 'Food Preparation',
    description: 'VirtualHome: heat up the pancake in the microwave.',
    ...foodPreparationBase,
    split: 'train',
    crossover: 'entertainment',
  },
  {
    id: 'entertainment',
    title: 'Entertainment',
    description: 'VirtualHome: bring the chips and the milk to the living room, turn on the TV and sit on the sofa.',
    ...virtualHomeBase,
    split: 'train',
    actionCount: 7,
    globalActionCount: 17,
    symbolicDim: 21,
    optimalReturn: 0.95 ** 10,
    crossover: 'food-preparation',
  },
  {
    id: 'cheese',
    title: 'Cheese',
    description: 'Unseen: Food Preparation with cheese instead of the pancake.',
    ...unseenVariant,
  },
  { id: 'hamburger', title: 'Hamburger', description: 'Unseen: Food Preparation with a hamburger.', ...unseenVariant },
  { id: 'apple-pie', title: 'Apple Pie', description: 'Unseen: Food Preparation with an apple pie.', ...unseenVariant },
  { id: 'pizza', title: 'Pizza', description: 'Unseen: Food Preparation with a pizza.', ...unseenVariant },
  {
    id: 'washing-plate',
    title: 'Washing Plate',
    description: 'Unseen: Food Preparation rules with the dishes and the dishwasher.',
    ...unseenVariant,
  },
  {
    id: 'laundry',
    title: 'Laundry',
    description: 'Unseen: Food Preparation rules with the clothes and the washing machine.',
    ...unseenVariant,
  },
];

export const TASK_IDS: readonly TaskId[] = TASKS.map((t) => t.id);

export class UnknownTaskError extends Error {
  constructor(readonly taskId: string) {
    super(`unknown task "${taskId}": use one of ${TASK_IDS.join(', ')}`);
    this.name = 'UnknownTaskError';
  }
}

export function isTaskId(id: string): id is TaskId {
  return (TASK_IDS as readonly string[]).includes(id);
}

export function getTask(id: string): TaskInfo {
  const task = TASKS.find((t) => t.id === id);
  if (!task) throw new UnknownTaskError(id);
  return task;
}

/** The tasks of a family, in registry order (the task lists' groups; an agent's evaluation tasks). */
export function tasksOfFamily(family: TaskFamily): TaskInfo[] {
  return TASKS.filter((t) => t.family === family);
}

/** The display name of a family ("Overcooked", "VirtualHome"). */
export function familyTitle(family: TaskFamily): string {
  return FAMILIES.find((f) => f.family === family)?.title ?? family;
}

/**
 * Whether the last action changed anything, where the environment says so (VirtualHome: a failed action is a
 * silent no-op that still counts toward the horizon); undefined where every action takes effect.
 */
export function lastActionEffect(render: RenderDescription): boolean | undefined {
  return render.kind === 'virtualhome' ? render.lastAction?.succeeded : undefined;
}

/** Makes a fresh environment for a task; call reset() before use. */
export function createEnv(id: string, options: EnvOptions = {}): Env {
  const task = getTask(id);
  return task.family === 'overcooked'
    ? createOvercookedEnv(task.id as OvercookedTaskId, options.overcooked)
    : createVirtualHomeEnv(task.id as VirtualHomeTaskId);
}
