/**
 * Replays the recorded optimal episodes of the official Python env (shared/spec/data/overcooked-optimal.json)
 * and the reference sequences of twosome.md 3.5.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { OvercookedRender, OvercookedTaskId } from '../types';
import { createOvercookedEnv } from './index';

interface RecordedStep {
  macro_index: number;
  action_text: string;
  primitive_steps: number;
  reward: number;
  done: boolean;
  agent_xy_after: [number, number];
  env_step_after: number;
  obs: number[];
  prompt: string;
  actions: string[];
}
interface RecordedTask {
  optimal: {
    initial: { obs: number[]; prompt: string; actions: string[]; agent_xy: [number, number] };
    steps: RecordedStep[];
  };
}

const fixture = JSON.parse(
  readFileSync(path.resolve(process.cwd(), '../shared/spec/data/overcooked-optimal.json'), 'utf8'),
) as Record<string, RecordedTask>;

const TASKS: [string, OvercookedTaskId][] = [
  ['tomato_salad', 'tomato-salad'],
  ['tomato_lettuce_salad', 'tomato-lettuce-salad'],
];

describe.each(TASKS)('recorded optimal episode %s', (key, taskId) => {
  const recorded = fixture[key].optimal;

  it('matches the initial observation', () => {
    const env = createOvercookedEnv(taskId);
    const obs = env.reset(0);
    expect(obs.prompt).toBe(recorded.initial.prompt);
    expect(obs.actions).toEqual(recorded.initial.actions);
    expect(Array.from(env.symbolic())).toEqual(recorded.initial.obs);
    const render = env.render() as OvercookedRender;
    expect([render.agent.x, render.agent.y]).toEqual(recorded.initial.agent_xy);
  });

  it('matches every step exactly', () => {
    const env = createOvercookedEnv(taskId);
    env.reset(0);
    for (const step of recorded.steps) {
      const result = env.step(step.macro_index);
      expect(result.actionText).toBe(step.action_text);
      expect(result.action).toBe(step.macro_index);
      expect(result.primitiveSteps).toBe(step.primitive_steps);
      expect(Math.abs(result.reward - step.reward)).toBeLessThan(1e-9);
      expect(result.done).toBe(step.done);
      expect(result.success).toBe(step.done);
      const render = env.render() as OvercookedRender;
      expect([render.agent.x, render.agent.y]).toEqual(step.agent_xy_after);
      expect(render.primitiveStep).toBe(step.env_step_after);
      expect(Array.from(env.symbolic())).toEqual(step.obs);
      const obs = env.observe();
      expect(obs.prompt).toBe(step.prompt);
      expect(obs.actions).toEqual(step.actions);
    }
    expect(env.done).toBe(true);
  });
});

/** Runs macros from reset; returns the total primitive steps and the logged return. */
function runSequence(taskId: OvercookedTaskId, macros: number[]) {
  const env = createOvercookedEnv(taskId);
  env.reset();
  let steps = 0;
  let discountedSum = 0;
  let last = null as ReturnType<typeof env.step> | null;
  for (const macro of macros) {
    const before = steps;
    last = env.step(macro);
    discountedSum += 0.99 ** before * last.reward;
    steps += last.primitiveSteps;
  }
  return { steps, last: last!, discountedSum, done: env.done };
}

describe('reference sequences (twosome.md 3.5)', () => {
  it('Tomato Salad optimal: 28 steps, return 0.9205', () => {
    // get tomato, go to knife 1, chop, get tomato, get plate 1, deliver = 2+5+3+1+10+7
    const { steps, last, discountedSum, done } = runSequence('tomato-salad', [0, 2, 4, 0, 1, 3]);
    expect(steps).toBe(28);
    expect(done).toBe(true);
    expect(last.success).toBe(true);
    expect(last.episodeReturn.toFixed(4)).toBe('0.9205');
    // The logged return equals the sum over macros of 0.99^(t_start) R_macro.
    expect(last.episodeReturn).toBeCloseTo(discountedSum, 12);
  });

  it('Tomato Salad intuitive order: 31 steps, return 0.8956', () => {
    // get tomato, go to knife 1, chop, get plate 1, go to knife 1, deliver
    const { steps, last } = runSequence('tomato-salad', [0, 2, 4, 1, 2, 3]);
    expect(steps).toBe(31);
    expect(last.done && last.success).toBe(true);
    expect(last.episodeReturn.toFixed(4)).toBe('0.8956');
  });

  it('Tomato-Lettuce Salad optimal: 45 steps, return 0.9477', () => {
    // get tomato, go to knife 1, chop, get lettuce, go to knife 2, chop, get plate 1, get lettuce, get tomato, deliver
    const { steps, last, discountedSum } = runSequence('tomato-lettuce-salad', [0, 4, 7, 1, 5, 7, 3, 1, 0, 6]);
    expect(steps).toBe(45);
    expect(last.done && last.success).toBe(true);
    expect(last.episodeReturn.toFixed(4)).toBe('0.9477');
    expect(last.episodeReturn).toBeCloseTo(discountedSum, 12);
  });
});
