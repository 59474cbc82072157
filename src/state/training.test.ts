import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { IdbRunStore } from '../persist/run-store';
import { FakeTwosomeActor } from '../rl/twosome-fake';
import { TrainerHost } from '../worker/trainer-host';
import { localClient } from '../worker/client';
import { FLUSH_MS, useTraining } from './training';

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
  beforeEach(() => {
    useTraining.setState({ phase: 'idle', run: null, metrics: [], overlays: [], offers: [], error: null, storage: null });
  });

  it('mirrors a run: updates in order, pause, and after a "reload" the offer resumes it with its metrics', async () => {
    const store = IdbRunStore.open(`training-store-${++db}`);
    useTraining.getState().attach(trainingClient(newHost(store)));
    useTraining.getState().setForm({ algo: 'ppo-mlp', taskId: 'food-preparation', steps: 512 * 200 });
    await useTraining.getState().start();
    await until(() => useTraining.getState().metrics.length >= 2);
    await useTraining.getState().pause();
    const s = useTraining.getState();
    expect(s.phase).toBe('paused');
    expect(s.metrics.map((m) => m.update)).toEqual(Array.from({ length: s.run?.updates ?? 0 }, (_, i) => i + 1));
    expect(s.run?.globalStep).toBe(512 * (s.run?.updates ?? 0));
    const pausedAt = s.run?.updates ?? 0;
    await sleep(FLUSH_MS + 50);
    expect(useTraining.getState().metrics).toHaveLength(pausedAt);

    // A new page: the store is fresh, the worker is new, the database is the same.
    useTraining.setState({ phase: 'idle', run: null, metrics: [], overlays: [], offers: [] });
    useTraining.getState().attach(trainingClient(newHost(store)));
    await until(() => useTraining.getState().offers.length === 1);
    await useTraining.getState().resume(useTraining.getState().offers[0].id);
    expect(useTraining.getState().metrics.slice(0, pausedAt).map((m) => m.update)).toEqual(s.metrics.map((m) => m.update));
    await until(() => (useTraining.getState().run?.updates ?? 0) > pausedAt + 1);
    await useTraining.getState().stop();
    const after = useTraining.getState();
    expect(after.phase).toBe('stopped');
    expect(after.metrics.map((m) => m.update)).toEqual(Array.from({ length: after.run?.updates ?? 0 }, (_, i) => i + 1));
  });

  it('shows why TWOSOME cannot start without a model, and keeps a finished SayCan run on the charts', async () => {
    useTraining.getState().attach(trainingClient(newHost(IdbRunStore.open(`training-store-${++db}`))));
    useTraining.getState().setForm({ algo: 'twosome', taskId: 'tomato-salad' });
    await useTraining.getState().start();
    expect(useTraining.getState().error).toMatch(/could not start training: no model is loaded/);
    expect(useTraining.getState().phase).toBe('idle');

    useTraining.getState().setForm({ algo: 'saycan', taskId: 'food-preparation' });
    await useTraining.getState().start();
    const s = useTraining.getState();
    expect(s.phase).toBe('done');
    expect(s.overlays.map((o) => o.algo)).toEqual(['saycan']);
  });
});
