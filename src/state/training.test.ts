import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { IdbRunStore } from '../persist/run-store';
import { FakeTwosomeActor } from '../rl/twosome-fake';
import { TrainerHost } from '../worker/trainer-host';
import { localClient } from '../worker/client';
import { createAppStore, type AppStore } from './store';
import { FLUSH_MS } from './training';

let db = 0;

/** The worker's training methods answered in-process by a TrainerHost (PPO-MLP needs no model). */
const trainingClient = (host: TrainerHost) => localClient({ training: host }).api.training;

function newHost(store: Promise<IdbRunStore>): TrainerHost {
  return new TrainerHost({
    store,
    twosomeModels: () => Promise.reject(new Error('no model is loaded')),
    frozenScorer: async () => ({
      modelId: 'fake',
      scorer: (requests) => new FakeTwosomeActor().score(requests),
    }),
    exclusive: (work) => work(),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const t = Date.now();
  while (!check()) {
    if (Date.now() - t > ms) throw new Error('timed out');
    await sleep(10);
  }
}

describe('training store', () => {
  let app: AppStore;
  const training = () => app.getState().training;
  beforeEach(() => {
    app = createAppStore();
  });

  it('mirrors a run: updates in order, pause, and after a "reload" the offer resumes it with its metrics', async () => {
    const store = IdbRunStore.open(`training-store-${++db}`);
    training().attach(trainingClient(newHost(store)));
    training().setForm({ algo: 'ppo-mlp', taskId: 'food-preparation', steps: 512 * 200 });
    await training().start();
    await until(() => training().metrics.length >= 2);
    await training().pause();
    const s = training();
    expect(s.phase).toBe('paused');
    expect(s.metrics.map((m) => m.update)).toEqual(Array.from({ length: s.run?.updates ?? 0 }, (_, i) => i + 1));
    expect(s.run?.globalStep).toBe(512 * (s.run?.updates ?? 0));
    const pausedAt = s.run?.updates ?? 0;
    await sleep(FLUSH_MS + 50);
    expect(training().metrics).toHaveLength(pausedAt);

    // A new page: the store is fresh, the worker is new, the database is the same.
    app = createAppStore(); // a reload: a fresh page
    training().attach(trainingClient(newHost(store)));
    await until(() => training().offers.length === 1);
    await training().resume(training().offers[0].id);
    expect(training().metrics.slice(0, pausedAt).map((m) => m.update)).toEqual(s.metrics.map((m) => m.update));
    await until(() => (training().run?.updates ?? 0) > pausedAt + 1);
    await training().stop();
    const after = training();
    expect(after.phase).toBe('stopped');
    expect(after.metrics.map((m) => m.update)).toEqual(Array.from({ length: after.run?.updates ?? 0 }, (_, i) => i + 1));
  });

  it('shows why TWOSOME cannot start without a model, and keeps a finished SayCan run on the charts', async () => {
    training().attach(trainingClient(newHost(IdbRunStore.open(`training-store-${++db}`))));
    training().setForm({ algo: 'twosome', taskId: 'tomato-salad' });
    await training().start();
    expect(training().error).toMatch(/could not start training: no model is loaded/);
    expect(training().phase).toBe('idle');

    training().setForm({ algo: 'saycan', taskId: 'food-preparation' });
    await training().start();
    const s = training();
    expect(s.phase).toBe('done');
    expect(s.overlays.map((o) => o.algo)).toEqual(['saycan']);
  });
});
