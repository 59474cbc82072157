import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { makeCheckpoint } from '../rl/checkpoint';
import { PpoMlpTrainer } from '../rl/ppo-mlp';
import { presetConfig } from '../rl/config';
import type { RunMeta } from '../worker/training-protocol';
import { IdbRunStore } from './run-store';

const meta = (id: string, over: Partial<RunMeta> = {}): RunMeta => ({
  id,
  algo: 'ppo-mlp',
  taskId: 'food-preparation',
  modelId: null,
  preset: 'quick',
  seed: 1,
  startedAt: `2026-01-01T00:00:0${id.length % 10}Z`,
  updates: 0,
  numUpdates: 4,
  globalStep: 0,
  status: 'running',
  ...over,
});

describe('IdbRunStore', () => {
  it('keeps meta, per-update metrics and the checkpoint (typed arrays intact) of each run, apart', async () => {
    const store = await IdbRunStore.open('store-test-1');
    const trainer = new PpoMlpTrainer(presetConfig('ppo-mlp', 'food-preparation', 'quick', { seed: 1, steps: 1024 }));
    const m1 = trainer.runUpdate();
    await store.saveUpdate(
      meta('a', { updates: 1, globalStep: m1.globalStep }),
      m1,
      makeCheckpoint(
        'ppo-mlp',
        { task: 'food-preparation', model: null, preset: 'quick', startedAt: 'x' },
        trainer.getState(),
      ),
    );
    const m2 = trainer.runUpdate();
    const state = trainer.getState();
    await store.saveUpdate(
      meta('a', { updates: 2, globalStep: m2.globalStep }),
      m2,
      makeCheckpoint('ppo-mlp', { task: 'food-preparation', model: null, preset: 'quick', startedAt: 'x' }, state),
    );
    await store.putRun(meta('bb'));

    expect((await store.listRuns()).map((r) => r.id)).toEqual(['a', 'bb']);
    expect(await store.getRun('a')).toMatchObject({ updates: 2, globalStep: m2.globalStep });
    expect(await store.getMetrics('a')).toEqual([m1, m2]);
    expect(await store.getMetrics('a', 1)).toEqual([m1]);
    expect(await store.getMetrics('bb')).toEqual([]);
    const back = (await store.getCheckpoint('a')) as { state: typeof state };
    expect(back.state.actor[0]).toBeInstanceOf(Float32Array);
    expect(back.state).toEqual(state);

    await store.deleteRun('a');
    expect((await store.listRuns()).map((r) => r.id)).toEqual(['bb']);
    expect(await store.getMetrics('a')).toEqual([]);
    expect(await store.getCheckpoint('a')).toBeUndefined();
    store.close();
  });

  it('writes an update atomically: a failing checkpoint write leaves meta and metrics as they were', async () => {
    const store = await IdbRunStore.open('store-test-2');
    const trainer = new PpoMlpTrainer(presetConfig('ppo-mlp', 'food-preparation', 'quick', { seed: 1, steps: 1024 }));
    const m1 = trainer.runUpdate();
    await store.putRun(meta('a'));
    // A function cannot be structured-cloned: the checkpoint's put throws inside the transaction.
    const bad = { format: 'x', f: () => 0 } as never;
    await expect(store.saveUpdate(meta('a', { updates: 1 }), m1, bad)).rejects.toThrow();
    expect(await store.getRun('a')).toMatchObject({ updates: 0 });
    expect(await store.getMetrics('a')).toEqual([]);
    store.close();
  });
});
