/**
 * The mutable state of one Overcooked episode (spec A.2), kept in a few typed arrays and small integers so
 * a primitive step allocates nothing.
 */
import { CELLS, ITEM_COUNT, NO_ITEM, INITIAL_POS, AGENT_START, PLATE, type TaskLayout } from './layout';

export class OvercookedState {
  /** Cell codes G (A.1/A.2). */
  readonly grid = new Uint8Array(CELLS);
  /** Cell of each item (a held item has the agent's cell, a food in the plate the plate's); -1 if absent. */
  readonly itemPos = new Int8Array(ITEM_COUNT);
  /** Chop count 0..3 of each food (the plate stays 0). */
  readonly chopCount = new Uint8Array(ITEM_COUNT);
  /** What a knife or the delivery cell holds: item id or -1 (the slot of A.2). */
  readonly slot = new Int8Array(CELLS);
  /** Plate contents in the order they were put in; `contentsMask` has bit f set for each food f inside. */
  readonly contents = new Int8Array(3);
  contentsLen = 0;
  contentsMask = 0;
  agent = AGENT_START;
  /** Item id held, or -1. */
  holding = NO_ITEM;
  /** Primitive steps taken this episode (A.2 `envStep`). */
  envStep = 0;
  /** The macro controller's chop counter (A.5), which survives between macros. */
  chopCounter = 0;
  /** A correct delivery happened (the episode's success). */
  delivered = false;

  reset(layout: TaskLayout): void {
    this.grid.set(layout.initialGrid);
    this.itemPos.fill(-1);
    for (const item of layout.items) this.itemPos[item] = INITIAL_POS[item];
    this.chopCount.fill(0);
    this.slot.fill(NO_ITEM);
    this.contents.fill(NO_ITEM);
    this.contentsLen = 0;
    this.contentsMask = 0;
    this.agent = AGENT_START;
    this.holding = NO_ITEM;
    this.envStep = 0;
    this.chopCounter = 0;
    this.delivered = false;
  }

  /** Moves the plate and everything in it to `cell` ("all its contents move to the plate's position", A.2). */
  placePlate(cell: number): void {
    this.itemPos[PLATE] = cell;
    for (let i = 0; i < this.contentsLen; i++) this.itemPos[this.contents[i]] = cell;
  }

  /** Moves an item (with its contents if it is the plate) to `cell`. */
  placeItem(item: number, cell: number): void {
    if (item === PLATE) this.placePlate(cell);
    else this.itemPos[item] = cell;
  }

  /** Appends a food to the plate; it takes the plate's position. */
  addToPlate(food: number): void {
    this.contents[this.contentsLen++] = food;
    this.contentsMask |= 1 << food;
    this.itemPos[food] = this.itemPos[PLATE];
  }

  isChopped(item: number): boolean {
    return item !== PLATE && this.chopCount[item] >= 3;
  }

  /** Plain-data copy (structured-cloneable and JSON-safe). */
  toData(): OvercookedStateData {
    return {
      grid: Array.from(this.grid),
      itemPos: Array.from(this.itemPos),
      chopCount: Array.from(this.chopCount),
      slot: Array.from(this.slot),
      contents: Array.from(this.contents.subarray(0, this.contentsLen)),
      agent: this.agent,
      holding: this.holding,
      envStep: this.envStep,
      chopCounter: this.chopCounter,
      delivered: this.delivered,
    };
  }

  fromData(data: OvercookedStateData): void {
    this.grid.set(data.grid);
    this.itemPos.set(data.itemPos);
    this.chopCount.set(data.chopCount);
    this.slot.set(data.slot);
    this.contents.fill(NO_ITEM);
    this.contents.set(data.contents);
    this.contentsLen = data.contents.length;
    this.contentsMask = 0;
    for (const f of data.contents) this.contentsMask |= 1 << f;
    this.agent = data.agent;
    this.holding = data.holding;
    this.envStep = data.envStep;
    this.chopCounter = data.chopCounter;
    this.delivered = data.delivered;
  }
}

export interface OvercookedStateData {
  grid: number[];
  itemPos: number[];
  chopCount: number[];
  slot: number[];
  contents: number[];
  agent: number;
  holding: number;
  envStep: number;
  chopCounter: number;
  delivered: boolean;
}
