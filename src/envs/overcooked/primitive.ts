/**
 * One primitive step of the agent (spec A.3, including the delivery table). Allocation-free: it mutates the
 * state and returns the step's reward.
 */
import {
  AGENT,
  CHOPPED_AT,
  CODE_ITEM,
  COUNTER,
  DELIVERY,
  FLOOR,
  INITIAL_POS,
  ITEM_CODE,
  KNIFE,
  MOVE_OFFSET,
  NO_ITEM,
  PLATE,
  PLATE_CODE,
  STAY,
  type TaskLayout,
} from './layout';
import type { OvercookedState } from './state';

export interface OvercookedRewards {
  /** Added when a task food becomes chopped (A.3 row 3). */
  subtask: number;
  /** Added on a correct delivery, which ends the episode. */
  correctDelivery: number;
  /** Added on any other delivery (negative). */
  wrongDelivery: number;
  /** Added on every primitive step (negative). */
  stepPenalty: number;
}

/** Applies primitive action `action` (0 right, 1 down, 2 left, 3 up, 4 stay); returns the step's reward. */
export function applyPrimitive(
  s: OvercookedState,
  layout: TaskLayout,
  rewards: OvercookedRewards,
  action: number,
): number {
  let reward = rewards.stepPenalty;
  if (action !== STAY) reward += interact(s, layout, rewards, s.agent + MOVE_OFFSET[action]);
  s.envStep++;
  return reward;
}

/** The step is terminal after a correct delivery or once the horizon is reached (end of A.3). */
export function isTerminal(s: OvercookedState, horizon: number): boolean {
  return s.delivered || s.envStep >= horizon;
}

/** The A.3 table: the effect of moving toward cell `t`; returns the reward beyond the step penalty. */
function interact(s: OvercookedState, layout: TaskLayout, rewards: OvercookedRewards, t: number): number {
  const grid = s.grid;
  const code = grid[t];
  const held = s.holding;

  // Row 1: floor -> walk; the held item (and a held plate's contents) moves along.
  if (code === FLOOR) {
    grid[s.agent] = FLOOR;
    grid[t] = AGENT;
    s.agent = t;
    if (held !== NO_ITEM) s.placeItem(held, t);
    return 0;
  }

  if (held === NO_ITEM) {
    const item = CODE_ITEM[code];
    if (item >= 0) {
      // Row 2: pick up the item of that type (the plate keeps its contents).
      s.holding = item;
      s.placeItem(item, s.agent);
      grid[t] = COUNTER;
      return 0;
    }
    if (code === KNIFE) return useKnifeEmptyHanded(s, layout, rewards, t);
    return 0; // Row 4: counter or delivery with empty hands.
  }

  switch (code) {
    case COUNTER: // Row 5: put the held item down.
      grid[t] = ITEM_CODE[held];
      s.placeItem(held, t);
      s.holding = NO_ITEM;
      return 0;
    case PLATE_CODE: // Row 6: a chopped food goes into the plate lying there.
      if (held !== PLATE && s.chopCount[held] >= CHOPPED_AT) {
        s.addToPlate(held);
        s.holding = NO_ITEM;
      }
      return 0;
    case KNIFE:
      useKnifeWithItem(s, t, held);
      return 0;
    case DELIVERY:
      return deliver(s, layout, rewards, held, t);
    default: {
      // Row 9: a food cell; only a held plate can take a chopped food from it.
      const food = CODE_ITEM[code];
      if (food >= 0 && held === PLATE && s.chopCount[food] >= CHOPPED_AT) {
        s.addToPlate(food);
        grid[t] = COUNTER;
      }
      return 0;
    }
  }
}

/** Row 3: empty hands into a knife: take the plate or a chopped food, or chop an unchopped food. */
function useKnifeEmptyHanded(s: OvercookedState, layout: TaskLayout, rewards: OvercookedRewards, t: number): number {
  const onKnife = s.slot[t];
  if (onKnife === NO_ITEM) return 0;
  if (onKnife === PLATE || s.chopCount[onKnife] >= CHOPPED_AT) {
    s.slot[t] = NO_ITEM;
    s.holding = onKnife;
    s.placeItem(onKnife, s.agent);
    return 0;
  }
  s.chopCount[onKnife]++;
  // Only foods named in the task string pay the subtask reward (the onion never does).
  if (s.chopCount[onKnife] === CHOPPED_AT && layout.subtaskFoodMask & (1 << onKnife)) return rewards.subtask;
  return 0;
}

/** Row 7: holding an item into a knife. */
function useKnifeWithItem(s: OvercookedState, t: number, held: number): void {
  const onKnife = s.slot[t];
  if (onKnife === NO_ITEM) {
    s.slot[t] = held;
    s.placeItem(held, t);
    s.holding = NO_ITEM;
  } else if (held === PLATE && onKnife !== PLATE) {
    if (s.chopCount[onKnife] >= CHOPPED_AT) {
      s.slot[t] = NO_ITEM;
      s.addToPlate(onKnife); // the held plate has the agent's position
    }
  } else if (onKnife === PLATE && held !== PLATE) {
    if (s.chopCount[held] >= CHOPPED_AT) {
      s.slot[t] = NO_ITEM;
      s.addToPlate(held);
      s.holding = PLATE;
      s.placePlate(s.agent);
    }
  }
}

/** Row 8, the delivery table. */
function deliver(s: OvercookedState, layout: TaskLayout, rewards: OvercookedRewards, held: number, t: number): number {
  if (held === PLATE && s.contentsLen > 0 && s.contentsMask === layout.dishMask) {
    s.slot[t] = PLATE;
    s.placePlate(t);
    s.holding = NO_ITEM;
    s.delivered = true;
    return rewards.correctDelivery;
  }
  // Any other delivery: the delivered things go back to their initial cells, foods unchopped; the reset
  // overwrites whatever code the initial cell showed.
  if (held === PLATE) {
    for (let i = 0; i < s.contentsLen; i++) returnToStart(s, s.contents[i]);
    s.contents.fill(NO_ITEM);
    s.contentsLen = 0;
    s.contentsMask = 0;
  }
  returnToStart(s, held);
  s.holding = NO_ITEM;
  return rewards.wrongDelivery;
}

function returnToStart(s: OvercookedState, item: number): void {
  const home = INITIAL_POS[item];
  s.itemPos[item] = home;
  s.chopCount[item] = 0;
  s.grid[home] = ITEM_CODE[item];
}
