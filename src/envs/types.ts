/**
 * The one interface every environment implements (Overcooked, VirtualHome and its variants).
 *
 * Environments are pure and deterministic: no DOM, no GPU, no clock, no global randomness. Given the seed
 * passed to reset() and the sequence of action indices, every observation, reward and render description is
 * fixed. Action indices always refer to the list returned by the latest observe().
 */
import type { FoodPreparationTaskId } from './virtualhome/variants';

/** What the language model reads, and the texts it chooses between, in the order of the env's indices. */
export interface Observation {
  prompt: string;
  actions: string[];
}

export interface StepResult {
  /**
   * Reward of this step. Overcooked: the SMDP sum over the macro's primitive steps, sum_k 0.99^k r_k.
   * VirtualHome: 1 on success, else 0.
   */
  reward: number;
  /** The episode ended (success or horizon). */
  done: boolean;
  /** The episode ended because the task was achieved. */
  success: boolean;
  /** Primitive steps this action took (Overcooked macro length K; always 1 in VirtualHome). */
  primitiveSteps: number;
  /** Index of the action taken, in the list offered before the step, and its text. */
  action: number;
  actionText: string;
  /**
   * The logged ("charts/episodic_return") return so far in this episode: sum over primitive steps t of
   * gamma^t r_t, with gamma 0.99 in Overcooked and 0.95 in VirtualHome (spec section 5, last bullet).
   */
  episodeReturn: number;
}

/** An action index that is not an integer in [0, actions.length). */
export class InvalidActionError extends Error {
  constructor(
    readonly index: unknown,
    readonly count: number,
  ) {
    super(
      `invalid action index ${String(index)}: this step offers ${count} actions, so use an integer from 0 to ${count - 1}`,
    );
    this.name = 'InvalidActionError';
  }
}

export interface Env {
  readonly taskId: TaskId;
  /** Starts a new episode and returns its first observation. */
  reset(seed?: number): Observation;
  /** The current prompt and offered action texts. */
  observe(): Observation;
  /** Takes the offered action at `index`; throws InvalidActionError for a bad index, or an Error after done. */
  step(index: number): StepResult;
  /** Number of actions offered now (same as observe().actions.length, without building the texts). */
  actionCount(): number;
  /**
   * The symbolic observation for the PPO-MLP baseline: Overcooked's partial-view vector (18 / 26 entries) or
   * VirtualHome's observation bits (11 / 21).
   */
  symbolic(): Float32Array;
  /**
   * Global action ids of the offered actions (Overcooked: 0..n-1, all always offered; VirtualHome: the
   * ids of the task's global action table). The PPO-MLP baseline's policy head is over global ids.
   */
  offeredActionIds(): readonly number[];
  /** Everything a renderer needs to draw the current state; plain data, safe to structured-clone. */
  render(): RenderDescription;
  /** A plain-data copy of the full state, and its restoration (episode timeline scrubbing, tests). */
  snapshot(): EnvSnapshot;
  restore(snapshot: EnvSnapshot): void;
  readonly done: boolean;
}

/** Opaque, structured-cloneable state of one env; only the env that made it can restore it. */
export interface EnvSnapshot {
  taskId: TaskId;
  data: unknown;
}

export type OvercookedTaskId = 'tomato-salad' | 'tomato-lettuce-salad';
/** Entertainment, and Food Preparation with its variants (the variant table in virtualhome/variants.ts). */
export type VirtualHomeTaskId = 'entertainment' | FoodPreparationTaskId;
export type TaskId = OvercookedTaskId | VirtualHomeTaskId;

// ---------------------------------------------------------------------------------------------------------
// Render descriptions: what to draw, not how.

export type RenderDescription = OvercookedRender | VirtualHomeRender;

export type OvercookedCellKind = 'floor' | 'counter' | 'knife' | 'delivery';
export type OvercookedItemKind = 'tomato' | 'lettuce' | 'onion' | 'plate';

export interface OvercookedItem {
  /** Stable id: 'tomato', 'lettuce', 'onion', 'plate'. */
  id: OvercookedItemKind;
  kind: OvercookedItemKind;
  /** Cell (row x from the top, column y from the left), as in the spec. */
  x: number;
  y: number;
  /** Foods: 0..3 chops; the food is chopped at 3. Plate: 0. */
  chopCount: number;
  chopped: boolean;
  /** Where it is: on a counter, on a knife (cutting board), held by the agent, in the plate, or delivered. */
  location: 'counter' | 'knife' | 'held' | 'plate' | 'delivery';
  /** For the plate: the foods inside, in the order they were put in. */
  contents: OvercookedItemKind[];
  /** Inside the agent's 5x5 view (what the model's observation reports). */
  visible: boolean;
}

export interface OvercookedPrimitiveMove {
  /** 0 right, 1 down, 2 left, 3 up, 4 stay. */
  action: number;
  /** Agent cell before and after the move; equal for stays and interactions. */
  from: [number, number];
  to: [number, number];
  /** The primitive step's own reward (before SMDP discounting). */
  reward: number;
}

export interface OvercookedRender {
  kind: 'overcooked';
  taskId: OvercookedTaskId;
  rows: number;
  cols: number;
  /** cells[x][y]: the static layout (items are listed separately). */
  cells: OvercookedCellKind[][];
  items: OvercookedItem[];
  agent: { x: number; y: number; holding: OvercookedItemKind | null };
  /** The 5x5 partial view, clipped to the grid: inclusive row and column ranges. */
  view: { x0: number; y0: number; x1: number; y1: number };
  /** The primitive moves of the last macro action (empty after reset), so a scene can animate them. */
  lastMacro: OvercookedPrimitiveMove[];
  primitiveStep: number;
  macroStep: number;
}

export type VirtualHomeRoom = 'kitchen' | 'bathroom' | 'bedroom' | 'living room';

export interface VirtualHomeObject {
  /** Stable id: 'pancake', 'microwave', 'chips', 'milk', 'tv', 'sofa', 'coffee table'. */
  id: string;
  /** The word the task's text uses for it (variants rename: 'cheese', 'dishwasher', ...). */
  label: string;
  /** The room it is in (the room drawn; for held objects, the agent's room). */
  room: VirtualHomeRoom;
  held: boolean;
  /** Supports or container it lies on/in, by id ('kitchen table', 'kitchen counter', 'microwave', ...). */
  on: string[];
  inside: string | null;
  /** Observable by the agent now (the observation's visibility rule). */
  visible: boolean;
  /** The agent is close to it. */
  close: boolean;
  /** Microwave: open or closed. */
  open?: boolean;
  /** TV: switched on or off. */
  switchedOn?: boolean;
}

export interface VirtualHomeRender {
  kind: 'virtualhome';
  taskId: VirtualHomeTaskId;
  rooms: VirtualHomeRoom[];
  agent: { room: VirtualHomeRoom; sitting: boolean; holding: string[]; facingTV: boolean };
  objects: VirtualHomeObject[];
  /** Text of the last action and whether it changed anything (failed actions are silent no-ops). */
  lastAction: { text: string; succeeded: boolean } | null;
  step: number;
}
