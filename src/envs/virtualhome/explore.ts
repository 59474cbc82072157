/**
 * Exhaustive search of a task's reachable state graph under the OFFERED actions (twosome.md 4.5, 4.6; spec
 * environments.md C): states keyed by the full hidden state, success states not expanded, the horizon ignored.
 * Used by the tests and available to tools that want exact optimal returns or dead ends.
 */
import type { VirtualHomeTaskId } from '../types';
import { actionDefs, applyAction } from './rules';
import { isSuccess, observationBits } from './observation';
import { cloneState, initialState, stateKey, type VhState } from './state';
import { taskSpec } from './variants';

export interface GraphTransition {
  /** Global action id taken (an offered one). */
  actionId: number;
  to: number;
  reward: number;
  succeeded: boolean;
}

export interface GraphState {
  key: string;
  state: VhState;
  bits: number;
  prompt: string;
  actionIds: readonly number[];
  success: boolean;
  /** Fewest offered actions from the initial state. */
  depth: number;
  /** Empty for success states. */
  next: GraphTransition[];
}

export interface StateGraph {
  states: GraphState[];
  transitionCount: number;
  distinctObservations: number;
  /** Non-success states from which no success state is reachable. */
  deadEnds: number;
  /** Fewest steps to success, or -1. */
  shortestSuccess: number;
}

export function exploreStateGraph(taskId: VirtualHomeTaskId): StateGraph {
  const spec = taskSpec(taskId);
  const scene = spec.scene;
  const defs = actionDefs(scene);
  const index = new Map<string, number>();
  const states: GraphState[] = [];
  const add = (s: VhState, depth: number): number => {
    const key = stateKey(s);
    const known = index.get(key);
    if (known !== undefined) return known;
    const bits = observationBits(scene, s);
    const view = spec.text(bits);
    states.push({
      key,
      state: s,
      bits,
      prompt: view.prompt,
      actionIds: view.actionIds,
      success: isSuccess(scene, bits),
      depth,
      next: [],
    });
    index.set(key, states.length - 1);
    return states.length - 1;
  };
  add(initialState(scene), 0);
  let transitionCount = 0;
  for (let i = 0; i < states.length; i++) {
    const node = states[i];
    if (node.success) continue;
    for (const id of node.actionIds) {
      const s = cloneState(node.state);
      const succeeded = applyAction(scene, s, defs[id]);
      const to = add(s, node.depth + 1);
      node.next.push({ actionId: id, to, reward: states[to].success ? 1 : 0, succeeded });
      transitionCount++;
    }
  }
  // Backward reachability of success.
  const canSucceed = states.map((s) => s.success);
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i < states.length; i++) {
      if (!canSucceed[i] && states[i].next.some((t) => canSucceed[t.to])) {
        canSucceed[i] = true;
        changed = true;
      }
    }
  }
  const successDepths = states.filter((s) => s.success).map((s) => s.depth);
  return {
    states,
    transitionCount,
    distinctObservations: new Set(states.map((s) => s.bits)).size,
    deadEnds: canSucceed.filter((c) => !c).length,
    shortestSuccess: successDepths.length ? Math.min(...successDepths) : -1,
  };
}
