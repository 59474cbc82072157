/**
 * The render description (types.ts OvercookedRender): what a scene draws, as plain data. Built only on
 * demand, so the step loop never materialises it.
 */
import type {
  OvercookedCellKind,
  OvercookedItem,
  OvercookedItemKind,
  OvercookedPrimitiveMove,
  OvercookedRender,
} from '../types';
import type { MacroTrace } from './controller';
import {
  COL,
  DELIVERY,
  DELIVERY_CELL,
  FLOOR,
  GRID,
  KNIFE,
  NO_ITEM,
  PLATE,
  ROW,
  AGENT,
  type TaskLayout,
} from './layout';
import type { OvercookedState } from './state';
import { inView, viewWindow } from './view';

const ITEM_KIND: readonly OvercookedItemKind[] = ['tomato', 'lettuce', 'onion', 'plate'];

/** Static cell kinds: what the initial grid shows once the items and the agent are taken away. */
function staticCells(layout: TaskLayout): OvercookedCellKind[][] {
  const cells: OvercookedCellKind[][] = [];
  for (let x = 0; x < GRID; x++) {
    const row: OvercookedCellKind[] = [];
    for (let y = 0; y < GRID; y++) {
      const code = layout.initialGrid[x * GRID + y];
      row.push(
        code === FLOOR || code === AGENT
          ? 'floor'
          : code === KNIFE
            ? 'knife'
            : code === DELIVERY
              ? 'delivery'
              : 'counter',
      );
    }
    cells.push(row);
  }
  return cells;
}

function itemLocation(s: OvercookedState, item: number): OvercookedItem['location'] {
  if (s.holding === item) return 'held';
  if (item !== PLATE && s.contentsMask & (1 << item)) return 'plate';
  const cell = s.itemPos[item];
  if (cell === DELIVERY_CELL) return 'delivery';
  if (s.slot[cell] === item) return 'knife';
  return 'counter';
}

export function buildRender(
  s: OvercookedState,
  layout: TaskLayout,
  radius: number,
  trace: MacroTrace,
  macroStep: number,
): OvercookedRender {
  const items: OvercookedItem[] = layout.items.map((item) => {
    const cell = s.itemPos[item];
    return {
      id: ITEM_KIND[item],
      kind: ITEM_KIND[item],
      x: ROW[cell],
      y: COL[cell],
      chopCount: s.chopCount[item],
      chopped: s.isChopped(item),
      location: itemLocation(s, item),
      contents: item === PLATE ? Array.from(s.contents.subarray(0, s.contentsLen), (food) => ITEM_KIND[food]) : [],
      visible: inView(s.agent, cell, radius),
    };
  });
  const lastMacro: OvercookedPrimitiveMove[] = [];
  for (let k = 0; k < trace.length; k++) {
    lastMacro.push({
      action: trace.actions[k],
      from: [ROW[trace.from[k]], COL[trace.from[k]]],
      to: [ROW[trace.to[k]], COL[trace.to[k]]],
      reward: trace.rewards[k],
    });
  }
  return {
    kind: 'overcooked',
    taskId: layout.taskId,
    rows: GRID,
    cols: GRID,
    cells: staticCells(layout),
    items,
    agent: { x: ROW[s.agent], y: COL[s.agent], holding: s.holding === NO_ITEM ? null : ITEM_KIND[s.holding] },
    view: viewWindow(s.agent, radius),
    lastMacro,
    primitiveStep: s.envStep,
    macroStep,
  };
}
