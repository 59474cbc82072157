/**
 * Static facts of Overcooked map A (spec environments.md A.1, A.4, A.5): the 7x7 grid, cell codes, item
 * kinds, initial positions, stand cells, and the per-task tables (foods, macros, observation order).
 *
 * Cells are numbered `x * 7 + y` (x = row from the top, y = column from the left), so every position is one
 * small integer and the hot loops index typed arrays directly.
 */
import type { OvercookedTaskId } from '../types';

export const GRID = 7;
export const CELLS = GRID * GRID;

export const cellOf = (x: number, y: number): number => x * GRID + y;
/** Row and column of each cell, precomputed so the hot loops avoid divisions. */
export const ROW = Uint8Array.from({ length: CELLS }, (_, c) => Math.floor(c / GRID));
export const COL = Uint8Array.from({ length: CELLS }, (_, c) => c % GRID);

// Primitive actions (A.1): 0 right, 1 down, 2 left, 3 up, 4 stay.
export const RIGHT = 0;
export const DOWN = 1;
export const LEFT = 2;
export const UP = 3;
export const STAY = 4;
/** Cell-index offset of each move (row step = 7). */
export const MOVE_OFFSET: readonly number[] = [1, GRID, -1, -GRID, 0];

// Cell codes of the grid G (A.1).
export const FLOOR = 0;
export const COUNTER = 1;
export const AGENT = 2;
export const TOMATO_CODE = 3;
export const LETTUCE_CODE = 4;
export const PLATE_CODE = 5;
export const KNIFE = 6;
export const DELIVERY = 7;
export const ONION_CODE = 8;

// Movable items. Ids are fixed across tasks (task 0 simply has no lettuce or onion) so arrays stay 4 long.
export const TOMATO = 0;
export const LETTUCE = 1;
export const ONION = 2;
export const PLATE = 3;
export const ITEM_COUNT = 4;
export const NO_ITEM = -1;
export const FOOD_COUNT = 3;

export const ITEM_NAMES = ['tomato', 'lettuce', 'onion', 'plate'] as const;
/** Grid code an item shows when it lies on a counter (A.2). */
export const ITEM_CODE: readonly number[] = [TOMATO_CODE, LETTUCE_CODE, ONION_CODE, PLATE_CODE];
/** Item id of each grid code, -1 for codes that are not items. */
export const CODE_ITEM: readonly number[] = [-1, -1, -1, TOMATO, LETTUCE, PLATE, -1, -1, ONION];
export const CHOPPED_AT = 3;

export const INITIAL_POS: readonly number[] = [cellOf(0, 5), cellOf(1, 6), cellOf(2, 6), cellOf(6, 5)];
export const AGENT_START = cellOf(1, 4);
export const KNIFE1 = cellOf(1, 0);
export const KNIFE2 = cellOf(2, 0);
export const DELIVERY_CELL = cellOf(3, 0);
/** The cells in front of the boards: where "front" and "chop the X" apply (A.6, A.7). */
export const FRONT1 = cellOf(1, 1);
export const FRONT2 = cellOf(2, 1);

/**
 * Stand cell S(T) of every non-corner border cell (A.1): its only floor neighbour. -1 elsewhere.
 * INTO[T] is the move from S(T) into T, the last move of a navigation (A.5 `nav`).
 */
export const STAND = new Int8Array(CELLS).fill(-1);
export const INTO = new Int8Array(CELLS).fill(-1);
for (let i = 1; i < GRID - 1; i++) {
  STAND[cellOf(0, i)] = cellOf(1, i);
  INTO[cellOf(0, i)] = UP;
  STAND[cellOf(GRID - 1, i)] = cellOf(GRID - 2, i);
  INTO[cellOf(GRID - 1, i)] = DOWN;
  STAND[cellOf(i, 0)] = cellOf(i, 1);
  INTO[cellOf(i, 0)] = LEFT;
  STAND[cellOf(i, GRID - 1)] = cellOf(i, GRID - 2);
  INTO[cellOf(i, GRID - 1)] = RIGHT;
}

/** Macro kinds of the A.5 table. */
export const GET_FOOD = 0;
export const GET_PLATE = 1;
export const GO_TO_KNIFE = 2;
export const DELIVER = 3;
export const CHOP = 4;

/** The 7 dishes of the observation's task one-hot (A.4). */
export const TASK_ONE_HOT_NAMES = [
  'tomato salad',
  'lettuce salad',
  'onion salad',
  'lettuce-tomato salad',
  'onion-tomato salad',
  'lettuce-onion salad',
  'lettuce-onion-tomato salad',
] as const;

export interface TaskLayout {
  taskId: OvercookedTaskId;
  /** The spec's task number (0 = Overcooked-LLMA-v4, 3 = Overcooked-LLMA-v3). */
  specTask: 0 | 3;
  /** The dish the task asks for (A.1). */
  dish: string;
  /** Initial grid codes, row-major by cell. */
  initialGrid: Uint8Array;
  /** Item ids present in this task, in observation order (foods, then the plate). */
  items: readonly number[];
  foods: readonly number[];
  knives: readonly number[];
  /** Bit i set: food i's name is a substring of the dish, so chopping it earns the subtask reward (A.3 row 3). */
  subtaskFoodMask: number;
  /** Plate-content bit mask whose dish name equals the task string (delivery table). */
  dishMask: number;
  /** Per macro index: kind and argument (food id for GET_FOOD, knife cell for GO_TO_KNIFE). */
  macroKind: Uint8Array;
  macroArg: Int8Array;
  /** Length of the observation vector (18 / 26) and the index of the task's one-hot entry in it. */
  obsLength: number;
  oneHotIndex: number;
}

const parseGrid = (rows: string[]): Uint8Array => Uint8Array.from(rows.join(' ').split(' ').map(Number));

/** Dish name of a set of foods (delivery table): names ordered lettuce, onion, tomato, joined by "-". */
export function dishName(foodMask: number): string {
  const names: string[] = [];
  for (const f of [LETTUCE, ONION, TOMATO]) if (foodMask & (1 << f)) names.push(ITEM_NAMES[f]);
  return `${names.join('-')} salad`;
}

function makeLayout(
  taskId: OvercookedTaskId,
  specTask: 0 | 3,
  rows: string[],
  foods: number[],
  knives: number[],
  dish: string,
): TaskLayout {
  const macroKind: number[] = [];
  const macroArg: number[] = [];
  const add = (kind: number, arg: number) => {
    macroKind.push(kind);
    macroArg.push(arg);
  };
  for (const f of foods) add(GET_FOOD, f);
  add(GET_PLATE, PLATE);
  for (const k of knives) add(GO_TO_KNIFE, k);
  add(DELIVER, DELIVERY_CELL);
  add(CHOP, -1);
  let subtaskFoodMask = 0;
  let dishMask = 0;
  for (const f of foods) if (dish.includes(ITEM_NAMES[f])) subtaskFoodMask |= 1 << f;
  // The dish mask is the one food subset whose name is the task string.
  for (let m = 1; m < 1 << FOOD_COUNT; m++) if (dishName(m) === dish) dishMask = m;
  const obsLength = foods.length * 3 + 2 + (knives.length + 1) * 2 + 2 + TASK_ONE_HOT_NAMES.length;
  return {
    taskId,
    specTask,
    dish,
    initialGrid: parseGrid(rows),
    items: [...foods, PLATE],
    foods,
    knives,
    subtaskFoodMask,
    dishMask,
    macroKind: Uint8Array.from(macroKind),
    macroArg: Int8Array.from(macroArg),
    obsLength,
    oneHotIndex: obsLength - TASK_ONE_HOT_NAMES.length + (TASK_ONE_HOT_NAMES as readonly string[]).indexOf(dish),
  };
}

export const LAYOUTS: Record<OvercookedTaskId, TaskLayout> = {
  'tomato-salad': makeLayout(
    'tomato-salad',
    0,
    [
      '1 1 1 1 1 3 1',
      '6 0 0 0 2 0 1',
      '1 0 0 0 0 0 1',
      '7 0 0 0 0 0 1',
      '1 0 0 0 0 0 1',
      '1 0 0 0 0 0 1',
      '1 1 1 1 1 5 1',
    ],
    [TOMATO],
    [KNIFE1],
    'tomato salad',
  ),
  'tomato-lettuce-salad': makeLayout(
    'tomato-lettuce-salad',
    3,
    [
      '1 1 1 1 1 3 1',
      '6 0 0 0 2 0 4',
      '6 0 0 0 0 0 8',
      '7 0 0 0 0 0 1',
      '1 0 0 0 0 0 1',
      '1 0 0 0 0 0 1',
      '1 1 1 1 1 5 1',
    ],
    [TOMATO, LETTUCE, ONION],
    [KNIFE1, KNIFE2],
    'lettuce-tomato salad',
  ),
};
