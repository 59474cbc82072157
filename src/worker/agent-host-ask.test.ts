/** AgentHost.askFreely with a fake scorer: replies for the current state, with the adapter in use, and when not. */
import { describe, expect, it } from 'vitest';
import { initLoraAdapter } from '../llm/train/lora';
import { Rng } from '../util/rng';
import { AgentHost } from './agent-host';
import type { AskFreelyReply } from './ask-protocol';
import { FAKE_MODEL_SHAPE, fakeLoader } from './fake-scorer';

const MICRO = { id: 'micro', label: 'micro', url: 'http://localhost/models/micro/' };
const GREEDY = { maxTokens: 8, temperature: 0, seed: 0 };

function ok(reply: AskFreelyReply) {
  if (reply.status !== 'ok') throw new Error(`expected answers, got ${JSON.stringify(reply)}`);
  return reply;
}

describe('AgentHost.askFreely', () => {
  it('answers for the current state with the frozen model, then also with the adapter in use', async () => {
    const calls: string[] = [];
    const host = new AgentHost(fakeLoader({ calls }));
    await host.loadModel(MICRO);
    const view = host.reset('tomato-salad', 0);
    const frozen = ok(await host.askFreely(view.stepId, GREEDY));
    expect(calls).toContain(`generate ${view.observation.prompt}`);
    expect(frozen).toMatchObject({
      stepId: view.stepId,
      modelId: 'micro',
      options: GREEDY,
      adapted: null,
      adapterLabel: null,
    });
    expect(frozen.actions).toEqual(view.observation.actions);
    expect(frozen.match).toBe('exact match after trimming whitespace');

    const rng = new Rng(1);
    const adapter = initLoraAdapter(FAKE_MODEL_SHAPE, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }, rng);
    await host.setAdapter(adapter, 'run 1');
    const both = ok(await host.askFreely(view.stepId, GREEDY));
    expect(both.base).toEqual(frozen.base);
    expect(both.adapterLabel).toBe('run 1');
    // The fake's adapted answer is the first action, said with a leading space: a match after trimming.
    expect(both.adapted).toMatchObject({ text: ` ${view.observation.actions[0]}`, action: 0 });
  });

  it('is stale for a past state, unavailable without a model, and refuses bad options', async () => {
    const none = new AgentHost(fakeLoader());
    const first = none.reset('tomato-salad', 0);
    const unavailable = { status: 'unavailable', reason: 'no model is loaded' };
    expect(await none.askFreely(first.stepId, GREEDY)).toEqual(unavailable);

    const host = new AgentHost(fakeLoader());
    await host.loadModel(MICRO);
    const view = host.reset('tomato-salad', 0);
    host.step(0);
    expect(await host.askFreely(view.stepId, GREEDY)).toEqual({ status: 'stale' });
    const now = host.step(0);
    const bad = await host.askFreely(now.stepId, { ...GREEDY, maxTokens: 0 });
    expect(bad).toEqual({ status: 'error', message: 'maxTokens must be a positive integer, got 0' });
  });
});
