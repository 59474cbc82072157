/** What the trainer needs from the AgentHost: one GPU queue shared with scoring, the engine, the current state. */
import { describe, expect, it } from 'vitest';
import { AgentHost } from './agent-host';
import { fakeLoader } from './fake-scorer';

const MICRO = { id: 'micro', label: 'micro', url: 'http://localhost/models/micro/' };

describe('AgentHost for training', () => {
  it('runs exclusive work in the scoring queue: scoring asked for meanwhile waits for it, and it for scoring in progress', async () => {
    const calls: string[] = [];
    const host = new AgentHost(fakeLoader({ calls }));
    await host.loadModel(MICRO);
    const r = host.reset('tomato-salad', 0); // starts scoring state r in the queue
    const order: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const update = host.exclusive(async () => {
      order.push(`update starts after ${calls.length} scoring call(s)`);
      await gate;
      order.push('update ends');
      return 42;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const s = host.step(0); // its scoring is queued behind the update
    const scored = host.scores(s.stepId).then((reply) => order.push(`scores ${reply.status}`));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['update starts after 1 scoring call(s)']);
    release();
    expect(await update).toBe(42);
    await scored;
    expect(order).toEqual(['update starts after 1 scoring call(s)', 'update ends', 'scores ok']);
    expect(r.stepId).toBeLessThan(s.stepId);
  });

  it('a failing exclusive job rejects alone; the queue goes on', async () => {
    const host = new AgentHost(fakeLoader());
    await host.loadModel(MICRO);
    const r = host.reset('tomato-salad', 0);
    await expect(host.exclusive(async () => Promise.reject(new Error('device lost')))).rejects.toThrow('device lost');
    expect((await host.scores(r.stepId)).status).toBe('ok');
  });

  it('gives the current state while it is current and not finished; no engine behind a fake scorer', async () => {
    const host = new AgentHost(fakeLoader());
    expect(host.loadedEngine()).toBeNull();
    await host.loadModel(MICRO);
    expect(host.loadedEngine()).toBeNull(); // the fake has no engine: TWOSOME reports "no model"
    const r = host.reset('tomato-salad', 0);
    expect(host.currentRequest(r.stepId)).toEqual({ prompt: r.observation.prompt, actions: r.observation.actions });
    const s = host.step(0);
    expect(host.currentRequest(r.stepId)).toBeNull();
    expect(host.currentRequest(s.stepId)?.prompt).toBe(s.observation.prompt);
  });
});
