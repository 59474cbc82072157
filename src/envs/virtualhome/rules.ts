/**
 * Action semantics of the simplified VirtualHome executor, spec environments.md B.3 (validity, silent failure,
 * near()) and B.4 (per-action preconditions and effects). Every global action id can be applied in every state,
 * offered or not: the official env accepts any index and an impossible script is a silent no-op (twosome.md 4.4).
 */
import { bit, KITCHEN, LIVING_ROOM, BATHROOM, BEDROOM, type Scene } from './scene';
import { heldCount, type VhState } from './state';

export type ActionDef =
  | { kind: 'walk-room'; room: number }
  | { kind: 'walk'; target: number }
  | { kind: 'grab'; obj: number }
  | { kind: 'put-in'; obj: number; dest: number }
  | { kind: 'put-on'; obj: number; dest: number }
  | { kind: 'open'; target: number }
  | { kind: 'close'; target: number }
  | { kind: 'switch-on'; target: number }
  | { kind: 'switch-off'; target: number }
  | { kind: 'sit'; target: number }
  | { kind: 'stand-up' };

/** Room walks 0..3 are shared by both tasks (B.4): living room, kitchen, bathroom, bedroom. */
const ROOM_WALKS: readonly ActionDef[] = [
  { kind: 'walk-room', room: LIVING_ROOM },
  { kind: 'walk-room', room: KITCHEN },
  { kind: 'walk-room', room: BATHROOM },
  { kind: 'walk-room', room: BEDROOM },
];

/** Food Preparation global ids 0..9 (B.4). Node numbers from scene.ts: pancake 0, microwave 1. */
export const FOOD_PREPARATION_ACTION_DEFS: readonly ActionDef[] = [
  ...ROOM_WALKS,
  { kind: 'walk', target: 0 }, // 4 walk to the pancake
  { kind: 'walk', target: 1 }, // 5 walk to the microwave
  { kind: 'grab', obj: 0 }, // 6 grab the pancake
  { kind: 'put-in', obj: 0, dest: 1 }, // 7 put the pancake in the microwave
  { kind: 'open', target: 1 }, // 8 open the microwave
  { kind: 'close', target: 1 }, // 9 close the microwave
];

/** Entertainment global ids 0..16 (B.4). Nodes: chips 0, milk 1, TV 2, sofa 3, coffee table 4. */
export const ENTERTAINMENT_ACTION_DEFS: readonly ActionDef[] = [
  ...ROOM_WALKS,
  { kind: 'walk', target: 0 }, // 4 walk to the chips
  { kind: 'walk', target: 1 }, // 5 walk to the milk
  { kind: 'walk', target: 4 }, // 6 walk to the coffee table
  { kind: 'walk', target: 2 }, // 7 walk to the TV
  { kind: 'walk', target: 3 }, // 8 walk to the sofa
  { kind: 'grab', obj: 0 }, // 9 grab the chips
  { kind: 'grab', obj: 1 }, // 10 grab the milk
  { kind: 'put-on', obj: 0, dest: 4 }, // 11 put the chips on the coffee table
  { kind: 'put-on', obj: 1, dest: 4 }, // 12 put the milk on the coffee table
  { kind: 'switch-on', target: 2 }, // 13 turn on the TV
  { kind: 'switch-off', target: 2 }, // 14 turn off the TV
  { kind: 'sit', target: 3 }, // 15 sit on the sofa
  { kind: 'stand-up' }, // 16 stand up from the sofa
];

export function actionDefs(scene: Scene): readonly ActionDef[] {
  return scene.id === 'food-preparation' ? FOOD_PREPARATION_ACTION_DEFS : ENTERTAINMENT_ACTION_DEFS;
}

const isMovable = (scene: Scene, node: number): boolean => node < scene.movables.length;

/** The pancake is hidden iff it is inside the microwave and the microwave is closed (B.5). */
function hidden(scene: Scene, s: VhState, m: number): boolean {
  return s.objIn[m] === scene.microwave && scene.microwave >= 0 && !s.open;
}

/**
 * Observability (B.5). Static objects: iff the character is in their room. A movable o: iff held, or
 * (`R_o` = room, or o is inside the microwave and room = kitchen) and o is not hidden. The stale `R_o` makes an
 * object filed under another room visible there (B.6 quirks).
 */
export function observable(scene: Scene, s: VhState, node: number): boolean {
  if (!isMovable(scene, node)) return scene.staticRoom[node] === s.room;
  if (s.held & bit(node)) return true;
  const inMicrowave = scene.microwave >= 0 && s.objIn[node] === scene.microwave;
  return (s.objRoom[node] === s.room || (inMicrowave && s.room === KITCHEN)) && !hidden(scene, s, node);
}

/**
 * The container or destination a movable was put into/onto (the executor's mutual closeness after a put), or -1.
 * Derived from the state: `in_o` is only ever set by a put, and `on_o` = {coffee table} only by a put-back; both
 * are erased by a grab (and a held object lies on nothing), so no extra variable is needed.
 */
function putTarget(scene: Scene, s: VhState, m: number): number {
  if (s.objIn[m] >= 0) return s.objIn[m];
  if (scene.coffeeTable >= 0 && s.objOn[m] === bit(scene.coffeeTable)) return scene.coffeeTable;
  return -1;
}

/**
 * `near(X)` (B.3): X ∈ C, or X lies on some Y ∈ C, or some Y ∈ C was put onto/into X or X was put onto/into Y.
 * For every offered action this reduces to X ∈ C; the other clauses matter only for non-offered ids.
 */
export function near(scene: Scene, s: VhState, node: number): boolean {
  if (s.close & bit(node)) return true;
  if (isMovable(scene, node)) {
    if (s.objOn[node] & s.close) return true;
    const t = putTarget(scene, s, node);
    if (t >= 0 && s.close & bit(t)) return true;
  } else if (scene.staticOn[node] & s.close) {
    return true;
  }
  for (let m = 0; m < scene.movables.length; m++) {
    if (s.close & bit(m) && putTarget(scene, s, m) === node) return true;
  }
  return false;
}

/** Destination room of a walk (B.4): a room is its own; a static object its room; a movable its recorded `R_o`. */
function walkDestination(scene: Scene, s: VhState, def: ActionDef): number {
  if (def.kind === 'walk-room') return def.room;
  const target = (def as { target: number }).target;
  return isMovable(scene, target) ? s.objRoom[target] : scene.staticRoom[target];
}

/** Closeness after walking to an object N (B.4 walk effect 3, without the held objects). */
function closeAfterWalkTo(scene: Scene, s: VhState, n: number): number {
  if (!isMovable(scene, n)) {
    let c = bit(n) | scene.staticOn[n];
    if (n === scene.microwave) {
      // Contents of the microwave: its plate, and the pancake if inside.
      c |= scene.microwaveFixedContents;
      for (let m = 0; m < scene.movables.length; m++) if (s.objIn[m] === n) c |= bit(m);
    }
    return c;
  }
  return bit(n) | s.objOn[n] | bit(s.objIn[n]);
}

/** The lowest set bit of a mask as a node number ("first support" in scene order), or -1. */
function firstNode(mask: number): number {
  return mask === 0 ? -1 : 31 - Math.clz32(mask & -mask);
}

/**
 * Applies one global action to `s` in place. Returns whether the script succeeded; on failure (invalid,
 * i.e. a named object not observable, or a precondition false) `s` is left untouched: a silent no-op (B.3).
 */
export function applyAction(scene: Scene, s: VhState, def: ActionDef): boolean {
  switch (def.kind) {
    case 'walk-room':
    case 'walk': {
      if (def.kind === 'walk' && !observable(scene, s, def.target)) return false;
      if (s.sitting) return false; // any walk while sitting fails: the sofa trap (B.6, twosome.md 4.7)
      // dest(N) reads R_o BEFORE effect 1 re-files the held objects: B.4 lists re-filing first, but walking to
      // the pancake you hold, in the kitchen, goes to the room it was filed under (official fixture: state
      // 18 -> 9, kitchen -> living room), which only happens if the destination is taken from the old R_o.
      const dest = walkDestination(scene, s, def);
      const closeTo = def.kind === 'walk' ? closeAfterWalkTo(scene, s, def.target) : 0;
      // Effect 1: every held object is re-filed under the room being LEFT (stale room quirk, B.2 / B.6),
      // even when walking to the room the character is already in.
      for (let m = 0; m < scene.movables.length; m++) if (s.held & bit(m)) s.objRoom[m] = s.room;
      s.room = dest;
      s.facingTV = false;
      s.close = s.held | closeTo;
      s.atStart = false;
      return true;
    }
    case 'grab': {
      const o = def.obj;
      if (!observable(scene, s, o)) return false;
      if (s.held & bit(o)) return false;
      if (!near(scene, s, o)) return false;
      if (hidden(scene, s, o)) return false;
      if (heldCount(s) >= 2) return false;
      const support = s.objOn[o] !== 0 ? firstNode(s.objOn[o]) : s.objIn[o];
      s.close |= bit(o) | bit(support);
      s.held |= bit(o);
      s.hands[s.hands[0] < 0 ? 0 : 1] = o; // right hand first
      s.objOn[o] = 0;
      s.objIn[o] = -1;
      s.objRoom[o] = s.room;
      return true;
    }
    case 'put-in': {
      // Put the pancake in the microwave: needs it held, near the (open) microwave. R_pancake unchanged.
      const { obj: o, dest: d } = def;
      if (!observable(scene, s, o) || !observable(scene, s, d)) return false;
      if (!(s.held & bit(o)) || !near(scene, s, d) || !s.open) return false;
      s.held &= ~bit(o);
      s.hands[s.hands.indexOf(o)] = -1;
      s.objIn[o] = d;
      s.close |= bit(d);
      return true;
    }
    case 'put-on': {
      // Put chips/milk on the coffee table. R_o unchanged (stale: the room before the last walk), which decides
      // whether the object is seen on the table afterwards (B.6 quirk).
      const { obj: o, dest: d } = def;
      if (!observable(scene, s, o) || !observable(scene, s, d)) return false;
      if (!(s.held & bit(o)) || !near(scene, s, d)) return false;
      s.held &= ~bit(o);
      s.hands[s.hands.indexOf(o)] = -1;
      s.objOn[o] = bit(d);
      s.close |= bit(d);
      return true;
    }
    case 'open':
      if (!observable(scene, s, def.target) || !near(scene, s, def.target)) return false;
      if (heldCount(s) >= 2 || s.open) return false;
      s.open = true;
      return true;
    case 'close':
      if (!observable(scene, s, def.target) || !near(scene, s, def.target)) return false;
      if (!s.open) return false;
      s.open = false;
      return true;
    case 'switch-on':
    case 'switch-off': {
      // Both need a free hand: the TV cannot be switched on while holding the chips and the milk (B.4).
      if (!observable(scene, s, def.target) || !near(scene, s, def.target)) return false;
      if (heldCount(s) >= 2) return false;
      const on = def.kind === 'switch-on';
      if (s.tvOn === on) return false;
      s.tvOn = on;
      return true;
    }
    case 'sit':
      if (!observable(scene, s, def.target) || !near(scene, s, def.target) || s.sitting) return false;
      s.sitting = true;
      s.onSofa = true;
      s.facingTV = true;
      return true;
    case 'stand-up':
      // Clears `sitting` only; `onSofa` is never cleared and `facingTV` waits for a walk (B.4).
      if (!s.sitting) return false;
      s.sitting = false;
      return true;
  }
}
