// The contract every registered environment keeps, checked on random episodes of every task.
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import {
  createEnv,
  familyTitle,
  FAMILIES,
  getTask,
  lastActionEffect,
  TASK_IDS,
  TASKS,
  tasksOfFamily,
  UnknownTaskError,
} from './registry';
import { InvalidActionError } from './types';
import { overcookedTextPieces } from './overcooked';
import { createVirtualHomeEnv, VIRTUALHOME_TASK_IDS, virtualHomeTextPieces } from './virtualhome';

describe('task registry', () => {
  it('has the paper tasks and the six unseen variants', () => {
    expect(TASKS.slice(0, 4).map((t) => t.id)).toEqual([
      'tomato-salad',
      'tomato-lettuce-salad',
      'food-preparation',
      'entertainment',
    ]);
    for (const id of ['cheese', 'hamburger', 'apple-pie', 'pizza', 'washing-plate', 'laundry']) {
      expect(getTask(id).split).toBe('unseen');
    }
    expect(new Set(TASK_IDS).size).toBe(TASK_IDS.length);
    expect(() => getTask('soup')).toThrow(UnknownTaskError);
    expect(() => createEnv('soup')).toThrow(/unknown task "soup": use one of tomato-salad/);
  });

  it('registers every VirtualHome task its environment defines, and only those', () => {
    expect(TASKS.filter((t) => t.family === 'virtualhome').map((t) => t.id)).toEqual([...VIRTUALHOME_TASK_IDS]);
  });

  it('declares what each task is: unseen variants name a training task, families list their tasks', () => {
    for (const task of TASKS) {
      if (task.split === 'unseen') expect(getTask(task.variantOf ?? 'none').split, task.id).toBe('train');
      else expect(task.variantOf, task.id).toBeUndefined();
      expect(tasksOfFamily(task.family)).toContain(task);
      expect(FAMILIES.map((f) => f.family)).toContain(task.family);
    }
    expect(FAMILIES.flatMap((f) => tasksOfFamily(f.family))).toHaveLength(TASKS.length);
    expect(familyTitle('virtualhome')).toBe('VirtualHome');
  });

  it('lists in its text pieces every word its prompts and actions use (the tokenizer corpus)', () => {
    const words = (text: string) => text.match(/[A-Za-z]+/g) ?? [];
    const listed = new Set([...overcookedTextPieces(), ...virtualHomeTextPieces()].flatMap(words));
    const missing = new Set<string>();
    const rng = new Rng(3);
    for (const task of TASKS) {
      for (const options of [{}, task.releasedBaselineEnv ?? {}]) {
        const env = createEnv(task.id, options);
        for (let episode = 0; episode < 30; episode++) {
          let obs = env.reset(episode);
          while (!env.done) {
            for (const w of [obs.prompt, ...obs.actions].flatMap(words)) {
              if (!listed.has(w)) missing.add(`${task.id}: ${w}`);
            }
            env.step(rng.int(obs.actions.length));
            obs = env.observe();
          }
        }
      }
    }
    expect([...missing]).toEqual([]);
  });

  it("says whether the last action took effect where the environment reports it (VirtualHome's silent no-ops)", () => {
    const home = createVirtualHomeEnv('food-preparation');
    home.reset(0);
    expect(lastActionEffect(home.render())).toBeUndefined(); // nothing done yet
    home.stepGlobal(6); // grab the pancake, far from it: fails, and still counts
    expect(lastActionEffect(home.render())).toBe(false);
    home.step(home.observe().actions.indexOf('walk to the pancake'));
    expect(lastActionEffect(home.render())).toBe(true);
    const kitchen = createEnv('tomato-salad');
    kitchen.reset(0);
    kitchen.step(0);
    expect(lastActionEffect(kitchen.render())).toBeUndefined();
  });

  it('builds the released PPO baseline environment where a task declares one', () => {
    const released = createEnv('tomato-salad', getTask('tomato-salad').releasedBaselineEnv);
    // the full grid: the tomato, far from the start, is in view at once
    expect(released.reset(0).prompt).not.toEqual(createEnv('tomato-salad').reset(0).prompt);
    expect(getTask('food-preparation').releasedBaselineEnv).toBeUndefined();
  });
});

for (const task of TASKS) {
  describe(`${task.id} keeps the Env contract`, () => {
    it('offers valid actions, vectors and render descriptions along random episodes', () => {
      const env = createEnv(task.id);
      const rng = new Rng(7);
      let episodes = 0;
      let steps = 0;
      let obs = env.reset(0);
      let maxOffered = 0;
      while (episodes < 20) {
        expect(env.taskId).toBe(task.id);
        expect(obs.actions.length).toBe(env.actionCount());
        maxOffered = Math.max(maxOffered, obs.actions.length);
        expect(obs.actions.length).toBeLessThanOrEqual(task.actionCount);
        const ids = env.offeredActionIds();
        expect(ids.length).toBe(obs.actions.length);
        for (const id of ids) expect(id).toBeLessThan(task.globalActionCount);
        expect(env.symbolic()).toHaveLength(task.symbolicDim);
        // what the task declares: its scene, whether every action is always offered, its step unit
        const render = env.render();
        expect(render.kind).toBe(task.family);
        if (!task.actionMask) expect(ids).toEqual(Array.from({ length: task.globalActionCount }, (_, i) => i));
        expect(structuredClone(render)).toEqual(render);
        const result = env.step(rng.int(obs.actions.length));
        steps++;
        expect(result.primitiveSteps).toBeGreaterThanOrEqual(1);
        if (!task.macroActions) expect(result.primitiveSteps).toBe(1);
        expect(Number.isFinite(result.reward)).toBe(true);
        if (result.done) {
          expect(env.done).toBe(true);
          expect(() => env.step(0)).toThrow(/episode is over/);
          episodes++;
          obs = env.reset(episodes);
        } else obs = env.observe();
      }
      expect(maxOffered).toBeGreaterThan(1);
      expect(steps).toBeGreaterThan(20);
    });

    it('rejects bad action indices with InvalidActionError and leaves the state unchanged', () => {
      const env = createEnv(task.id);
      const first = env.reset(0);
      for (const bad of [-1, first.actions.length, 1.5, Number.NaN]) {
        expect(() => env.step(bad)).toThrow(InvalidActionError);
      }
      expect(env.observe()).toEqual(first);
    });

    it('is deterministic, and a snapshot restores the exact future', () => {
      const play = (seed: number) => {
        const env = createEnv(task.id);
        const rng = new Rng(seed);
        env.reset(0);
        const trace: unknown[] = [];
        for (let i = 0; i < 30 && !env.done; i++)
          trace.push(env.step(rng.int(env.actionCount())), env.observe(), Array.from(env.symbolic()));
        return trace;
      };
      expect(play(3)).toEqual(play(3));

      const env = createEnv(task.id);
      const rng = new Rng(11);
      env.reset(0);
      for (let i = 0; i < 3 && !env.done; i++) env.step(rng.int(env.actionCount()));
      const snapshot = structuredClone(env.snapshot());
      const future = (e: typeof env) => {
        const r = new Rng(5);
        const out: unknown[] = [];
        for (let i = 0; i < 10 && !e.done; i++) out.push(e.step(r.int(e.actionCount())), e.observe(), e.render());
        return out;
      };
      const expected = future(env);
      const other = createEnv(task.id);
      other.reset(0);
      other.restore(snapshot);
      expect(future(other)).toEqual(expected);
    });
  });
}
