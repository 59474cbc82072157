/**
 * The full (hidden) state of a VirtualHome episode, spec environments.md B.2, as plain numbers so it is
 * cheap to copy and structured-cloneable. Per-movable arrays are indexed by movable slot (scene.movables).
 */
import { KITCHEN, type Scene } from './scene';

export interface VhState {
  /** Room the character is in (scene.ts room index). */
  room: number;
  /** `C`: nodes the character is close to, as a node bitmask (task objects and their supports). */
  close: number;
  /** Held movables, as a node bitmask (two hands: at most two bits). */
  held: number;
  /**
   * What each hand holds: [right, left], a movable node or -1. A grab uses the right hand if it is free, else the
   * left (the executor's `_find_free_hand`); a put frees the hand that held the object. No rule reads which hand,
   * but it is part of the official graph state: with it the reachable Entertainment states number 322 (spec C,
   * twosome.md 4.5) instead of 224 (e.g. "milk in the right hand" and "milk in the left hand" are two states).
   */
  hands: number[];
  /**
   * True until the first successful walk: the character starts close to some non-task nodes of the scene graph
   * ("close to none of the task objects", B.1), edges that the first walk replaces. No rule reads it, but it makes
   * the initial state differ from "in the kitchen, close to nothing" reached later (fixture states 0 and 6), as
   * in the official graph: 51 / 322 reachable states rather than 50 / 321.
   */
  atStart: boolean;
  /**
   * `R_o`: the room each movable is recorded in. Changes only on a grab (current room) and on every walk while
   * held (the room being LEFT): the "stale room" behind several quirks (B.2, B.6).
   */
  objRoom: number[];
  /** `on_o`: support mask (initial supports; 0 after a grab; the coffee table after a put-back). */
  objOn: number[];
  /** `in_o`: container node (the microwave) or -1. */
  objIn: number[];
  /** Microwave open (Food Preparation). */
  open: boolean;
  /** Entertainment flags. `onSofa` is never cleared; `facingTV` is cleared by every walk (B.4). */
  tvOn: boolean;
  sitting: boolean;
  onSofa: boolean;
  facingTV: boolean;
}

/** B.1: the character starts in the kitchen, close to nothing, not sitting; objects on their initial supports. */
export function initialState(scene: Scene): VhState {
  return {
    room: KITCHEN,
    close: 0,
    held: 0,
    hands: [-1, -1],
    atStart: true,
    objRoom: scene.initialRoom.slice(),
    objOn: scene.initialOn.slice(),
    objIn: scene.movables.map(() => -1),
    open: false,
    tvOn: false,
    sitting: false,
    onSofa: false,
    facingTV: false,
  };
}

export function cloneState(s: VhState): VhState {
  return {
    room: s.room,
    close: s.close,
    held: s.held,
    hands: s.hands.slice(),
    atStart: s.atStart,
    objRoom: s.objRoom.slice(),
    objOn: s.objOn.slice(),
    objIn: s.objIn.slice(),
    open: s.open,
    tvOn: s.tvOn,
    sitting: s.sitting,
    onSofa: s.onSofa,
    facingTV: s.facingTV,
  };
}

/** A canonical string of the full state (state-graph searches, tests). Two states with equal keys behave identically. */
export function stateKey(s: VhState): string {
  const flags =
    (s.open ? 1 : 0) |
    (s.tvOn ? 2 : 0) |
    (s.sitting ? 4 : 0) |
    (s.onSofa ? 8 : 0) |
    (s.facingTV ? 16 : 0) |
    (s.atStart ? 32 : 0);
  return `${s.room}|${s.close}|${s.hands.join(',')}|${s.objRoom.join(',')}|${s.objOn.join(',')}|${s.objIn.join(',')}|${flags}`;
}

/** Number of objects held. */
export function heldCount(s: VhState): number {
  let n = 0;
  for (let m = s.held; m; m &= m - 1) n++;
  return n;
}
