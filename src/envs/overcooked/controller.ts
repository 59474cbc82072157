/**
 * The macro-action controller (spec A.5): the navigation rule, the per-primitive-step decision table and the
 * loop that runs one macro to its end, recording its primitive moves into a preallocated buffer.
 *
 * Targets are read from the true state: the spec shows the controller's belief map always equals it on
 * map A with one agent (A.5 "Belief map").
 */
import {
  CHOP,
  CHOPPED_AT,
  COL,
  DOWN,
  GET_FOOD,
  GET_PLATE,
  GO_TO_KNIFE,
  INTO,
  KNIFE,
  LEFT,
  MOVE_OFFSET,
  NO_ITEM,
  PLATE,
  RIGHT,
  ROW,
  STAND,
  STAY,
  UP,
  type TaskLayout,
} from './layout';
import { applyPrimitive, isTerminal, type OvercookedRewards } from './primitive';
import type { OvercookedState } from './state';
import { inView } from './view';

/** The fixed SMDP discount of a macro's reward (A.5: 0.99, not PPO's gamma). */
export const MACRO_DISCOUNT = 0.99;

/**
 * No reachable macro takes more than about a dozen primitive steps; this cap only guards against the one
 * loop the tables allow in states macros cannot reach (`get plate` holding a chopped food while the plate's
 * cell shows another code, so the food never goes in).
 */
export const MAX_MACRO_STEPS = 64;

// A decision packs the primitive action (bits 0-2) with the rule that says whether it ends the macro.
const CONTINUE = 0;
const END = 8;
/** `get F` walking: ends if the agent arrived next to a knife holding F unchopped. */
const END_IF_AT_UNCHOPPED_ON_KNIFE = 16;
/** `go to knife` / `deliver` walking: ends if the agent arrived with empty hands. */
const END_IF_ARRIVED_EMPTY_HANDED = 24;
const ACTION_BITS = 7;

/** The navigation rule nav(T) (A.5): vertical first toward S(T), then horizontal, then into T. */
export function navigate(agent: number, target: number): number {
  const stand = STAND[target];
  const ar = ROW[agent];
  const sr = ROW[stand];
  if (ar !== sr) return ar < sr ? DOWN : UP;
  const ac = COL[agent];
  const sc = COL[stand];
  if (ac !== sc) return ac < sc ? RIGHT : LEFT;
  return INTO[target];
}

/** The primitive moves of one macro, in preallocated buffers (materialised only for rendering). */
export class MacroTrace {
  readonly actions = new Uint8Array(MAX_MACRO_STEPS);
  readonly from = new Int8Array(MAX_MACRO_STEPS);
  readonly to = new Int8Array(MAX_MACRO_STEPS);
  readonly rewards = new Float64Array(MAX_MACRO_STEPS);
  length = 0;
  /** Sum over the macro's steps k of 0.99^k r_k. */
  smdpReward = 0;
  /** Terminal flag of the last primitive step. */
  terminal = false;

  clear(): void {
    this.length = 0;
    this.smdpReward = 0;
    this.terminal = false;
  }
}

/** Runs macro `macro` to its end (never interrupted, A.5), recording each primitive step into `trace`. */
export function runMacro(
  s: OvercookedState,
  layout: TaskLayout,
  rewards: OvercookedRewards,
  horizon: number,
  radius: number,
  macro: number,
  trace: MacroTrace,
): void {
  trace.clear();
  let discount = 1;
  let smdp = 0;
  let n = 0;
  for (;;) {
    const decision = decide(s, layout, macro, radius);
    const action = decision & ACTION_BITS;
    const from = s.agent;
    const reward = applyPrimitive(s, layout, rewards, action);
    trace.actions[n] = action;
    trace.from[n] = from;
    trace.to[n] = s.agent;
    trace.rewards[n] = reward;
    n++;
    smdp += discount * reward;
    discount *= MACRO_DISCOUNT;
    // A correct delivery always is a macro's last step; stopping on it anyway keeps success terminal.
    if (s.delivered || n === MAX_MACRO_STEPS || macroEnds(s, layout, macro, decision & ~ACTION_BITS)) break;
  }
  trace.length = n;
  trace.smdpReward = smdp;
  trace.terminal = isTerminal(s, horizon);
}

/** Evaluates a decision's end rule on the state after its primitive step. */
function macroEnds(s: OvercookedState, layout: TaskLayout, macro: number, rule: number): boolean {
  if (rule === END) return true;
  if (rule === CONTINUE) return false;
  const target = macroTarget(s, layout, macro);
  const adjacent = s.agent === STAND[target];
  if (rule === END_IF_ARRIVED_EMPTY_HANDED) return adjacent && s.holding === NO_ITEM;
  // END_IF_AT_UNCHOPPED_ON_KNIFE: "a knife is at T and F (at T) is unchopped".
  const food = layout.macroArg[macro];
  return adjacent && s.grid[target] === KNIFE && s.chopCount[food] < CHOPPED_AT;
}

function macroTarget(s: OvercookedState, layout: TaskLayout, macro: number): number {
  const kind = layout.macroKind[macro];
  if (kind === GET_FOOD) return s.itemPos[layout.macroArg[macro]];
  if (kind === GET_PLATE) return s.itemPos[PLATE];
  return layout.macroArg[macro]; // a knife cell or the delivery cell
}

/** The per-primitive-step decision table of A.5, on the state before the step. */
function decide(s: OvercookedState, layout: TaskLayout, macro: number, radius: number): number {
  const kind = layout.macroKind[macro];
  const agent = s.agent;

  if (kind === CHOP) {
    for (let dir = RIGHT; dir <= UP; dir++) {
      const cell = agent + MOVE_OFFSET[dir];
      const onKnife = s.slot[cell];
      if (s.grid[cell] === KNIFE && onKnife !== NO_ITEM && onKnife !== PLATE && s.chopCount[onKnife] < CHOPPED_AT) {
        // Three steps toward the knife whether or not they chop (full hands just bump).
        if (++s.chopCounter < 3) return dir | CONTINUE;
        s.chopCounter = 0;
        return dir | END;
      }
    }
    return STAY | END; // the chop counter is deliberately left as it is
  }

  const target = macroTarget(s, layout, macro);
  const adjacent = agent === STAND[target];

  if (kind === GET_FOOD) {
    // F sits in the plate (held or not) and the spot is in view: nothing to pick up.
    if (s.itemPos[PLATE] === target && inView(agent, target, radius)) return STAY | END;
    if (target === agent) return STAY | END; // F is in hand
    if (!adjacent) return navigate(agent, target) | END_IF_AT_UNCHOPPED_ON_KNIFE;
    const onKnife = s.slot[target];
    if (s.grid[target] === KNIFE && onKnife !== NO_ITEM && onKnife !== PLATE && s.chopCount[onKnife] < CHOPPED_AT) {
      return STAY | END;
    }
    return INTO[target] | END;
  }

  if (kind === GET_PLATE) {
    if (target === agent) return STAY | END; // the plate is in hand
    if (!adjacent) return navigate(agent, target) | CONTINUE;
    const held = s.holding;
    if (held !== NO_ITEM && held !== PLATE) {
      // A chopped food goes into the plate first and the next step decides again (pick-up or stay).
      return s.chopCount[held] >= CHOPPED_AT ? INTO[target] | CONTINUE : STAY | END;
    }
    return INTO[target] | END;
  }

  if (kind === GO_TO_KNIFE) {
    if (!adjacent) return navigate(agent, target) | END_IF_ARRIVED_EMPTY_HANDED;
    return s.holding === NO_ITEM ? STAY | END : INTO[target] | END;
  }

  // deliver (the remaining kind)
  if (!adjacent) return navigate(agent, target) | END_IF_ARRIVED_EMPTY_HANDED;
  return INTO[target] | END;
}
