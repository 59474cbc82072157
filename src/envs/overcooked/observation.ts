/**
 * The observation vector of spec A.4, the input of obs2text and of the PPO-MLP baseline.
 *
 * Layout: each food `x, y, chopCount`, the plate `x, y`, each knife and the delivery `x, y`, the agent
 * `x, y`, then the 7-way task one-hot. Items outside the view report zeros. Lengths 18 / 26.
 */
import { COL, DELIVERY_CELL, PLATE, ROW, type TaskLayout } from './layout';
import type { OvercookedState } from './state';
import { inView } from './view';

/** Writes the observation into `out` (length layout.obsLength) without allocating. */
export function writeObservation(s: OvercookedState, layout: TaskLayout, radius: number, out: Float32Array): void {
  const agent = s.agent;
  let i = 0;
  for (const food of layout.foods) {
    const cell = s.itemPos[food];
    // A held food (or one in a held plate) has the agent's cell, so it is always visible.
    if (inView(agent, cell, radius)) {
      out[i] = ROW[cell];
      out[i + 1] = COL[cell];
      out[i + 2] = s.chopCount[food];
    } else {
      out[i] = out[i + 1] = out[i + 2] = 0;
    }
    i += 3;
  }
  i = writeCell(out, i, agent, s.itemPos[PLATE], radius);
  for (const knife of layout.knives) i = writeCell(out, i, agent, knife, radius);
  i = writeCell(out, i, agent, DELIVERY_CELL, radius);
  out[i++] = ROW[agent];
  out[i++] = COL[agent];
  out.fill(0, i);
  out[layout.oneHotIndex] = 1;
}

function writeCell(out: Float32Array, i: number, agent: number, cell: number, radius: number): number {
  const visible = inView(agent, cell, radius);
  out[i] = visible ? ROW[cell] : 0;
  out[i + 1] = visible ? COL[cell] : 0;
  return i + 2;
}
