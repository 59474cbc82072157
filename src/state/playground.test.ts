/** The playground store against an in-process environment host (no worker): the UI-side rules. */
import { beforeEach, describe, expect, it } from 'vitest';
import { createEnv } from '../envs/registry';
import type { Env, TaskId } from '../envs/types';
import type { EnvClient } from '../worker/client';
import type { ResetReply, StepReply } from '../worker/protocol';
import { usePlayground } from './playground';

/** Same replies as the worker, computed in this thread; `hold()` delays replies to test races. */
function localClient() {
  let env: Env | null = null;
  let seed = 0;
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => {};
  const view = (e: Env) => ({ taskId: e.taskId, seed, observation: e.observe(), render: e.render(), done: e.done });
  const client: EnvClient = {
    async reset(taskId: TaskId, s: number): Promise<ResetReply> {
      if (!env || env.taskId !== taskId) env = createEnv(taskId);
      seed = s;
      env.reset(s);
      const reply = { ...view(env), result: null };
      await gate;
      return reply;
    },
    async step(index: number): Promise<StepReply> {
      if (!env) throw new Error('no env');
      const result = env.step(index);
      const reply = { ...view(env), result };
      await gate;
      return reply;
    },
    dispose() {},
  };
  return {
    client,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
  };
}

describe('playground store', () => {
  let host: ReturnType<typeof localClient>;
  beforeEach(() => {
    host = localClient();
    usePlayground.getState().attach(host.client);
  });

  it('opens a task and takes actions', async () => {
    await usePlayground.getState().open('tomato-salad', 0);
    let s = usePlayground.getState();
    expect(s.phase).toBe('ready');
    expect(s.observation?.actions[0]).toBe('pick up the tomato');
    await s.takeAction(0);
    s = usePlayground.getState();
    expect(s.steps).toBe(1);
    expect(s.primitiveSteps).toBe(s.lastResult?.primitiveSteps);
    expect(s.history).toHaveLength(1);
    expect(s.history[0].actionText).toBe('pick up the tomato');
    expect(s.observation?.prompt).toContain('carrying an unchopped tomato');
    expect(s.render?.kind).toBe('overcooked');
  });

  it('ignores indices that are not offered', async () => {
    await usePlayground.getState().open('food-preparation', 0);
    const before = usePlayground.getState();
    await before.takeAction(99);
    await before.takeAction(-1);
    expect(usePlayground.getState().steps).toBe(0);
  });

  it('ignores actions while a step is in flight', async () => {
    await usePlayground.getState().open('tomato-salad', 0);
    host.hold();
    const first = usePlayground.getState().takeAction(0);
    await usePlayground.getState().takeAction(1); // dropped: busy
    host.release();
    await first;
    expect(usePlayground.getState().steps).toBe(1);
  });

  it('drops a step reply that arrives after a reset', async () => {
    await usePlayground.getState().open('tomato-salad', 0);
    host.hold();
    const step = usePlayground.getState().takeAction(0);
    const reset = usePlayground.getState().open('entertainment', 0);
    host.release();
    await Promise.all([step, reset]);
    const s = usePlayground.getState();
    expect(s.taskId).toBe('entertainment');
    expect(s.steps).toBe(0);
    expect(s.history).toEqual([]);
    expect(s.render?.kind).toBe('virtualhome');
  });

  it('reports worker failures', async () => {
    usePlayground.getState().attach({
      reset: () => Promise.reject(new Error('worker crashed')),
      step: () => Promise.reject(new Error('worker crashed')),
      dispose() {},
    });
    await usePlayground.getState().open('pizza', 1);
    expect(usePlayground.getState().phase).toBe('error');
    expect(usePlayground.getState().error).toBe('worker crashed');
  });
});
