/** The playground slice against an in-process worker host (AgentHost with a fake scorer): the UI-side rules. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskId } from '../envs/types';
import { argmax } from '../rl/categorical';
import { AgentHost } from '../worker/agent-host';
import type { AgentApi, Calls, ModelsApi } from '../worker/api';
import { localClient } from '../worker/client';
import { localLink } from '../worker/link';
import { fakeLoader } from '../worker/fake-scorer';
import type { CatalogRecord } from '../llm/model/catalog';
import type { PlaygroundSlice } from './playground';
import { createAppStore, type AppStore } from './store';
import { episodeHistory, latestEntry, shownEntry } from './timeline';
import type { Setup } from './url';

/**
 * The worker's replies, computed in this thread (the in-process link); `hold()` delays the replies of reset, step
 * and policyStep to test races, `link.fail()` makes the worker look crashed.
 */
function gatedClient(options: { delayMs?: number } = {}) {
  const link = localClient({ agent: new AgentHost(fakeLoader({ delayMs: options.delayMs })) });
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => {};
  const agent = link.api.agent;
  const held =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const reply = await call(...args);
      await gate;
      return reply;
    };
  const gated = new Set<keyof AgentApi>(['reset', 'step', 'policyStep']);
  const client: Calls<AgentApi> = new Proxy(agent, {
    get: (target, key: keyof AgentApi) =>
      gated.has(key) ? held(target[key] as (...a: unknown[]) => Promise<unknown>) : target[key],
  });
  return {
    client,
    link,
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
  };
}

let app: AppStore;
const store = () => app.getState().playground;
/** The latest state's fields and the history, read off the timeline as the components do. */
const latest = () => latestEntry(store())!;
const history = () => episodeHistory(store());
const setup = (taskId: TaskId, seed = 0, extra: Partial<Setup> = {}): Setup => ({
  taskId,
  seed,
  modelId: 'micro',
  norm: 'word',
  ...extra,
});

/** Resolves when the store satisfies `predicate` (or fails after `ms`). */
function until(predicate: (s: PlaygroundSlice) => boolean, ms = 3000): Promise<void> {
  if (predicate(store())) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for the store (${predicate.toString()})`));
    }, ms);
    const unsubscribe = app.subscribe((s) => {
      if (predicate(s.playground)) {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  });
}

const latestScored = (s: PlaygroundSlice) => latestEntry(s)?.scores.status === 'ok';

/** A catalog record (web-llm's) of a model read from the browser cache. */
function catalogRecord(id: string): CatalogRecord {
  const model = `https://huggingface.co/example/${id}`;
  return {
    id,
    model,
    quantization: 'q0f32',
    vramRequiredMB: undefined,
    lowResourceRequired: false,
    requiredFeatures: [],
    contextWindow: 256,
    arch: undefined,
    record: { model_id: id, model, model_lib: `${model}/lib.wasm` },
  };
}

describe('playground store', () => {
  let host: ReturnType<typeof gatedClient>;
  beforeEach(() => {
    host = gatedClient();
    app = createAppStore();
    store().attach(host.client, { gpuCheck: async () => ({ ok: true }) });
  });
  afterEach(() => store().setAutoPlay(false));

  it('opens a task and takes actions', async () => {
    await store().open(setup('tomato-salad'));
    let s = store();
    expect(s.phase).toBe('ready');
    expect(latest().observation.actions[0]).toBe('pick up the tomato');
    await s.takeAction(0);
    s = store();
    expect(latest().t).toBe(1);
    expect(latest().primitiveSteps).toBe(latest().result?.primitiveSteps);
    expect(history()).toHaveLength(1);
    expect(history()[0]).toMatchObject({ actionText: 'pick up the tomato', by: 'you' });
    expect(latest().observation.prompt).toContain('carrying an unchopped tomato');
    expect(latest().render.kind).toBe('overcooked');
    expect(s.timeline.map((e) => e.t)).toEqual([0, 1]);
    expect(s.timeline[0].taken).toEqual({ index: 0, by: 'you' });
  });

  it('loads the model and fills in the scores of each state', async () => {
    await store().open(setup('tomato-salad'));
    expect(store().model.status).toBe('ready');
    await until(latestScored);
    const entry = shownEntry(store())!;
    expect(entry.scores.status === 'ok' && entry.scores.scores.actions.map((a) => a.text)).toEqual(
      entry.observation.actions,
    );
    await store().takeAction(1);
    expect(store().timeline[1].scores.status).toBe('pending');
    await until(latestScored);
  });

  it('ignores indices that are not offered', async () => {
    await store().open(setup('food-preparation'));
    await store().takeAction(99);
    await store().takeAction(-1);
    expect(latest().t).toBe(0);
  });

  it('ignores actions while a step is in flight', async () => {
    await store().open(setup('tomato-salad'));
    host.hold();
    const first = store().takeAction(0);
    await store().takeAction(1); // dropped: busy
    host.release();
    await first;
    expect(latest().t).toBe(1);
  });

  it('drops a step reply that arrives after a reset', async () => {
    await store().open(setup('tomato-salad'));
    host.hold();
    const step = store().takeAction(0);
    const reset = store().open(setup('entertainment'));
    host.release();
    await Promise.all([step, reset]);
    const s = store();
    expect(s.taskId).toBe('entertainment');
    expect(latest().t).toBe(0);
    expect(history()).toEqual([]);
    expect(s.timeline).toHaveLength(1);
    expect(latest().render.kind).toBe('virtualhome');
  });

  it('greedy steps take the action with the highest probability under the chosen normalization', async () => {
    await store().open(setup('entertainment'));
    for (const norm of ['word', 'sum', 'token'] as const) {
      store().selectNorm(norm);
      await until(latestScored);
      const entry = shownEntry(store())!;
      if (entry.scores.status !== 'ok') throw new Error('no scores');
      const probs = entry.scores.scores.policy[norm];
      const best = argmax(probs);
      await store().policyStep('greedy');
      const last = history()[history().length - 1];
      expect(last).toMatchObject({
        actionIndex: best,
        actionText: entry.observation.actions[best],
        by: 'greedy',
        prob: probs[best],
      });
    }
    expect(store().norm).toBe('token');
  });

  it('sampled steps repeat with the same seed', async () => {
    const play = async () => {
      await store().open(setup('entertainment', 4));
      for (let i = 0; i < 6 && !latest().done; i++) {
        await until(latestScored);
        await store().policyStep('sample');
      }
      return history().map((h) => `${h.by}:${h.actionText}`);
    };
    const a = await play();
    expect(a.length).toBeGreaterThan(0);
    expect(a.every((h) => h.startsWith('sample:'))).toBe(true);
    expect(await play()).toEqual(a);
  });

  it('keeps every state for scrubbing; stepping goes on from the latest', async () => {
    await store().open(setup('tomato-salad'));
    const prompt0 = latest().observation.prompt;
    await store().takeAction(0);
    await store().takeAction(3);
    const prompt2 = latest().observation.prompt;
    store().viewStep(0);
    expect(shownEntry(store())!.observation.prompt).toBe(prompt0);
    expect(shownEntry(store())!.taken?.index).toBe(0);
    store().viewStep(2);
    expect(store().viewIndex).toBeNull(); // the latest: follow it
    store().viewStep(1);
    await store().takeAction(0); // a step of the user returns to the latest
    expect(store().viewIndex).toBeNull();
    expect(latest().t).toBe(3);
    expect(store().timeline[2].observation.prompt).toBe(prompt2);
    store().viewStep(-5);
    expect(store().viewIndex).toBe(0);
  });

  it('auto-play steps until the episode ends, then resumes on reset', async () => {
    await store().open(setup('entertainment', 1));
    store().setSpeed(1000);
    await store().takeAction(0);
    store().viewStep(0);
    expect(store().viewIndex).toBe(0);
    store().setAutoPlay(true);
    await until((s) => latestEntry(s)!.done, 10_000);
    const s = store();
    expect(s.autoPlay).toBe(true);
    expect(
      history()
        .slice(1)
        .every((h) => h.by === 'sample'),
    ).toBe(true);
    expect(s.viewIndex).toBe(0); // auto-play does not move the view
    expect(latest().t).toBe(s.timeline.length - 1);
    await store().reset();
    await until((x) => latestEntry(x)!.t >= 2);
    store().setAutoPlay(false);
  });

  it('selecting a catalog model re-scores the latest state with it', async () => {
    await app.getState().models.loadCatalog(async () => [catalogRecord('tiny-2')]);
    await store().open(setup('pizza'));
    await until(latestScored);
    await store().selectModel('tiny-2');
    expect(store().modelId).toBe('tiny-2');
    await until((s) => {
      const last = s.timeline[s.timeline.length - 1];
      return last.scores.status === 'ok' && last.scores.scores.modelId === 'tiny-2';
    });
    await store().selectModel('no-such-model'); // not offered: ignored
    expect(store().modelId).toBe('tiny-2');
  });

  it('a model read from the cache loads only when cached; otherwise it says so and nothing loads', async () => {
    await app.getState().models.loadCatalog(async () => [catalogRecord('cached-1')]);
    let cached = false;
    const asked: string[] = [];
    store().attach(host.client, {
      gpuCheck: async () => ({ ok: true }),
      cacheCheck: async (choice) => {
        asked.push(choice.id);
        return cached ? { ok: true } : { ok: false, reason: `${choice.label} is not downloaded` };
      },
    });
    await store().open(setup('pizza', 0, { modelId: 'cached-1' }));
    expect(store().model).toEqual({ status: 'unavailable', id: 'cached-1', reason: 'cached-1 is not downloaded' });
    expect(store().timeline[0].scores).toEqual({ status: 'unavailable', reason: 'cached-1 is not downloaded' });
    cached = true;
    await store().selectModel('cached-1'); // the same model again: retried now that it is cached
    expect(store().model.status).toBe('ready');
    await until((s) => {
      const last = s.timeline[s.timeline.length - 1];
      return last.scores.status === 'ok' && last.scores.scores.modelId === 'cached-1';
    });
    expect(asked).toEqual(['cached-1', 'cached-1']);
  });

  it('without WebGPU the environment works and the panel says why there are no probabilities', async () => {
    store().attach(host.client, { gpuCheck: async () => ({ ok: false, reason: 'navigator.gpu is undefined.' }) });
    await store().open(setup('tomato-salad'));
    const s = store();
    expect(s.model.status).toBe('unavailable');
    expect(s.model.status === 'unavailable' && s.model.reason).toMatch(/need WebGPU.*navigator\.gpu is undefined/);
    expect(shownEntry(s)!.scores.status).toBe('unavailable');
    await store().policyStep('sample'); // nothing to sample from: ignored
    expect(latest().t).toBe(0);
    await store().takeAction(0);
    expect(latest().t).toBe(1);
    expect(shownEntry(store())!.scores.status).toBe('unavailable');
  });

  it('reports worker failures', async () => {
    host.link.fail('it crashed');
    await store().open(setup('pizza', 1));
    expect(store().phase).toBe('error');
    expect(store().error).toBe('the playground worker stopped: it crashed');
    expect(store().model.status).toBe('error');
  });

  it('by default the models slice checks a cached model: not downloaded, it opens the panel at its row', async () => {
    const record = catalogRecord('cached-1');
    const listed: string[] = [];
    const models: ModelsApi = {
      adapter: async () => ({ status: 'missing', reason: 'a test' }),
      catalog: async () => ({ status: 'ok', records: [record] }),
      listCached: async () => {
        listed.push('listed');
        return { status: 'ok', models: [] };
      },
      download: async (baseUrl) => ({ status: 'cancelled', baseUrl }),
      cancel: () => {},
      deleteCached: async () => 0,
    };
    app.getState().models.attach(localLink<ModelsApi>('models', models).api);
    await app.getState().models.catalogLoaded();
    await store().open(setup('pizza', 0, { modelId: 'cached-1' }));
    expect(store().model).toEqual({
      status: 'unavailable',
      id: 'cached-1',
      reason: 'cached-1 is not downloaded: download it in the Model panel (it is never downloaded without asking)',
    });
    expect(app.getState().models).toMatchObject({ open: true, focusId: 'cached-1' });
    expect(listed.length).toBeGreaterThan(0);
  });

  it('a picked folder becomes a model of this page and loads', async () => {
    await store().open(setup('pizza'));
    const file = new File(['{}'], 'mlc-chat-config.json');
    await app.getState().models.useFolder('tiny', [{ path: 'tiny/mlc-chat-config.json', file }]);
    expect(app.getState().models.folders['folder:tiny']).toMatchObject({ source: 'files' });
    expect(store().modelId).toBe('folder:tiny');
    expect(store().model).toMatchObject({ status: 'ready', info: { id: 'folder:tiny' } });
  });
});
