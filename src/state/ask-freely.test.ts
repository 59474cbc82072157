// The ask slice against the worker's agent host in this thread (fake scorer): asking about the latest state,
// the answers it mirrors, and what it says when there is nothing to ask.
import { describe, expect, it } from 'vitest';
import { AgentHost } from '../worker/agent-host';
import { localClient } from '../worker/client';
import { fakeLoader } from '../worker/fake-scorer';
import { createAppStore } from './store';
import { latestEntry } from './timeline';

describe('ask slice', () => {
  it('asks the worker about the latest state and keeps its answers; says why when it cannot', async () => {
    const store = createAppStore();
    const app = () => store.getState();
    await app().ask.ask();
    expect(app().ask).toMatchObject({ phase: 'error', reply: null });
    expect(app().ask.error).toMatch(/no state to ask about/);

    const host = new AgentHost(fakeLoader());
    const link = localClient({ agent: host });
    app().playground.attach(link.api.agent);
    app().ask.attach(link.api.agent);
    await host.loadModel({ id: 'micro', label: 'micro', url: 'http://localhost/models/micro/' });
    await app().playground.reset();
    const last = latestEntry(app().playground)!;
    app().ask.setOptions({ maxTokens: 5 });
    await app().ask.ask();
    const { phase, reply } = app().ask;
    expect(phase).toBe('done');
    expect(reply).toMatchObject({
      stepId: last.stepId,
      options: { maxTokens: 5, temperature: 0, seed: 0 },
      adapted: null,
    });
    expect(reply!.actions).toEqual(last.observation.actions);
    link.dispose();
  });
});
