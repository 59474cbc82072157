/**
 * Env-interface behaviour of the VirtualHome environments: horizon (B.6), logged return, determinism,
 * snapshot/restore, errors, symbolic vector, render, random-policy sanity (twosome.md 4.6) and speed.
 */
import { describe, expect, it } from 'vitest';
import { ENT_SNACKS_TO_LIVING_ROOM, OPTIMAL_PLANS, play, playAll, resetAndPlay } from '../testing';
import { InvalidActionError, type StepResult, type VirtualHomeTaskId } from '../types';
import { Rng } from '../../util/rng';
import {
  ENTERTAINMENT_OBS_KEYS,
  FOOD_PREPARATION_OBS_KEYS,
  VIRTUALHOME_TASK_IDS,
  createVirtualHomeEnv,
  globalActionTexts,
  observationBitNames,
} from './index';

/** Two Food Preparation walks that undo each other: steps that use up the horizon and never succeed. */
const THERE_AND_BACK = ['walk to the bathroom', 'walk to the kitchen'] as const;

describe('VirtualHome env', () => {
  it('horizon 50: a success on step 50 is still rewarded, with logged return 0.95^49', () => {
    const env = createVirtualHomeEnv('food-preparation');
    env.reset();
    for (let k = 0; k < 22; k++) for (const t of THERE_AND_BACK) expect(play(env, t).done).toBe(false);
    const r = playAll(env, OPTIMAL_PLANS['food-preparation'])!;
    expect(env.stepCount).toBe(50);
    expect(r).toMatchObject({
      reward: 1,
      done: true,
      success: true,
      primitiveSteps: 1,
      actionText: 'close the microwave',
    });
    expect(r.episodeReturn).toBeCloseTo(0.95 ** 49, 12);
  });

  it('horizon 50: the episode ends unsuccessfully at step 50, and step() then throws', () => {
    const env = createVirtualHomeEnv('food-preparation');
    env.reset();
    let r!: StepResult;
    for (let k = 0; k < 50; k++) {
      expect(env.done).toBe(false);
      r = play(env, THERE_AND_BACK[k % 2]);
    }
    expect(r).toMatchObject({ reward: 0, done: true, success: false, episodeReturn: 0 });
    expect(env.done).toBe(true);
    expect(() => env.step(0)).toThrow('episode is over: call reset()');
    expect(() => env.stepGlobal(0)).toThrow('episode is over: call reset()');
    env.reset();
    expect(env.done).toBe(false);
    expect(env.stepCount).toBe(0);
  });

  it('rejects bad indices with InvalidActionError, leaving the state unchanged', () => {
    const env = createVirtualHomeEnv('entertainment');
    env.reset();
    const before = env.snapshot();
    for (const bad of [-1, 5, 1.5, Number.NaN, Infinity, '0' as unknown as number]) {
      expect(() => env.step(bad)).toThrow(InvalidActionError);
    }
    expect(() => env.stepGlobal(17)).toThrow(InvalidActionError);
    expect(() => env.stepGlobal(-1)).toThrow(InvalidActionError);
    expect(env.snapshot()).toEqual(before);
    expect(env.stepCount).toBe(0);
  });

  it('stepGlobal applies any id; non-offered ones report action -1 and fail silently but count', () => {
    const env = createVirtualHomeEnv('food-preparation');
    env.reset();
    const r = env.stepGlobal(6); // grab the pancake: not offered, not near it
    expect(r).toMatchObject({ action: -1, actionText: 'grab the pancake', reward: 0, done: false });
    expect(env.render().lastAction).toEqual({ text: 'grab the pancake', succeeded: false });
    expect(env.stepCount).toBe(1);
    const r2 = env.stepGlobal(4); // walk to the pancake: offered at index 3
    expect(r2.action).toBe(3);
  });

  it('is deterministic: same actions, same everything, whatever the seed', () => {
    for (const task of ['food-preparation', 'entertainment'] as const) {
      const a = createVirtualHomeEnv(task);
      const b = createVirtualHomeEnv(task);
      expect(a.reset(1)).toEqual(b.reset(12345));
      const rng = new Rng(7);
      for (let k = 0; k < 2000; k++) {
        const i = rng.int(a.actionCount());
        expect(a.step(i)).toEqual(b.step(i));
        expect(a.observe()).toEqual(b.observe());
        expect(a.render()).toEqual(b.render());
        if (a.done) {
          a.reset();
          b.reset();
        }
      }
    }
  });

  it('snapshot/restore: structured-cloneable, and identical future behaviour', () => {
    for (const task of ['food-preparation', 'entertainment'] as const) {
      const env = createVirtualHomeEnv(task);
      env.reset();
      const rng = new Rng(3);
      for (let k = 0; k < 7; k++) env.step(rng.int(env.actionCount()));
      const snap = structuredClone(env.snapshot());
      expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
      const actions = Array.from({ length: 60 }, () => rng.next());
      const run = () => {
        const out: unknown[] = [];
        for (const u of actions) {
          if (env.done) break;
          out.push(
            env.step(Math.floor(u * env.actionCount())),
            env.observe(),
            Array.from(env.symbolic()),
            env.render(),
          );
        }
        return out;
      };
      const first = run();
      env.restore(snap);
      expect(run()).toEqual(first);
      // A fresh env restored from the snapshot behaves the same too.
      const other = createVirtualHomeEnv(task);
      other.restore(snap);
      expect(other.observe()).toEqual((env.restore(snap), env.observe()));
      expect(() => createVirtualHomeEnv('cheese').restore(snap)).toThrow();
    }
  });

  it('symbolic(): the 11 / 21 observation bits', () => {
    const fp = createVirtualHomeEnv('food-preparation');
    fp.reset();
    expect(Array.from(fp.symbolic())).toEqual([1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    expect(fp.symbolic()).toBeInstanceOf(Float32Array);
    const ent = createVirtualHomeEnv('entertainment');
    ent.reset();
    expect(Array.from(ent.symbolic())).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(observationBitNames('entertainment')).toEqual(ENTERTAINMENT_OBS_KEYS);
    expect(observationBitNames('laundry')).toEqual(FOOD_PREPARATION_OBS_KEYS);
    expect(ENTERTAINMENT_OBS_KEYS.length).toBe(21);
    expect(FOOD_PREPARATION_OBS_KEYS.length).toBe(11);
  });

  it('offeredActionIds() and the global tables', () => {
    for (const task of VIRTUALHOME_TASK_IDS) {
      const env = createVirtualHomeEnv(task);
      expect(env.taskId).toBe(task);
      const o = env.reset();
      const table = globalActionTexts(task);
      expect(table.length).toBe(task === 'entertainment' ? 17 : 10);
      expect(env.offeredActionIds().map((id) => table[id])).toEqual(o.actions);
      expect(env.actionCount()).toBe(o.actions.length);
    }
  });

  it('render(): agent, objects, supports, visibility and the last action', () => {
    const env = createVirtualHomeEnv('food-preparation');
    env.reset();
    expect(env.render()).toEqual({
      kind: 'virtualhome',
      taskId: 'food-preparation',
      rooms: ['kitchen', 'bathroom', 'bedroom', 'living room'],
      agent: { room: 'kitchen', sitting: false, holding: [], facingTV: false },
      objects: [
        {
          id: 'pancake',
          label: 'pancake',
          room: 'kitchen',
          held: false,
          on: ['kitchen table'],
          inside: null,
          visible: true,
          close: false,
        },
        {
          id: 'microwave',
          label: 'microwave',
          room: 'kitchen',
          held: false,
          on: ['kitchen counter', 'counter drawer'],
          inside: null,
          visible: true,
          close: false,
          open: false,
        },
      ],
      lastAction: null,
      step: 0,
    });
    playAll(env, OPTIMAL_PLANS['food-preparation'].slice(0, 5));
    const r = env.render();
    expect(r.objects[0]).toMatchObject({
      id: 'pancake',
      held: false,
      on: [],
      inside: 'microwave',
      visible: true,
      close: true,
      room: 'kitchen',
    });
    expect(r.objects[1]).toMatchObject({ open: true, close: true });
    expect(r.lastAction).toEqual({ text: 'put the pancake in the microwave', succeeded: true });
    expect(r.step).toBe(5);
    // A failed action changes nothing but the last action and the step.
    play(env, 'open the microwave');
    const after = env.render();
    expect(after.lastAction).toEqual({ text: 'open the microwave', succeeded: false });
    expect({ ...after, lastAction: null, step: 0 }).toEqual({ ...r, lastAction: null, step: 0 });

    const ent = resetAndPlay(createVirtualHomeEnv('entertainment'), ENT_SNACKS_TO_LIVING_ROOM);
    const er = ent.render();
    expect(er.agent).toEqual({ room: 'living room', sitting: false, holding: ['chips', 'milk'], facingTV: false });
    expect(er.objects.map((o) => o.id)).toEqual(['chips', 'milk', 'tv', 'sofa', 'coffee table']);
    expect(er.objects.find((o) => o.id === 'tv')).toMatchObject({
      label: 'TV',
      switchedOn: false,
      room: 'living room',
      visible: true,
    });
    expect(er.objects.find((o) => o.id === 'chips')).toMatchObject({
      held: true,
      room: 'living room',
      visible: true,
      close: true,
    });
  });

  it.each([
    ['food-preparation', 0.1, 1],
    ['entertainment', 0.02, 0],
  ] as [VirtualHomeTaskId, number, number][])(
    'uniform random policy on %s: success rate below %d',
    (task, maxRate, minSuccesses) => {
      // Spec (twosome.md 4.6): 5/300 successes in Food Preparation and 0/300 in Entertainment.
      const env = createVirtualHomeEnv(task);
      const rng = new Rng(2024);
      const episodes = 1000;
      let successes = 0;
      for (let e = 0; e < episodes; e++) {
        env.reset();
        let r: StepResult;
        do r = env.step(rng.int(env.actionCount()));
        while (!r.done);
        if (r.success) {
          successes++;
          expect(r.episodeReturn).toBeCloseTo(0.95 ** (env.stepCount - 1), 12);
        } else {
          expect(env.stepCount).toBe(50);
        }
      }
      expect(successes / episodes).toBeLessThan(maxRate);
      expect(successes).toBeGreaterThanOrEqual(minSuccesses);
    },
  );
});
