/** Prompt and action labels (spec A.6 / A.7): the quirks, the rewrites, capitalisation and the text memo. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import type { OvercookedTaskId } from '../types';
import { createOvercookedEnv, type OvercookedOptions } from './index';
import { LAYOUTS } from './layout';
import { cachedText } from './text-cache';
import { capitalize, joinList, obsToText } from './text';
import { scenarioSnapshot, type Scenario } from './testing';

const GOAL0 = 'To serve the dish of a bowl only containing chopped tomato, you should first';
const INTRO0 = 'There is a fixed cutting board in the room.';
const GOAL3 = 'To serve the dish of a bowl only containing chopped tomato and lettuce, you should first';
const INTRO3 = 'There are two fixed cutting boards in the room.';

function observe(scenario: Scenario, options: Partial<OvercookedOptions> = {}) {
  const env = createOvercookedEnv(scenario.task ?? 'tomato-salad', options);
  env.restore(scenarioSnapshot(scenario));
  return env.observe();
}

describe('task 0 text (A.6)', () => {
  it('(2,1) also counts as in front of the board, but only (1,1) offers "chop the tomato"', () => {
    const at21 = observe({ agent: [2, 1], at: { tomato: [1, 0] } });
    expect(at21.prompt).toBe(
      `${INTRO0} An unchopped tomato is on the cutting board. Currently you are standing in front of the cutting board without anything in hand. ${GOAL0}`,
    );
    expect(at21.actions).toEqual([
      'pick up the tomato',
      'take the bowl',
      'walk to the cutting board',
      'serve nothing',
      'chop nothing',
    ]);
    expect(observe({ agent: [1, 1], at: { tomato: [1, 0] }, chop: { tomato: 3 } }).actions[4]).toBe('chop the tomato');
  });

  it('front with the bowl in hand, and away from the board with a filled bowl (no "in hand")', () => {
    expect(observe({ agent: [2, 1], holding: 'plate' }).prompt).toBe(
      `${INTRO0} Currently you are standing in front of the cutting board, carrying a bowl in hand. ${GOAL0}`,
    );
    const filled = observe({ agent: [3, 3], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } });
    expect(filled.prompt).toBe(`${INTRO0} Currently you are carrying a bowl containing chopped tomato. ${GOAL0}`);
    expect(filled.actions).toEqual([
      'put the tomato in the bowl',
      'take the bowl',
      'put the bowl on the cutting board',
      'serve the dish',
      'chop nothing',
    ]);
    expect(observe({ agent: [1, 1], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } }).prompt).toBe(
      `${INTRO0} Currently you are standing in front of the cutting board, carrying a bowl containing chopped tomato in hand. ${GOAL0}`,
    );
  });

  it('board sentences: the bowl, a filled bowl (then no "chop the tomato")', () => {
    expect(observe({ agent: [3, 2], at: { plate: [1, 0] } }).prompt).toBe(
      `${INTRO0} A bowl is on the cutting board. Currently you don't have anything in hand. ${GOAL0}`,
    );
    const filled = observe({ agent: [1, 1], at: { plate: [1, 0] }, plate: ['tomato'], chop: { tomato: 3 } });
    expect(filled.prompt).toBe(
      `${INTRO0} A bowl containing a chopped tomato is on the cutting board. Currently you are standing in front of the cutting board without anything in hand. ${GOAL0}`,
    );
    expect(filled.actions[4]).toBe('chop nothing');
  });

  it('hand sentences and labels for a food in hand', () => {
    const unchopped = observe({ agent: [3, 3], holding: 'tomato', chop: { tomato: 2 } });
    expect(unchopped.prompt).toBe(`${INTRO0} Currently you are carrying an unchopped tomato in hand. ${GOAL0}`);
    expect(unchopped.actions[2]).toBe('put the tomato on the cutting board');
    expect(unchopped.actions[3]).toBe('serve the dish');
    const chopped = observe({ agent: [3, 3], holding: 'tomato', chop: { tomato: 3 } });
    expect(chopped.prompt).toBe(`${INTRO0} Currently you are carrying a chopped tomato in hand. ${GOAL0}`);
    expect(chopped.actions[2]).toBe('walk to the cutting board');
  });

  it('notice sentences: one item, and both with the full view', () => {
    expect(observe({ agent: [4, 5] }).prompt).toBe(
      `${INTRO0} You notice a bowl on the table. Currently you don't have anything in hand. ${GOAL0}`,
    );
    expect(observe({}, { viewRadius: 10 }).prompt).toBe(
      `${INTRO0} You notice a tomato and a bowl on the different tables. Currently you don't have anything in hand. ${GOAL0}`,
    );
  });
});

describe('task 3 text (A.7)', () => {
  const task = 'tomato-lettuce-salad' as const;

  it('"take the empty bowl" stays for a filled bowl on a counter, and becomes "take the bowl" in hand or on a board', () => {
    const onCounter = observe({ task, agent: [4, 5], plate: ['tomato'], chop: { tomato: 3 } });
    expect(onCounter.prompt).toBe(
      `${INTRO3} You notice an onion and a bowl on the different tables. Currently you don't have anything in hand. ${GOAL3}`,
    );
    expect(onCounter.actions[3]).toBe('take the empty bowl');
    expect(
      observe({ task, agent: [3, 3], holding: 'plate', plate: ['lettuce'], chop: { lettuce: 3 } }).actions[3],
    ).toBe('take the bowl');
    const onBoard = observe({ task, agent: [3, 2], at: { plate: [2, 0] }, plate: ['tomato'], chop: { tomato: 3 } });
    expect(onBoard.actions[3]).toBe('take the bowl');
    expect(onBoard.prompt).toBe(
      `${INTRO3} A bowl containing chopped tomato is on the second cutting board. Currently you don't have anything in hand. ${GOAL3}`,
    );
    // An empty bowl in hand is still "the empty bowl".
    expect(observe({ task, agent: [3, 3], holding: 'plate' }).actions[3]).toBe('take the empty bowl');
  });

  it('both boards get a sentence, first then second, and the chop label follows the board in front', () => {
    const obs = observe({ task, agent: [2, 1], at: { tomato: [1, 0], lettuce: [2, 0] }, chop: { lettuce: 3 } });
    expect(obs.prompt).toBe(
      `${INTRO3} An unchopped tomato is on the first cutting board. A chopped lettuce is on the second cutting board. Currently you are standing in front of the second cutting board without anything in hand. ${GOAL3}`,
    );
    expect(obs.actions).toEqual([
      'pick up the tomato',
      'pick up the lettuce',
      'pick up the onion',
      'take the empty bowl',
      'walk to the first cutting board',
      'walk to the second cutting board',
      'serve nothing',
      'chop the lettuce',
    ]);
  });

  it('lists foods in index order (tomato, lettuce, onion), not insertion order', () => {
    const obs = observe({
      task,
      agent: [1, 1],
      holding: 'plate',
      plate: ['onion', 'lettuce', 'tomato'],
      chop: { tomato: 3, lettuce: 3, onion: 3 },
    });
    expect(obs.prompt).toBe(
      `${INTRO3} Currently you are standing in front of the first cutting board, carrying a bowl containing chopped tomato, lettuce and onion in hand. ${GOAL3}`,
    );
    expect(obs.actions.slice(0, 6)).toEqual([
      'put the tomato in the bowl',
      'put the lettuce in the bowl',
      'put the onion in the bowl',
      'take the bowl',
      'put the bowl on the first cutting board',
      'put the bowl on the second cutting board',
    ]);
    expect(
      observe({ task, agent: [4, 2], holding: 'plate', plate: ['lettuce', 'tomato'], chop: { tomato: 3, lettuce: 3 } })
        .prompt,
    ).toBe(`${INTRO3} Currently you are carrying a bowl containing chopped tomato and lettuce. ${GOAL3}`);
  });

  it('an unchopped food in hand is put on the boards; a chopped one keeps "walk to"', () => {
    const unchopped = observe({ task, agent: [3, 3], holding: 'onion' });
    expect(unchopped.prompt).toBe(`${INTRO3} Currently you are carrying an unchopped onion in hand. ${GOAL3}`);
    expect(unchopped.actions.slice(4, 6)).toEqual([
      'put the onion on the first cutting board',
      'put the onion on the second cutting board',
    ]);
    const chopped = observe({ task, agent: [3, 3], holding: 'onion', chop: { onion: 3 } });
    expect(chopped.actions.slice(4, 6)).toEqual([
      'walk to the first cutting board',
      'walk to the second cutting board',
    ]);
  });

  it('notice sentences use "an onion" and the different-tables forms', () => {
    expect(observe({ task, agent: [3, 5], at: { tomato: [1, 0] } }).prompt).toBe(
      `${INTRO3} You notice a lettuce and an onion on the different tables. Currently you don't have anything in hand. ${GOAL3}`,
    );
    expect(observe({ task, agent: [3, 5], at: { tomato: [1, 0], lettuce: [2, 0] } }).prompt).toContain(
      'You notice an onion on the table.',
    );
  });
});

describe('helpers', () => {
  it('capitalize behaves like Python str.capitalize()', () => {
    expect(capitalize("currently you don't have anything in hand.")).toBe("Currently you don't have anything in hand.");
    expect(capitalize('an unchopped tomato is on the cutting board.')).toBe(
      'An unchopped tomato is on the cutting board.',
    );
    expect(capitalize('aBC Def')).toBe('Abc def');
    expect(capitalize('')).toBe('');
  });

  it('joinList', () => {
    expect(joinList(['a'])).toBe('a');
    expect(joinList(['a', 'b'])).toBe('a and b');
    expect(joinList(['a', 'b', 'c'])).toBe('a, b and c');
    expect(joinList(['a', 'b', 'c', 'd'])).toBe('a, b, c and d');
  });
});

describe('text memo', () => {
  it.each<[OvercookedTaskId, number]>([
    ['tomato-salad', 2],
    ['tomato-lettuce-salad', 2],
    ['tomato-lettuce-salad', 10],
  ])('gives the same text as obsToText on every state of random episodes (%s, radius %i)', (taskId, viewRadius) => {
    const env = createOvercookedEnv(taskId, { viewRadius });
    const layout = LAYOUTS[taskId];
    const rng = new Rng(7);
    for (let episode = 0; episode < 100; episode++) {
      env.reset();
      for (;;) {
        const obs = env.symbolic();
        const direct = obsToText(obs, layout);
        expect(cachedText(obs, layout)).toEqual({ prompt: direct.prompt, actions: direct.actions });
        expect(env.observe()).toEqual(direct);
        if (env.done) break;
        env.step(rng.int(env.actionCount()));
      }
    }
  });
});
