/**
 * The task registry: every task the playground and the CLI offer, with the facts the UI shows and the
 * trainer needs. Optimal returns are the spec's computed ceilings of the logged (discounted) return.
 */
import { createOvercookedEnv, type OvercookedOptions } from './overcooked';
import { createVirtualHomeEnv } from './virtualhome';
import type { Env, OvercookedTaskId, TaskId, VirtualHomeTaskId } from './types';

export interface TaskInfo {
  id: TaskId;
  title: string;
  description: string;
  family: 'overcooked' | 'virtualhome';
  /** Seen in training in the paper, or one of the unseen generalization variants. */
  split: 'train' | 'unseen';
  /** Most actions offered at one step (Overcooked: all macros, always offered). */
  actionCount: number;
  /** Size of the task's global action table (the PPO-MLP baseline's policy head). */
  globalActionCount: number;
  /** Length of the symbolic observation vector. */
  symbolicDim: number;
  /** Overcooked: primitive steps; VirtualHome: steps. */
  horizon: number;
  /** Discount of the logged return: per primitive step in Overcooked, per step in VirtualHome. */
  discount: number;
  /** Best achievable logged return (spec sections 3.5, 4.6). */
  optimalReturn: number;
  /** The task this one is trained on for crossover evaluation, if any (VirtualHome's two tasks). */
  crossover?: TaskId;
}

const foodPreparationBase = {
  family: 'virtualhome',
  actionCount: 7,
  globalActionCount: 10,
  symbolicDim: 11,
  horizon: 50,
  discount: 0.95,
  optimalReturn: 0.95 ** 5,
} as const;

export const TASKS: readonly TaskInfo[] = [
  {
    id: 'tomato-salad',
    title: 'Tomato Salad',
    description: 'Overcooked 7x7: chop a tomato, put it in the bowl and serve it.',
    family: 'overcooked',
    split: 'train',
    actionCount: 5,
    globalActionCount: 5,
    symbolicDim: 18,
    horizon: 200,
    discount: 0.99,
    optimalReturn: 0.9205,
  },
  {
    id: 'tomato-lettuce-salad',
    title: 'Tomato-Lettuce Salad',
    description: 'Overcooked 7x7: chop a tomato and a lettuce, put both in the bowl and serve; the onion is a distractor.',
    family: 'overcooked',
    split: 'train',
    actionCount: 8,
    globalActionCount: 8,
    symbolicDim: 26,
    horizon: 200,
    discount: 0.99,
    optimalReturn: 0.9477,
  },
  {
    ...foodPreparationBase,
    id: 'food-preparation',
    title: 'Food Preparation',
    description: 'VirtualHome: heat up the pancake in the microwave.',
    split: 'train',
    crossover: 'entertainment',
  },
  {
    id: 'entertainment',
    title: 'Entertainment',
    description: 'VirtualHome: bring the chips and the milk to the living room, turn on the TV and sit on the sofa.',
    family: 'virtualhome',
    split: 'train',
    actionCount: 7,
    globalActionCount: 17,
    symbolicDim: 21,
    horizon: 50,
    discount: 0.95,
    optimalReturn: 0.95 ** 10,
    crossover: 'food-preparation',
  },
  { ...foodPreparationBase, id: 'cheese', title: 'Cheese', description: 'Unseen: Food Preparation with cheese instead of the pancake.', split: 'unseen' },
  { ...foodPreparationBase, id: 'hamburger', title: 'Hamburger', description: 'Unseen: Food Preparation with a hamburger.', split: 'unseen' },
  { ...foodPreparationBase, id: 'apple-pie', title: 'Apple Pie', description: 'Unseen: Food Preparation with an apple pie.', split: 'unseen' },
  { ...foodPreparationBase, id: 'pizza', title: 'Pizza', description: 'Unseen: Food Preparation with a pizza.', split: 'unseen' },
  {
    ...foodPreparationBase,
    id: 'washing-plate',
    title: 'Washing Plate',
    description: 'Unseen: Food Preparation rules with the dishes and the dishwasher.',
    split: 'unseen',
  },
  {
    ...foodPreparationBase,
    id: 'laundry',
    title: 'Laundry',
    description: 'Unseen: Food Preparation rules with the clothes and the washing machine.',
    split: 'unseen',
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

export interface EnvOptions {
  /** Overcooked only: reward constants, horizon and view radius (see OvercookedOptions). */
  overcooked?: Partial<OvercookedOptions>;
}

/** Makes a fresh environment for a task; call reset() before use. */
export function createEnv(id: string, options: EnvOptions = {}): Env {
  const task = getTask(id);
  return task.family === 'overcooked'
    ? createOvercookedEnv(task.id as OvercookedTaskId, options.overcooked)
    : createVirtualHomeEnv(task.id as VirtualHomeTaskId);
}
