/**
 * Hand-written Overcooked render descriptions (map A) for developing and checking the scene without the
 * environment: the initial states of both tasks and a few mid-episode states.
 */
import type { OvercookedCellKind, OvercookedItem, OvercookedRender, OvercookedTaskId } from '../envs/types';

const LAYOUT: Record<OvercookedTaskId, string[]> = {
  // c counter, k knife, d delivery, . floor
  'tomato-salad': ['ccccccc', 'k.....c', 'c.....c', 'd.....c', 'c.....c', 'c.....c', 'ccccccc'],
  'tomato-lettuce-salad': ['ccccccc', 'k.....c', 'k.....c', 'd.....c', 'c.....c', 'c.....c', 'ccccccc'],
};

const CELL: Record<string, OvercookedCellKind> = { c: 'counter', k: 'knife', d: 'delivery', '.': 'floor' };

function cells(task: OvercookedTaskId): OvercookedCellKind[][] {
  return LAYOUT[task].map((row) => [...row].map((ch) => CELL[ch]));
}

function item(kind: OvercookedItem['kind'], x: number, y: number, extra: Partial<OvercookedItem> = {}): OvercookedItem {
  return {
    id: kind,
    kind,
    x,
    y,
    chopCount: 0,
    chopped: false,
    location: 'counter',
    contents: [],
    visible: false,
    ...extra,
  };
}

function view(ax: number, ay: number) {
  return { x0: Math.max(0, ax - 2), y0: Math.max(0, ay - 2), x1: Math.min(6, ax + 2), y1: Math.min(6, ay + 2) };
}

export function overcookedInitial(task: OvercookedTaskId): OvercookedRender {
  const items =
    task === 'tomato-salad'
      ? [item('tomato', 0, 5, { visible: true }), item('plate', 6, 5)]
      : [
          item('tomato', 0, 5, { visible: true }),
          item('lettuce', 1, 6, { visible: true }),
          item('onion', 2, 6, { visible: true }),
          item('plate', 6, 5),
        ];
  return {
    kind: 'overcooked',
    taskId: task,
    rows: 7,
    cols: 7,
    cells: cells(task),
    items,
    agent: { x: 1, y: 4, holding: null },
    view: view(1, 4),
    lastMacro: [],
    primitiveStep: 0,
    macroStep: 0,
  };
}

/** Tomato Salad after "pick up the tomato": one step right, then the pick-up interaction upward. */
export const tomatoPickedUp: OvercookedRender = {
  ...overcookedInitial('tomato-salad'),
  items: [item('tomato', 1, 5, { location: 'held', visible: true }), item('plate', 6, 5)],
  agent: { x: 1, y: 5, holding: 'tomato' },
  view: view(1, 5),
  lastMacro: [
    { action: 0, from: [1, 4], to: [1, 5], reward: -0.001 },
    { action: 3, from: [1, 5], to: [1, 5], reward: -0.001 },
  ],
  primitiveStep: 2,
  macroStep: 1,
};

/** Tomato Salad: tomato on the board after two chops, chef in front of the board. */
export const tomatoHalfChopped: OvercookedRender = {
  ...overcookedInitial('tomato-salad'),
  items: [item('tomato', 1, 0, { location: 'knife', chopCount: 2, visible: true }), item('plate', 6, 5)],
  agent: { x: 1, y: 1, holding: null },
  view: view(1, 1),
  lastMacro: [
    { action: 2, from: [1, 1], to: [1, 1], reward: -0.001 },
    { action: 2, from: [1, 1], to: [1, 1], reward: -0.001 },
  ],
  primitiveStep: 9,
  macroStep: 3,
};

/** Tomato-Lettuce Salad: chopped tomato in the held bowl, lettuce chopped on board 2, onion partly chopped. */
export const saladInProgress: OvercookedRender = {
  ...overcookedInitial('tomato-lettuce-salad'),
  items: [
    item('tomato', 3, 2, { location: 'plate', chopCount: 3, chopped: true, visible: true }),
    item('lettuce', 2, 0, { location: 'knife', chopCount: 3, chopped: true, visible: true }),
    item('onion', 1, 0, { location: 'knife', chopCount: 1, visible: true }),
    item('plate', 3, 2, { location: 'held', contents: ['tomato'], visible: true }),
  ],
  agent: { x: 3, y: 2, holding: 'plate' },
  view: view(3, 2),
  lastMacro: [
    { action: 3, from: [5, 2], to: [4, 2], reward: -0.001 },
    { action: 3, from: [4, 2], to: [3, 2], reward: -0.001 },
  ],
  primitiveStep: 31,
  macroStep: 9,
};

/** Tomato Salad, delivered: the bowl with chopped tomato on the delivery counter. */
export const tomatoDelivered: OvercookedRender = {
  ...overcookedInitial('tomato-salad'),
  items: [
    item('tomato', 3, 0, { location: 'plate', chopCount: 3, chopped: true, visible: true }),
    item('plate', 3, 0, { location: 'delivery', contents: ['tomato'], visible: true }),
  ],
  agent: { x: 3, y: 1, holding: null },
  view: view(3, 1),
  lastMacro: [{ action: 2, from: [3, 1], to: [3, 1], reward: 1 }],
  primitiveStep: 24,
  macroStep: 8,
};

export const OVERCOOKED_FIXTURES: Record<string, OvercookedRender> = {
  'tomato-salad initial': overcookedInitial('tomato-salad'),
  'tomato picked up': tomatoPickedUp,
  'tomato half chopped': tomatoHalfChopped,
  'tomato delivered': tomatoDelivered,
  'tomato-lettuce initial': overcookedInitial('tomato-lettuce-salad'),
  'salad in progress': saladInProgress,
};
