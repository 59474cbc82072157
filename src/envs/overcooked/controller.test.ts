/**
 * The macro controller (spec A.5): navigation, the per-step decision table, the macro outcome table and
 * its "consequences worth testing", the chop counter and the horizon.
 */
import { describe, expect, it } from 'vitest';
import type { OvercookedRender } from '../types';
import type { OvercookedSnapshotData } from './env';
import { createOvercookedEnv } from './index';
import { DOWN, LEFT, RIGHT, STAY, UP } from './layout';
import { scenarioSnapshot, type Scenario } from './testing';

// Macro indices (A.5).
const T0 = { tomato: 0, plate: 1, knife: 2, deliver: 3, chop: 4 };
const T3 = { tomato: 0, lettuce: 1, onion: 2, plate: 3, knife1: 4, knife2: 5, deliver: 6, chop: 7 };

function run(scenario: Scenario, ...macros: number[]) {
  const env = createOvercookedEnv(scenario.task ?? 'tomato-salad');
  env.restore(scenarioSnapshot(scenario));
  const results = macros.map((m) => env.step(m));
  const render = env.render() as OvercookedRender;
  const state = (env.snapshot().data as OvercookedSnapshotData).state;
  const item = (id: string) => render.items.find((i) => i.id === id)!;
  return { env, result: results[results.length - 1], results, render, state, item };
}

const moves = (render: OvercookedRender) => render.lastMacro.map((m) => m.action);

describe('navigation and walking macros', () => {
  it('walks vertical-first: deliver with empty hands from the start stops on arrival after 5 moves', () => {
    const { result, render } = run({}, T0.deliver);
    expect(result.primitiveSteps).toBe(5);
    expect(moves(render)).toEqual([DOWN, DOWN, LEFT, LEFT, LEFT]);
    expect(render.lastMacro.map((m) => m.to)).toEqual([
      [2, 4],
      [3, 4],
      [3, 3],
      [3, 2],
      [3, 1],
    ]);
    expect(render.lastMacro.every((m) => Math.abs(m.reward + 0.001) < 1e-12)).toBe(true);
  });

  it('empty-handed go to knife ends on arrival (distance steps), or takes 1 stay if already there', () => {
    const walk = run({}, T0.knife);
    expect(walk.result.primitiveSteps).toBe(3);
    expect([walk.render.agent.x, walk.render.agent.y]).toEqual([1, 1]);
    const there = run({ agent: [1, 1] }, T0.knife);
    expect(there.result.primitiveSteps).toBe(1);
    expect(moves(there.render)).toEqual([STAY]);
  });

  it('deliver already adjacent with empty hands bumps once (no effect, still one step)', () => {
    const { result, render } = run({ agent: [3, 1] }, T0.deliver);
    expect(result.primitiveSteps).toBe(1);
    expect(moves(render)).toEqual([LEFT]);
    expect(result.reward).toBeCloseTo(-0.001, 12);
  });

  it('get F with F unchopped on a knife ends on arrival, or takes 1 stay when adjacent', () => {
    const walk = run({ agent: [3, 3], at: { tomato: [1, 0] } }, T0.tomato);
    expect(walk.result.primitiveSteps).toBe(4);
    expect(walk.render.agent.holding).toBeNull();
    const there = run({ agent: [1, 1], at: { tomato: [1, 0] }, chop: { tomato: 2 } }, T0.tomato);
    expect(moves(there.render)).toEqual([STAY]);
  });

  it('get F on a counter: distance + 1 (walk, pick up)', () => {
    const { result, render } = run({}, T0.tomato);
    expect(result.primitiveSteps).toBe(2);
    expect(moves(render)).toEqual([RIGHT, UP]);
    expect(render.agent.holding).toBe('tomato');
  });

  it('get F with another food in hand walks and bumps', () => {
    const { result, render } = run({ task: 'tomato-lettuce-salad', agent: [3, 5], holding: 'lettuce' }, T3.tomato);
    expect(result.primitiveSteps).toBe(3);
    expect(moves(render)).toEqual([UP, UP, UP]);
    expect(render.agent.holding).toBe('lettuce');
  });

  it('get F with the plate in hand: a chopped F goes into the plate, an unchopped one is bumped', () => {
    const chopped = run({ agent: [3, 5], holding: 'plate', chop: { tomato: 3 } }, T0.tomato);
    expect(chopped.result.primitiveSteps).toBe(3);
    expect(chopped.item('plate').contents).toEqual(['tomato']);
    const unchopped = run({ agent: [3, 5], holding: 'plate' }, T0.tomato);
    expect(unchopped.result.primitiveSteps).toBe(3);
    expect(unchopped.item('plate').contents).toEqual([]);
    const onKnife = run({ agent: [3, 1], holding: 'plate', at: { tomato: [1, 0] }, chop: { tomato: 3 } }, T0.tomato);
    expect(onKnife.result.primitiveSteps).toBe(3);
    expect(onKnife.item('plate').contents).toEqual(['tomato']);
  });

  it('get F with F in the plate in view, or in hand, takes 1 stay', () => {
    const inPlate = run({ agent: [4, 5], plate: ['tomato'], chop: { tomato: 3 } }, T0.tomato);
    expect(moves(inPlate.render)).toEqual([STAY]);
    const held = run({ agent: [3, 3], holding: 'tomato' }, T0.tomato);
    expect(moves(held.render)).toEqual([STAY]);
    const heldPlate = run({ agent: [3, 3], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } }, T0.tomato);
    expect(moves(heldPlate.render)).toEqual([STAY]);
  });

  it('get F with F in an out-of-view plate walks (vertical-first) until it is in view, then stays once', () => {
    const { result, render } = run({ agent: [1, 1], plate: ['tomato'], chop: { tomato: 3 } }, T0.tomato);
    expect(moves(render)).toEqual([DOWN, DOWN, DOWN, DOWN, RIGHT, RIGHT, STAY]);
    expect(result.primitiveSteps).toBe(7);
    expect([render.agent.x, render.agent.y]).toEqual([5, 3]);
  });
});

describe('get plate', () => {
  it('on a counter with empty hands: distance + 1', () => {
    const { result, render } = run({}, T0.plate);
    expect(result.primitiveSteps).toBe(6);
    expect(render.agent.holding).toBe('plate');
  });

  it('with a chopped food in hand: distance + 2 (food into the plate, then pick-up)', () => {
    const { result, render, item } = run({ agent: [1, 1], holding: 'tomato', chop: { tomato: 3 } }, T0.plate);
    expect(result.primitiveSteps).toBe(10);
    expect(moves(render).slice(-2)).toEqual([DOWN, DOWN]);
    expect(render.agent.holding).toBe('plate');
    expect(item('plate').contents).toEqual(['tomato']);
  });

  it('on a knife with a chopped food in hand: take the plate with the food in it, then 1 stay', () => {
    const { result, render, item } = run(
      { agent: [3, 3], holding: 'tomato', chop: { tomato: 3 }, at: { plate: [1, 0] } },
      T0.plate,
    );
    expect(result.primitiveSteps).toBe(6);
    expect(moves(render).slice(-2)).toEqual([LEFT, STAY]);
    expect(render.agent.holding).toBe('plate');
    expect(item('plate').contents).toEqual(['tomato']);
  });

  it('on a knife with empty hands: walk and pick up', () => {
    const { result, render } = run({ agent: [3, 3], at: { plate: [1, 0] } }, T0.plate);
    expect(result.primitiveSteps).toBe(5);
    expect(render.agent.holding).toBe('plate');
  });

  it('with an unchopped food in hand: walk, then 1 stay', () => {
    const { result, render } = run({ agent: [1, 5], holding: 'tomato' }, T0.plate);
    expect(result.primitiveSteps).toBe(5);
    expect(moves(render)).toEqual([DOWN, DOWN, DOWN, DOWN, STAY]);
    expect(render.agent.holding).toBe('tomato');
  });

  it('already holding the plate: 1 stay', () => {
    const { render } = run({ agent: [2, 2], holding: 'plate' }, T0.plate);
    expect(moves(render)).toEqual([STAY]);
  });
});

describe('go to knife', () => {
  it('with a food: walk and put it on an empty knife (distance + 1)', () => {
    const { result, item } = run({ agent: [1, 5], holding: 'tomato' }, T0.knife);
    expect(result.primitiveSteps).toBe(5);
    expect(item('tomato').location).toBe('knife');
  });

  it('with a food onto a knife holding another food: bump', () => {
    const { result, render } = run(
      { task: 'tomato-lettuce-salad', agent: [3, 3], holding: 'lettuce', at: { tomato: [1, 0] } },
      T3.knife1,
    );
    expect(result.primitiveSteps).toBe(5);
    expect(render.agent.holding).toBe('lettuce');
  });

  it.each<[string, Scenario]>([
    [
      'a chopped food onto a knife holding the plate: food into it, agent takes the plate',
      { agent: [1, 1], holding: 'tomato', chop: { tomato: 3 }, at: { plate: [1, 0] } },
    ],
    [
      'the plate onto a knife with a chopped food: food into the plate',
      { agent: [1, 1], holding: 'plate', chop: { tomato: 3 }, at: { tomato: [1, 0] } },
    ],
  ])('with %s', (_name, scenario) => {
    const { render, item } = run(scenario, T0.knife);
    expect(render.agent.holding).toBe('plate');
    expect(item('plate').contents).toEqual(['tomato']);
  });
});

describe('deliver', () => {
  it('a wrong delivery resets the food home unchopped', () => {
    const { result, render, item } = run({ agent: [1, 5], holding: 'tomato', chop: { tomato: 3 } }, T0.deliver);
    expect(result.primitiveSteps).toBe(7);
    expect(result.done).toBe(false);
    expect(render.lastMacro.at(-1)!.reward).toBeCloseTo(-0.101, 12);
    expect(render.agent.holding).toBeNull();
    expect(item('tomato')).toMatchObject({ x: 0, y: 5, chopCount: 0, chopped: false, location: 'counter' });
  });

  it('the right dish ends the episode with success', () => {
    const { result, item } = run(
      { agent: [3, 1], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } },
      T0.deliver,
    );
    expect(result.primitiveSteps).toBe(1);
    expect(result.done && result.success).toBe(true);
    expect(result.reward).toBeCloseTo(0.999, 12);
    expect(item('plate').location).toBe('delivery');
  });
});

describe('chop', () => {
  it('next to a knife with an unchopped food: 3 chops, +0.2 on the third', () => {
    const { result, render, item, state } = run({ agent: [1, 1], at: { tomato: [1, 0] } }, T0.chop);
    expect(moves(render)).toEqual([LEFT, LEFT, LEFT]);
    expect(result.reward).toBeCloseTo(-0.001 - 0.001 * 0.99 + 0.199 * 0.99 ** 2, 12);
    expect(item('tomato').chopped).toBe(true);
    expect(state.chopCounter).toBe(0);
  });

  it('with full hands still spends 3 steps (bumps)', () => {
    const { result, item, render } = run({ agent: [1, 1], holding: 'plate', at: { tomato: [1, 0] } }, T0.chop);
    expect(result.primitiveSteps).toBe(3);
    expect(moves(render)).toEqual([LEFT, LEFT, LEFT]);
    expect(item('tomato').chopCount).toBe(0);
  });

  it('with nothing choppable next to the agent: 1 stay', () => {
    expect(moves(run({ agent: [3, 3] }, T0.chop).render)).toEqual([STAY]);
    // a chopped food on the knife is nothing to chop
    expect(moves(run({ agent: [1, 1], at: { tomato: [1, 0] }, chop: { tomato: 3 } }, T0.chop).render)).toEqual([STAY]);
  });

  it('scans right, down, left, up and picks the knife holding an unchopped food', () => {
    const { render } = run({ task: 'tomato-lettuce-salad', agent: [2, 1], at: { lettuce: [2, 0] } }, T3.chop);
    expect(moves(render)).toEqual([LEFT, LEFT, LEFT]);
  });

  it('a stay does not reset the chop counter, so the next chop macro is shorter', () => {
    const stay = run({ agent: [3, 3], chopCounter: 1 }, T0.chop);
    expect(stay.result.primitiveSteps).toBe(1);
    expect(stay.state.chopCounter).toBe(1);
    const { results, item } = run({ agent: [1, 1], at: { tomato: [1, 0] }, chopCounter: 1 }, T0.chop, T0.chop);
    expect(results[0].primitiveSteps).toBe(2); // the counter goes 2, 3
    expect(results[1].primitiveSteps).toBe(2); // one chop finishes the tomato, then a stay
    expect(item('tomato').chopped).toBe(true);
  });

  it('reset() clears the chop counter', () => {
    const env = createOvercookedEnv('tomato-salad');
    env.restore(scenarioSnapshot({ agent: [3, 3], chopCounter: 2 }));
    env.reset();
    expect((env.snapshot().data as OvercookedSnapshotData).state.chopCounter).toBe(0);
  });
});

describe('horizon', () => {
  it('an episode crossing 200 primitive steps finishes its macro and reports done', () => {
    const { result, render, env } = run({ envStep: 198 }, T0.plate);
    expect(result.primitiveSteps).toBe(6);
    expect(result.done).toBe(true);
    expect(result.success).toBe(false);
    expect(render.primitiveStep).toBe(204);
    expect(env.done).toBe(true);
    // Rewards after step 200 still count.
    const expected = [0, 1, 2, 3, 4, 5].reduce((sum, k) => sum - 0.001 * 0.99 ** k, 0);
    expect(result.reward).toBeCloseTo(expected, 12);
  });

  it('a macro ending exactly at 200 is terminal; one ending before is not', () => {
    expect(run({ envStep: 199 }, T0.chop).result.done).toBe(true);
    expect(run({ envStep: 193 }, T0.plate).result.done).toBe(false);
  });

  it('honours a custom horizon', () => {
    const env = createOvercookedEnv('tomato-salad', { horizon: 3 });
    env.reset();
    expect(env.step(T0.chop).done).toBe(false);
    expect(env.step(T0.tomato).done).toBe(true); // steps 2 and 3
  });
});
