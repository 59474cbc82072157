/**
 * The agent's square view (spec A.4): a cell is visible iff it is within `radius` rows and columns of the
 * agent (radius 2 = the 5x5 window of the paper). The macro controller (A.5) and the observation share it.
 */
import { COL, GRID, ROW } from './layout';

export function inView(agent: number, cell: number, radius: number): boolean {
  const dx = ROW[cell] - ROW[agent];
  const dy = COL[cell] - COL[agent];
  return dx <= radius && dx >= -radius && dy <= radius && dy >= -radius;
}

/** The view window clipped to the grid, as inclusive row (x) and column (y) ranges. */
export function viewWindow(agent: number, radius: number): { x0: number; y0: number; x1: number; y1: number } {
  const ax = ROW[agent];
  const ay = COL[agent];
  return {
    x0: Math.max(0, ax - radius),
    y0: Math.max(0, ay - radius),
    x1: Math.min(GRID - 1, ax + radius),
    y1: Math.min(GRID - 1, ay + radius),
  };
}
