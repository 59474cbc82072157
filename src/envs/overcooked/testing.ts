/**
 * Test support: builds hand-made situations (agent, held item, item places, chop counts, plate contents) as
 * a consistent state, so tests can exercise single rows of the spec's tables. Not used by the env itself.
 */
import type { EnvSnapshot, OvercookedTaskId } from '../types';
import type { OvercookedSnapshotData } from './env';
import {
  AGENT,
  AGENT_START,
  COUNTER,
  DELIVERY_CELL,
  FLOOR,
  INITIAL_POS,
  ITEM_CODE,
  KNIFE,
  LAYOUTS,
  NO_ITEM,
  PLATE,
  cellOf,
} from './layout';
import { OvercookedState } from './state';

export type ItemName = 'tomato' | 'lettuce' | 'onion' | 'plate';
export type FoodName = Exclude<ItemName, 'plate'>;
const ITEM_ID: Record<ItemName, number> = { tomato: 0, lettuce: 1, onion: 2, plate: 3 };

export interface Scenario {
  task?: OvercookedTaskId;
  /** Agent cell (x = row, y = column); default the start (1,4). */
  agent?: [number, number];
  holding?: ItemName;
  /** Cells of items not held and not in the plate (counters, knives, delivery); others stay at home. */
  at?: Partial<Record<ItemName, [number, number]>>;
  chop?: Partial<Record<FoodName, number>>;
  /** Foods in the plate, in the order put in. */
  plate?: FoodName[];
  chopCounter?: number;
  envStep?: number;
}

/** A state matching the scenario, with grid codes as the rules would have left them. */
export function buildState(scenario: Scenario): OvercookedState {
  const layout = LAYOUTS[scenario.task ?? 'tomato-salad'];
  const s = new OvercookedState();
  s.reset(layout);
  // Start from the bare layout: item homes become plain counters, the agent's start plain floor.
  for (const item of layout.items) s.grid[INITIAL_POS[item]] = COUNTER;
  s.grid[AGENT_START] = FLOOR;
  const agent = scenario.agent ? cellOf(...scenario.agent) : AGENT_START;
  s.agent = agent;
  s.grid[agent] = AGENT;
  s.holding = scenario.holding ? ITEM_ID[scenario.holding] : NO_ITEM;
  for (const [name, count] of Object.entries(scenario.chop ?? {})) s.chopCount[ITEM_ID[name as FoodName]] = count;
  for (const name of scenario.plate ?? []) {
    const food = ITEM_ID[name];
    s.contents[s.contentsLen++] = food;
    s.contentsMask |= 1 << food;
  }
  for (const item of layout.items) {
    const name = (Object.keys(ITEM_ID) as ItemName[])[item];
    if (item !== PLATE && s.contentsMask & (1 << item)) continue; // placed with the plate
    const cell = s.holding === item ? agent : scenario.at?.[name] ? cellOf(...scenario.at[name]!) : INITIAL_POS[item];
    s.placeItem(item, cell);
    if (s.holding === item) continue;
    if (s.grid[cell] === KNIFE || cell === DELIVERY_CELL) s.slot[cell] = item;
    else s.grid[cell] = ITEM_CODE[item];
  }
  s.chopCounter = scenario.chopCounter ?? 0;
  s.envStep = scenario.envStep ?? 0;
  return s;
}

/** A snapshot of a fresh env in the scenario's state, for env.restore(). */
export function scenarioSnapshot(scenario: Scenario): EnvSnapshot {
  const state = buildState(scenario);
  const data: OvercookedSnapshotData = {
    state: state.toData(),
    macroStep: 0,
    episodeReturn: 0,
    returnDiscount: 0.99 ** state.envStep,
    done: false,
    success: false,
    lastMacro: { actions: [], from: [], to: [], rewards: [], smdpReward: 0, terminal: false },
  };
  return { taskId: scenario.task ?? 'tomato-salad', data };
}
