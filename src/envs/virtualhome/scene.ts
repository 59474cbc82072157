/**
 * The static facts of the two VirtualHome scenes (spec environments.md B.1): rooms, the task objects, the
 * supports they initially lie on, and where the static objects stand. Everything the rules need about the
 * official `turn_on_tv.json` graph is reduced to these tables; nodes are small integers so the closeness set
 * and the support sets are bitmasks.
 */
import type { VirtualHomeRoom } from '../types';

/** Room indices, in the order of the observation's one-hot (`in_kitchen, in_bathroom, in_bedroom, in_livingroom`). */
export const KITCHEN = 0;
export const BATHROOM = 1;
export const BEDROOM = 2;
export const LIVING_ROOM = 3;

export const ROOM_NAMES: readonly VirtualHomeRoom[] = ['kitchen', 'bathroom', 'bedroom', 'living room'];

/** Which of the two VirtualHome scenes (their rooms, objects and rules) a task runs in. */
export type SceneId = 'food-preparation' | 'entertainment';

export interface Scene {
  id: SceneId;
  /** Node ids, indexed by node number (bit position in the closeness / support masks). */
  nodes: readonly string[];
  /**
   * Node numbers of the movable objects, in observation order (pancake; chips, milk). Invariant: they are the
   * nodes 0..k-1, so a movable's node number is also its slot in the per-movable state arrays.
   */
  movables: readonly number[];
  /** Room of each static object that can be named by an action (microwave; TV, sofa, coffee table); -1 otherwise. */
  staticRoom: readonly number[];
  /** Support mask of each static node (what it stands on; fixed). */
  staticOn: readonly number[];
  /** Initial room and support mask of each movable, by movable slot. */
  initialRoom: readonly number[];
  initialOn: readonly number[];
  /** Special nodes, -1 where the scene has none. */
  microwave: number;
  /** What the microwave holds from the start (a plate): joins the closeness set when walking to the microwave (B.4). */
  microwaveFixedContents: number;
  tv: number;
  sofa: number;
  coffeeTable: number;
}

export const bit = (node: number): number => (node < 0 ? 0 : 1 << node);

/** Node numbers by id: each node's index in the scene's `nodes` (the one place that fixes their order). */
function nodeNumbers<Id extends string>(nodes: readonly Id[]): (id: Id) => number {
  return (id) => nodes.indexOf(id);
}

// --- Food Preparation (B.1): pancake on the kitchen table; microwave on a kitchen counter and a counter drawer,
// closed, off, containing a plate.
const FP_NODES = ['pancake', 'microwave', 'kitchen table', 'kitchen counter', 'counter drawer', 'plate'] as const;
const fp = nodeNumbers(FP_NODES);

export const FOOD_PREPARATION_SCENE: Scene = {
  id: 'food-preparation',
  nodes: FP_NODES,
  movables: [fp('pancake')],
  staticRoom: [-1, KITCHEN, -1, -1, -1, -1],
  staticOn: [0, bit(fp('kitchen counter')) | bit(fp('counter drawer')), 0, 0, 0, 0],
  initialRoom: [KITCHEN],
  initialOn: [bit(fp('kitchen table'))],
  microwave: fp('microwave'),
  microwaveFixedContents: bit(fp('plate')),
  tv: -1,
  sofa: -1,
  coffeeTable: -1,
};

// --- Entertainment (B.1): chips on the dishwasher and a kitchen counter; milk on the kitchen table; TV on the TV
// stand and a chair (living room, off); sofa (living room, on nothing); coffee table (living room, on the floor).
// The chips' supports are listed dishwasher first: a grab adds the "first support" (B.4), see rules.ts.
const ENT_NODES = [
  'chips',
  'milk',
  'tv',
  'sofa',
  'coffee table',
  'dishwasher',
  'kitchen counter',
  'kitchen table',
  'tv stand',
  'chair',
  'floor',
] as const;
const ent = nodeNumbers(ENT_NODES);
export const ENT_CHIPS = ent('chips');
export const ENT_MILK = ent('milk');

export const ENTERTAINMENT_SCENE: Scene = {
  id: 'entertainment',
  nodes: ENT_NODES,
  movables: [ENT_CHIPS, ENT_MILK],
  staticRoom: [-1, -1, LIVING_ROOM, LIVING_ROOM, LIVING_ROOM, -1, -1, -1, -1, -1, -1],
  staticOn: [0, 0, bit(ent('tv stand')) | bit(ent('chair')), 0, bit(ent('floor')), 0, 0, 0, 0, 0, 0],
  initialRoom: [KITCHEN, KITCHEN],
  initialOn: [bit(ent('dishwasher')) | bit(ent('kitchen counter')), bit(ent('kitchen table'))],
  microwave: -1,
  microwaveFixedContents: 0,
  tv: ent('tv'),
  sofa: ent('sofa'),
  coffeeTable: ent('coffee table'),
};

/** Node ids of a support mask, in node order. */
export function maskToIds(scene: Scene, mask: number): string[] {
  const out: string[] = [];
  for (let n = 0; n < scene.nodes.length; n++) if (mask & (1 << n)) out.push(scene.nodes[n]);
  return out;
}
