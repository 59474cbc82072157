/**
 * The reachable state graphs under the offered actions, against the spec's computed numbers (environments.md C,
 * twosome.md 4.5 and 4.6), and the variants' graphs against Food Preparation's under the B.9 substitution.
 */
import { describe, expect, it } from 'vitest';
import { OPTIMAL_PLANS } from '../testing';
import { exploreStateGraph } from './explore';
import { ENT } from './observation';
import { actionDefs, applyAction } from './rules';
import { cloneState, stateKey } from './state';
import { VARIANT_WORDS, createVirtualHomeEnv, globalActionTexts } from './index';
import { substituteFoodWords } from './food-preparation-text';
import { taskSpec } from './variants';
import type { VirtualHomeTaskId } from '../types';

describe('reachable state graphs (offered actions, full-state keys)', () => {
  it.each([
    ['food-preparation', { states: 51, transitions: 197, observations: 19, deadEnds: 0, optimum: 6, mostActions: 7 }],
    ['entertainment', { states: 322, transitions: 1340, observations: 100, deadEnds: 37, optimum: 11, mostActions: 7 }],
  ] as const)('%s: %o', (task, expected) => {
    const g = exploreStateGraph(task);
    expect({
      states: g.states.length,
      transitions: g.transitionCount,
      observations: g.distinctObservations,
      deadEnds: g.deadEnds,
      optimum: g.shortestSuccess,
      mostActions: Math.max(...g.states.map((s) => s.actionIds.length)),
    }).toEqual(expected);
  });

  it('Food Preparation: two success states', () => {
    const g = exploreStateGraph('food-preparation');
    expect(g.states.filter((s) => s.success).length).toBe(2);
  });

  it('Entertainment: at least 3 actions offered; at most one of coffee table, TV and sofa close', () => {
    const g = exploreStateGraph('entertainment');
    expect(Math.min(...g.states.map((s) => s.actionIds.length))).toBe(3);
    // The original obs2text asserts that at most one of the coffee table, the TV and the sofa is close.
    for (const s of g.states) {
      const n = [ENT.closeToCoffeeTable, ENT.closeToTv, ENT.closeToSofa].filter((f) => s.bits & f).length;
      expect(n).toBeLessThanOrEqual(1);
    }
  });

  it('optimal logged returns: 0.95^5 (Food Preparation) and 0.95^10 (Entertainment) along the spec plans', () => {
    const plans: [VirtualHomeTaskId, string[], number][] = [
      ['food-preparation', OPTIMAL_PLANS['food-preparation'], 0.7738],
      ['entertainment', OPTIMAL_PLANS.entertainment, 0.5987],
    ];
    for (const [task, plan, rounded] of plans) {
      const env = createVirtualHomeEnv(task);
      env.reset();
      let r;
      for (const [t, text] of plan.entries()) {
        const i = env.observe().actions.indexOf(text);
        expect(i, `${task} step ${t}: "${text}" offered`).toBeGreaterThanOrEqual(0);
        r = env.step(i);
        expect(r.done).toBe(t === plan.length - 1);
      }
      expect(r!.success).toBe(true);
      expect(r!.reward).toBe(1);
      expect(r!.episodeReturn).toBeCloseTo(0.95 ** (plan.length - 1), 12);
      expect(r!.episodeReturn).toBeCloseTo(rounded, 4);
    }
  });

  it('every global action id from every reachable state: a failed action changes nothing', () => {
    for (const task of ['food-preparation', 'entertainment'] as const) {
      const g = exploreStateGraph(task);
      const scene = taskSpec(task).scene;
      const defs = actionDefs(scene);
      let pairs = 0;
      for (const node of g.states) {
        for (let id = 0; id < defs.length; id++) {
          const s = cloneState(node.state);
          if (!applyAction(scene, s, defs[id])) expect(stateKey(s)).toBe(node.key);
          pairs++;
        }
      }
      expect(pairs).toBe(g.states.length * globalActionTexts(task).length);
    }
  });

  it.each(Object.keys(VARIANT_WORDS).filter((t) => t !== 'food-preparation') as VirtualHomeTaskId[])(
    'variant %s: the whole reachable graph is Food Preparation under the word substitution',
    (task) => {
      const words = VARIANT_WORDS[task as keyof typeof VARIANT_WORDS];
      const base = exploreStateGraph('food-preparation');
      const g = exploreStateGraph(task);
      expect(g.states.length).toBe(base.states.length);
      expect(g.transitionCount).toBe(base.transitionCount);
      const texts = globalActionTexts(task);
      expect(texts).toEqual(globalActionTexts('food-preparation').map((t) => substituteFoodWords(t, words)));
      g.states.forEach((s, i) => {
        const b = base.states[i];
        expect(s.key).toBe(b.key);
        expect(s.bits).toBe(b.bits);
        expect(s.actionIds).toEqual(b.actionIds);
        expect(s.prompt).toBe(substituteFoodWords(b.prompt, words));
        expect(s.next).toEqual(b.next);
      });
    },
  );
});
