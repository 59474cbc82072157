/**
 * Food Preparation against the official env's complete reachable state graph (spec data fixture): every state's
 * prompt, offered actions and observation vector, and every offered transition's next state, reward, done and
 * script success.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { playAll } from '../testing';
import type { EnvSnapshot } from '../types';
import { FOOD_PREPARATION_ACTION_TEXTS, FOOD_PREPARATION_OBS_KEYS, createVirtualHomeEnv } from './index';

interface FixtureState {
  id: number;
  obs: number[];
  prompt: string;
  actions: string[];
  action_ids: number[];
  success_terminal: boolean;
  next: [number, number, boolean][];
}

interface Fixture {
  obs_keys: string[];
  action_templates: string[];
  horizon: number;
  initial_state: number;
  gamma_logged_return: number;
  shortest_success_path: string[];
  num_states: number;
  states: FixtureState[];
}

const fixture: Fixture = JSON.parse(
  readFileSync(path.resolve(process.cwd(), '../shared/spec/data/virtualhome-food-preparation-states.json'), 'utf8'),
);

describe('Food Preparation conformance (fixture: official reachable state graph)', () => {
  it('has the fixture tables', () => {
    expect(FOOD_PREPARATION_ACTION_TEXTS).toEqual(fixture.action_templates);
    expect(FOOD_PREPARATION_OBS_KEYS).toEqual(fixture.obs_keys);
    expect(fixture.num_states).toBe(51);
    expect(fixture.horizon).toBe(50);
  });

  it('matches every state and every offered transition', () => {
    const env = createVirtualHomeEnv('food-preparation');
    env.reset();
    const byId = new Map(fixture.states.map((s) => [s.id, s]));
    const snapshots = new Map<number, EnvSnapshot>([[fixture.initial_state, env.snapshot()]]);
    const keys = new Map<number, string>([[fixture.initial_state, env.stateKey()]]);
    const queue = [fixture.initial_state];
    const visited = new Set(queue);
    let transitions = 0;

    const expectMatches = (fs: FixtureState, where: string) => {
      const o = env.observe();
      expect(o.prompt, where).toBe(fs.prompt);
      expect(o.actions, where).toEqual(fs.actions);
      expect([...env.offeredActionIds()], where).toEqual(fs.action_ids);
      expect(Array.from(env.symbolic()), where).toEqual(fs.obs);
      expect(env.actionCount(), where).toBe(fs.actions.length);
    };

    while (queue.length > 0) {
      const id = queue.shift()!;
      const fs = byId.get(id)!;
      env.restore(snapshots.get(id)!);
      expectMatches(fs, `state ${id}`);
      if (fs.success_terminal) {
        expect(fs.next).toEqual([]);
        expect(env.done, `state ${id} is terminal`).toBe(true);
        continue;
      }
      expect(env.done).toBe(false);
      expect(fs.next.length).toBe(fs.actions.length);
      fs.next.forEach(([to, reward, scriptSucceeded], i) => {
        env.restore(snapshots.get(id)!);
        const r = env.step(i);
        const where = `state ${id} --[${fs.actions[i]}]--> ${to}`;
        const target = byId.get(to)!;
        expect(r.actionText, where).toBe(fs.actions[i]);
        expect(r.action, where).toBe(i);
        expect(r.primitiveSteps).toBe(1);
        expect(r.reward, where).toBe(reward);
        expect(r.done, where).toBe(target.success_terminal);
        expect(r.success, where).toBe(target.success_terminal);
        expect(env.render().lastAction, where).toEqual({ text: fs.actions[i], succeeded: scriptSucceeded });
        expectMatches(target, where);
        // The fixture's state ids and our full-state keys must be in one-to-one correspondence.
        const key = env.stateKey();
        if (keys.has(to)) expect(key, where).toBe(keys.get(to));
        else keys.set(to, key);
        transitions++;
        if (!visited.has(to)) {
          visited.add(to);
          snapshots.set(to, env.snapshot());
          queue.push(to);
        }
      });
    }
    expect(visited.size).toBe(51);
    expect(transitions).toBe(197);
    expect(new Set(keys.values()).size).toBe(51);
  });

  it('plays the fixture shortest success path with logged return 0.95^5', () => {
    const env = createVirtualHomeEnv('food-preparation');
    env.reset();
    const last = playAll(env, fixture.shortest_success_path);
    expect(last!.done).toBe(true);
    expect(last!.success).toBe(true);
    expect(last!.episodeReturn).toBeCloseTo(0.95 ** 5, 12);
    expect(env.stepCount).toBe(6);
  });
});
