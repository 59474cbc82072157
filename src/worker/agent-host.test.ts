/** The worker's rules (env + scoring + policy steps) with a fake scorer in place of the GPU engine. */
import * as Comlink from 'comlink';
import { describe, expect, it } from 'vitest';
import { argmax } from '../rl/categorical';
import { initLoraAdapter } from '../llm/train/lora';
import { Rng } from '../util/rng';
import { AgentHost, noModelLoaded, ScorerUnavailableError, type ScorerLoader } from './agent-host';
import { FAKE_MODEL_SHAPE, fakeLoader } from './fake-scorer';
import type { EnvView, ModelStatus, ScoresReply } from './protocol';

const MICRO = { id: 'micro', label: 'micro', url: 'http://localhost/models/micro/' };

function ok(reply: ScoresReply) {
  if (reply.status !== 'ok') throw new Error(`expected scores, got ${JSON.stringify(reply)}`);
  return reply.scores;
}

describe('AgentHost', () => {
  it('scores every new state; the three policies are distributions over the offered actions', async () => {
    const host = new AgentHost(fakeLoader());
    expect((await host.loadModel(MICRO)).status).toBe('ready');
    const r = host.reset('tomato-salad', 0);
    const scores = ok(await host.scores(r.stepId));
    expect(scores.stepId).toBe(r.stepId);
    expect(scores.modelId).toBe('micro');
    expect(scores.actions.map((a) => a.text)).toEqual(r.observation.actions);
    for (const norm of ['word', 'token', 'sum'] as const) {
      expect(scores.policy[norm]).toHaveLength(r.observation.actions.length);
      expect(scores.policy[norm].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(scores.ms).toBeGreaterThanOrEqual(0);
  });

  it('answers stale for a state that is no longer current, and scores each state once', async () => {
    const calls: string[] = [];
    const host = new AgentHost(fakeLoader({ calls }));
    await host.loadModel(MICRO);
    const r0 = host.reset('tomato-salad', 0);
    const first = host.scores(r0.stepId);
    expect(host.scores(r0.stepId)).toBe(first); // the same work, not a second call
    await first;
    const r1 = host.step(0);
    expect(await host.scores(r0.stepId)).toEqual({ status: 'stale' });
    ok(await host.scores(r1.stepId));
    expect(calls).toEqual([r0.observation.prompt, r1.observation.prompt]);
  });

  it('skips queued scoring of states that were stepped past', async () => {
    const calls: string[] = [];
    const host = new AgentHost(fakeLoader({ calls }));
    await host.loadModel(MICRO);
    host.reset('entertainment', 0);
    host.step(0);
    host.step(0);
    const last = host.step(0);
    ok(await host.scores(last.stepId));
    expect(calls.length).toBeLessThanOrEqual(2); // the first may have started; the middle ones never run
    expect(calls[calls.length - 1]).toBe(last.observation.prompt);
  });

  it('greedy steps take the argmax of the chosen normalization', async () => {
    const host = new AgentHost(fakeLoader());
    await host.loadModel(MICRO);
    let view: EnvView = host.reset('entertainment', 0);
    for (const norm of ['word', 'token', 'sum', 'word'] as const) {
      const scores = ok(await host.scores(view.stepId));
      const reply = await host.policyStep(view.stepId, 'greedy', norm);
      const best = argmax(scores.policy[norm]);
      expect(reply.choice).toEqual({ mode: 'greedy', norm, index: best, prob: scores.policy[norm][best] });
      expect(reply.result.action).toBe(best);
      expect(reply.result.actionText).toBe(view.observation.actions[best]);
      view = reply;
    }
  });

  it('sampled episodes repeat with the seed (the RNG is re-seeded on reset)', async () => {
    const host = new AgentHost(fakeLoader());
    await host.loadModel(MICRO);
    const run = async (seed: number) => {
      let view: EnvView = host.reset('entertainment', seed);
      const taken: number[] = [];
      for (let i = 0; i < 12 && !view.done; i++) {
        const reply = await host.policyStep(view.stepId, 'sample', 'word');
        taken.push(reply.choice.index);
        view = reply;
      }
      return taken;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    const others: number[][] = [];
    for (const seed of [6, 7, 8, 9]) others.push(await run(seed));
    expect(others.some((t) => t.join() !== a.join())).toBe(true);
  });

  it('refuses policy steps for states that are no longer current', async () => {
    const host = new AgentHost(fakeLoader());
    await host.loadModel(MICRO);
    const r0 = host.reset('tomato-salad', 0);
    host.step(1);
    await expect(host.policyStep(r0.stepId, 'greedy', 'word')).rejects.toThrow(/no longer current/);
  });

  it('scores wait for a model that is still loading', async () => {
    const host = new AgentHost(fakeLoader({ delayMs: 20 }));
    const statuses: ModelStatus['status'][] = [];
    const loading = host.loadModel(MICRO, (s) => statuses.push(s.status));
    const r = host.reset('tomato-salad', 0);
    const scores = host.scores(r.stepId);
    expect(host.modelStatus.status).toBe('loading');
    ok(await scores);
    expect((await loading).status).toBe('ready');
    expect(statuses).toContain('loading');
    expect(statuses[statuses.length - 1]).toBe('ready');
  });

  it('without WebGPU the environment works and scores say why there are none', async () => {
    const loader: ScorerLoader = async () => {
      throw new ScorerUnavailableError('WebGPU is not available here');
    };
    const host = new AgentHost(loader);
    const status = await host.loadModel(MICRO);
    expect(status).toEqual({ status: 'unavailable', id: 'micro', reason: 'WebGPU is not available here' });
    const r = host.reset('tomato-salad', 0);
    expect(await host.scores(r.stepId)).toEqual({ status: 'unavailable', reason: 'WebGPU is not available here' });
    expect(host.step(0).result.actionText).toBe(r.observation.actions[0]);
    await expect(host.policyStep(r.stepId + 1, 'sample', 'word')).rejects.toThrow(/WebGPU/);
  });

  it('a failed load is an error status with the cause', async () => {
    const host = new AgentHost(async () => {
      throw new Error('tensor-cache.json: missing');
    });
    const status = await host.loadModel(MICRO);
    expect(status.status).toBe('error');
    expect(status.status === 'error' && status.message).toContain('tensor-cache.json: missing');
  });

  it('a model change waits for beforeModelChange (training pauses), then releases the status callback', async () => {
    const order: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const host = new AgentHost(fakeLoader(), {
      beforeModelChange: async () => {
        order.push('pause training');
        await gate;
      },
    });
    // Through Comlink the callback is a proxy with a release method (link.ts: releaseCallback).
    const onStatus = Object.assign((s: ModelStatus) => void order.push(s.status), {
      [Comlink.releaseProxy]: () => order.push('released'),
    });
    const loading = host.loadModel(MICRO, onStatus);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(host.modelStatus.status).toBe('none');
    release();
    expect((await loading).status).toBe('ready');
    expect(order).toEqual(['pause training', 'loading', 'loading', 'loading', 'ready', 'released']);
  });

  it('switching models frees the old one and re-scores with the new one', async () => {
    const disposed: string[] = [];
    const host = new AgentHost(fakeLoader({ delayMs: 5, disposed }));
    const first = host.loadModel(MICRO);
    const second = host.loadModel({ ...MICRO, id: 'other', label: 'other' });
    await first; // superseded: resolves with whatever status is current when it settles
    const status = await second;
    expect(status.status === 'ready' && status.info.id).toBe('other');
    expect(disposed).toEqual(['micro']); // the superseded load was freed when it finished
    const r = host.reset('pizza', 0);
    expect(ok(await host.scores(r.stepId)).modelId).toBe('other');
    await host.loadModel(MICRO);
    expect(disposed).toEqual(['micro', 'other']);
    expect(ok(await host.scores(r.stepId)).modelId).toBe('micro');
    // Loading the model that is loaded is a no-op.
    expect((await host.loadModel(MICRO)).status).toBe('ready');
    expect(disposed).toEqual(['micro', 'other']);
  });
  it('a lost GPU device: the status says so, gpuLost names it, its next use loads model and adapter', async () => {
    const loads: string[] = [];
    let loseDevice: (reason: string) => void = () => {};
    const fake = fakeLoader();
    const loader: ScorerLoader = async (spec, onProgress) => {
      loads.push(spec.id);
      const loaded = await fake(spec, onProgress);
      const lost = new Promise<string>((resolve) => (loseDevice = resolve));
      return { ...loaded, scorer: Object.assign(loaded.scorer, { lost }) };
    };
    const host = new AgentHost(loader);
    await host.loadModel(MICRO);
    const adapter = initLoraAdapter(FAKE_MODEL_SHAPE, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'] }, new Rng(3));
    adapter.modules.forEach((m) => m.b.fill(0.3));
    await host.setAdapter(adapter, 'trained');
    const r = host.reset('tomato-salad', 0);
    const before = ok(await host.scores(r.stepId));
    expect(await host.gpuLost(10)).toBeNull(); // it works: nothing to report after the wait

    loseDevice('the device was destroyed');
    await Promise.resolve();
    expect(host.modelStatus).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/^the GPU was lost \(the device was destroyed\)/),
    });
    expect(await host.gpuLost()).toBe('the device was destroyed');
    // The next scores load it again (a new device) and score with the same adapter.
    const r1 = host.reset('tomato-salad', 0);
    const after = ok(await host.scores(r1.stepId));
    expect(loads).toEqual(['micro', 'micro']);
    expect(host.modelStatus.status).toBe('ready');
    expect(after.policy).toEqual(before.policy);
    expect(after.lora).toBe('trained');
    expect(await host.gpuLost(10)).toBeNull();
    expect((await host.revive()).status).toBe('ready'); // nothing lost: nothing loaded
    expect(loads).toHaveLength(2);
  });
  it('gpuLost asks the device: a failed probe waits for the late report, a working device is not lost', async () => {
    /** A host whose model's device says `works` to the probe; `lose` reports its loss. */
    const hostWith = async (works: boolean) => {
      let lose: (reason: string) => void = () => {};
      const fake = fakeLoader();
      const host = new AgentHost(async (spec, onProgress) => {
        const loaded = await fake(spec, onProgress);
        const lost = new Promise<string>((resolve) => (lose = resolve));
        return { ...loaded, scorer: Object.assign(loaded.scorer, { lost, deviceWorks: async () => works }) };
      });
      await host.loadModel(MICRO);
      return { host, lose: (reason: string) => lose(reason) };
    };
    // The device works: not lost, whatever `lost` says later (the default wait would have seen this report).
    const working = await hostWith(true);
    const asked = working.host.gpuLost();
    setTimeout(() => working.lose('too late'), 1);
    expect(await asked).toBeNull();

    // The probe fails before the loss is reported (a busy machine): its report is waited for, past `waitMs`.
    const failing = await hostWith(false);
    const lostLate = failing.host.gpuLost(1);
    setTimeout(() => failing.lose('the device was destroyed'), 50);
    expect(await lostLate).toBe('the device was destroyed');
  });
});

describe('noModelLoaded', () => {
  it('says why where the last load said (its error, or why no model can run here)', () => {
    expect(noModelLoaded({ status: 'none' })).toBe('no model is loaded');
    expect(noModelLoaded({ status: 'error', id: 'm', message: 'the download failed' })).toBe(
      'no model is loaded: the download failed',
    );
    expect(noModelLoaded({ status: 'unavailable', id: 'm', reason: 'no WebGPU' })).toBe(
      'no model is loaded: no WebGPU',
    );
  });
});
