/** The Env contract: determinism, snapshot/restore, errors, options, observation vector and render. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { InvalidActionError, type OvercookedRender, type OvercookedTaskId, type StepResult } from '../types';
import { createOvercookedEnv, DEFAULT_OVERCOOKED_OPTIONS } from './index';
import { scenarioSnapshot } from './testing';

const TASKS: OvercookedTaskId[] = ['tomato-salad', 'tomato-lettuce-salad'];

/** Plays a seeded random episode prefix and records everything observable. */
function record(taskId: OvercookedTaskId, seed: number, macros: number) {
  const env = createOvercookedEnv(taskId);
  const rng = new Rng(seed);
  const log: unknown[] = [env.reset(seed)];
  for (let i = 0; i < macros && !env.done; i++) {
    log.push(env.step(rng.int(env.actionCount())), env.observe(), Array.from(env.symbolic()), env.render());
  }
  return log;
}

describe.each(TASKS)('%s env contract', (taskId) => {
  it('is deterministic: same actions give the same everything, whatever the reset seed', () => {
    expect(record(taskId, 3, 60)).toEqual(record(taskId, 3, 60));
    const a = createOvercookedEnv(taskId);
    const b = createOvercookedEnv(taskId);
    expect(a.reset(1)).toEqual(b.reset(999));
  });

  it('restoring a mid-episode snapshot replays identically (also after a structured clone)', () => {
    const env = createOvercookedEnv(taskId);
    const rng = new Rng(11);
    env.reset();
    for (let i = 0; i < 15; i++) env.step(rng.int(env.actionCount()));
    const snapshot = structuredClone(env.snapshot());
    const renderAtSnapshot = env.render();
    const actions = Array.from({ length: 40 }, () => rng.int(env.actionCount()));
    const play = () => {
      const out: unknown[] = [];
      for (const a of actions) {
        if (env.done) break;
        out.push(env.step(a), env.observe(), Array.from(env.symbolic()), env.render());
      }
      return out;
    };
    const first = play();
    env.restore(snapshot);
    expect(env.render()).toEqual(renderAtSnapshot);
    expect(play()).toEqual(first);
    // Into a fresh env too.
    const other = createOvercookedEnv(taskId);
    other.restore(JSON.parse(JSON.stringify(snapshot)));
    expect(other.render()).toEqual(renderAtSnapshot);
  });

  it('reset fully resets state, counters and the return', () => {
    const env = createOvercookedEnv(taskId);
    const fresh = { obs: env.reset(), render: env.render(), snap: env.snapshot() };
    const rng = new Rng(5);
    let result: StepResult | null = null;
    while (!env.done) result = env.step(rng.int(env.actionCount()));
    expect(result!.done).toBe(true);
    expect(env.reset(42)).toEqual(fresh.obs);
    expect(env.render()).toEqual(fresh.render);
    expect(env.snapshot()).toEqual(fresh.snap);
    expect(env.step(0).episodeReturn).toBeCloseTo(-0.00199, 12);
  });

  it('rejects bad indices with InvalidActionError and steps after done with an Error', () => {
    const env = createOvercookedEnv(taskId);
    env.reset();
    const n = env.actionCount();
    for (const bad of [-1, n, 1.5, Number.NaN, Infinity]) expect(() => env.step(bad)).toThrow(InvalidActionError);
    expect(() => env.step('1' as unknown as number)).toThrow(InvalidActionError);
    expect((env.render() as OvercookedRender).primitiveStep).toBe(0); // nothing happened
    const rng = new Rng(1);
    while (!env.done) env.step(rng.int(n));
    expect(() => env.step(0)).toThrow('episode is over: call reset()');
    expect(env.observe().actions).toHaveLength(n); // the final observation stays readable
  });

  it('offers all macros: ids 0..n-1, counts 5 / 8, vector length 18 / 26', () => {
    const env = createOvercookedEnv(taskId);
    const n = taskId === 'tomato-salad' ? 5 : 8;
    expect(env.actionCount()).toBe(n);
    expect(env.offeredActionIds()).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(env.observe().actions).toHaveLength(n);
    expect(env.symbolic()).toBeInstanceOf(Float32Array);
    expect(env.symbolic()).toHaveLength(taskId === 'tomato-salad' ? 18 : 26);
  });

  it('observe() and symbolic() return fresh copies', () => {
    const env = createOvercookedEnv(taskId);
    env.observe().actions[0] = 'mutated';
    env.symbolic()[0] = 99;
    expect(env.observe().actions[0]).toBe('pick up the tomato');
    expect(env.symbolic()[0]).toBe(0);
  });
});

describe('options', () => {
  it('merges partial rewards deeply over the defaults', () => {
    const env = createOvercookedEnv('tomato-salad', { rewards: { stepPenalty: -0.01 } });
    env.reset();
    const sequence = [0, 2, 4, 0, 1, 3].map((m) => env.step(m));
    expect(sequence[0].reward).toBeCloseTo(-0.01 - 0.01 * 0.99, 12);
    expect(sequence[2].reward).toBeCloseTo(-0.01 - 0.01 * 0.99 + (0.2 - 0.01) * 0.99 ** 2, 12);
    expect(DEFAULT_OVERCOOKED_OPTIONS).toEqual({
      rewards: { subtask: 0.2, correctDelivery: 1, wrongDelivery: -0.1, stepPenalty: -0.001 },
      horizon: 200,
      viewRadius: 2,
    });
  });

  it('rejects invalid options and tasks', () => {
    expect(() => createOvercookedEnv('tomato-salad', { horizon: 0 })).toThrow(RangeError);
    expect(() => createOvercookedEnv('tomato-salad', { viewRadius: -1 })).toThrow(RangeError);
    expect(() => createOvercookedEnv('pizza' as OvercookedTaskId)).toThrow(/unknown Overcooked task/);
    const env = createOvercookedEnv('tomato-salad');
    expect(() => env.restore({ taskId: 'tomato-lettuce-salad', data: {} })).toThrow(/cannot restore/);
  });

  it('viewRadius 10 reports every item (the released PPO variant)', () => {
    const full = createOvercookedEnv('tomato-lettuce-salad', { viewRadius: 10 });
    expect(Array.from(full.symbolic())).toEqual([
      0, 5, 0, 1, 6, 0, 2, 6, 0, 6, 5, 1, 0, 2, 0, 3, 0, 1, 4, 0, 0, 0, 1, 0, 0, 0,
    ]);
    expect((full.render() as OvercookedRender).view).toEqual({ x0: 0, y0: 0, x1: 6, y1: 6 });
  });
});

describe('observation vector (A.4)', () => {
  it('zeroes invisible items, reports held items at the agent and knives/delivery when in view', () => {
    const env = createOvercookedEnv('tomato-salad');
    env.restore(scenarioSnapshot({ agent: [3, 2], holding: 'plate', plate: ['tomato'], chop: { tomato: 3 } }));
    // tomato in the held plate, plate, knife1 (1,0), delivery (3,0), agent, one-hot "tomato salad"
    expect(Array.from(env.symbolic())).toEqual([3, 2, 3, 3, 2, 1, 0, 3, 0, 3, 2, 1, 0, 0, 0, 0, 0, 0]);
    env.restore(scenarioSnapshot({ agent: [5, 5] }));
    expect(Array.from(env.symbolic())).toEqual([0, 0, 0, 6, 5, 0, 0, 0, 0, 5, 5, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('render description', () => {
  it('describes cells, items, agent, view and counters', () => {
    const env = createOvercookedEnv('tomato-lettuce-salad');
    let render = env.render() as OvercookedRender;
    expect(render.kind).toBe('overcooked');
    expect(render.taskId).toBe('tomato-lettuce-salad');
    expect([render.rows, render.cols]).toEqual([7, 7]);
    expect(render.cells[1][0]).toBe('knife');
    expect(render.cells[2][0]).toBe('knife');
    expect(render.cells[3][0]).toBe('delivery');
    expect(render.cells[0][5]).toBe('counter');
    expect(render.cells[1][4]).toBe('floor');
    expect(render.items.map((i) => i.id)).toEqual(['tomato', 'lettuce', 'onion', 'plate']);
    expect(render.items.map((i) => i.visible)).toEqual([true, true, true, false]);
    expect(render.agent).toEqual({ x: 1, y: 4, holding: null });
    expect(render.view).toEqual({ x0: 0, y0: 2, x1: 3, y1: 6 });
    expect(render.lastMacro).toEqual([]);
    expect([render.primitiveStep, render.macroStep]).toEqual([0, 0]);

    env.step(0); // get tomato
    render = env.render() as OvercookedRender;
    expect(render.lastMacro).toEqual([
      { action: 0, from: [1, 4], to: [1, 5], reward: -0.001 },
      { action: 3, from: [1, 5], to: [1, 5], reward: -0.001 },
    ]);
    expect(render.agent.holding).toBe('tomato');
    expect(render.items[0]).toMatchObject({ location: 'held', x: 1, y: 5, chopCount: 0, chopped: false });
    expect([render.primitiveStep, render.macroStep]).toEqual([2, 1]);
    expect(structuredClone(render)).toEqual(render);
  });

  it('reports plate contents in the order put in, and their location', () => {
    const env = createOvercookedEnv('tomato-lettuce-salad');
    env.restore(
      scenarioSnapshot({
        task: 'tomato-lettuce-salad',
        agent: [2, 1],
        at: { plate: [1, 0] },
        plate: ['lettuce', 'tomato'],
        chop: { tomato: 3, lettuce: 3 },
      }),
    );
    const render = env.render() as OvercookedRender;
    const plate = render.items.find((i) => i.id === 'plate')!;
    expect(plate).toMatchObject({ location: 'knife', x: 1, y: 0, contents: ['lettuce', 'tomato'], visible: true });
    expect(render.items.find((i) => i.id === 'tomato')).toMatchObject({ location: 'plate', x: 1, y: 0, chopped: true });
  });
});
