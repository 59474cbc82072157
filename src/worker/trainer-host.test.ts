import 'fake-indexeddb/auto';
import * as Comlink from 'comlink';
import { describe, expect, it } from 'vitest';
import { IdbRunStore, type RunStore } from '../persist/run-store';
import type { GpuLora, LoraHandle } from '../llm/train/gpu-lora';
import type { LoraAdapter } from '../llm/train/lora';
import type { PpoConfig } from '../rl/config';
import type { BatchScorer } from '../rl/evaluate';
import { FakeTwosomeActor } from '../rl/twosome-fake';
import { CpuCritic } from '../rl/twosome-model';
import { Rng } from '../util/rng';
import { TrainerHost, type TrainerHostDeps } from './trainer-host';
import type { TrainEvent, TrainMetrics, TrainReply, TrainRequest } from './training-protocol';

let dbCount = 0;
const freshStore = () => IdbRunStore.open(`test-runs-${++dbCount}`);

const ADAM = { beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5 };

/** A frozen "model": the fake actor's base scores (no offsets trained). */
const frozen: BatchScorer = (requests) => new FakeTwosomeActor().score(requests);

function deps(
  store: Promise<RunStore>,
  overrides: Partial<TrainerHostDeps> = {},
): TrainerHostDeps & { log: string[]; adapters: string[] } {
  const log: string[] = [];
  const adapters: string[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  return {
    log,
    adapters,
    store,
    async twosomeModels(config: PpoConfig, seeds) {
      const actor = new FakeTwosomeActor();
      // The fake keeps its values in `tensors`; a stand-in adapter shows what would reach the playground.
      const getState = actor.getState.bind(actor);
      actor.getState = async () => ({
        ...(await getState()),
        adapter: {
          config: { r: 1, alpha: 1, dropout: 0, targets: [] },
          scale: 1,
          modules: [],
        } as unknown as LoraAdapter,
      });
      const critic = CpuCritic.init(actor.featureDim, config.critic.hiddenSizes, new Rng(seeds.critic), {
        ...ADAM,
        eps: config.adamEps,
      });
      return { models: { actor, critic }, modelId: 'fake' };
    },
    frozenScorer: async () => ({ scorer: frozen, modelId: 'fake' }),
    loadedModelId: async () => 'fake',
    exclusive: <T>(work: () => Promise<T>) => {
      const run = queue.then(() => {
        log.push('gpu');
        return work();
      });
      queue = run.catch(() => {});
      return run;
    },
    async publishAdapter(_adapter, label) {
      adapters.push(label);
    },
    ...overrides,
  };
}

/** Learning metrics only: timing and throughput differ between runs. */
const learning = (m: TrainMetrics) => {
  const { timing: _t, tokensPerSecond: _tps, tokens: _tok, ...rest } = m;
  return rest;
};

async function waitFor(check: () => boolean, ms = 20_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The quick runs the tests train: PPO-MLP on Food Preparation, TWOSOME (the fake actor) on Tomato Salad. */
const PPO_MLP = { algo: 'ppo-mlp', taskId: 'food-preparation', preset: 'quick' } as const;
const TWOSOME = { algo: 'twosome', taskId: 'tomato-salad', preset: 'quick' } as const;

/** A reply that must be ok; its message as the failure otherwise. */
function ok(reply: TrainReply): Extract<TrainReply, { status: 'ok' }> {
  if (reply.status !== 'ok') throw new Error(reply.message);
  return reply;
}

/** Waits for `host`'s run to finish, then pauses it: the reply holds the run and all its metrics. */
async function pauseWhenDone(host: TrainerHost) {
  await waitFor(() => host.current?.status === 'done');
  return ok(await host.pause());
}

/** `request` trained start to end in a host of its own: what a run stopped and resumed must equal. */
async function straightRun(request: TrainRequest) {
  const straight = new TrainerHost(deps(freshStore()));
  await straight.start(request);
  return pauseWhenDone(straight);
}

/** Starts a long PPO-MLP run on `host` and pauses it once its first update is saved. */
async function pausedAfterFirstUpdate(host: TrainerHost) {
  ok(await host.start({ ...PPO_MLP, seed: 1, steps: 512 * 40 }));
  await waitFor(() => (host.current?.updates ?? 0) >= 1);
  return ok(await host.pause());
}

describe('TrainerHost', () => {
  it('runs PPO-MLP update by update, saving meta, metrics and checkpoint after each, and reports in order', async () => {
    const store = freshStore();
    const host = new TrainerHost(deps(store));
    const events: TrainEvent[] = [];
    const reply = await host.start({ ...PPO_MLP, seed: 3, steps: 512 * 3 }, (e) => events.push(e));
    expect(reply.status).toBe('ok');
    await waitFor(() => events.some((e) => e.type === 'status' && e.run.status === 'done'));
    const updates = events.filter((e) => e.type === 'update');
    expect(updates.map((e) => (e.type === 'update' ? e.metrics.update : 0))).toEqual([1, 2, 3]);
    expect(events[0]).toMatchObject({ type: 'status', run: { status: 'running' } });
    expect(events[events.length - 1]).toMatchObject({
      type: 'status',
      run: { status: 'done', updates: 3, globalStep: 1536 },
    });
    const s = await store;
    expect(await s.getRun(reply.status === 'ok' ? reply.run.id : '')).toMatchObject({ status: 'done', updates: 3 });
    const id = reply.status === 'ok' ? reply.run.id : '';
    expect((await s.getMetrics(id)).map((m) => m.globalStep)).toEqual([512, 1024, 1536]);
    expect(await s.getCheckpoint(id)).toMatchObject({ algo: 'ppo-mlp', state: { update: 3 } });
  });

  it('pause resolves after the update in progress is saved; resume continues; stop keeps the run', async () => {
    const store = freshStore();
    const host = new TrainerHost(deps(store));
    const paused = await pausedAfterFirstUpdate(host);
    expect(paused.run.status).toBe('paused');
    const at = paused.run.updates;
    expect(paused.metrics).toHaveLength(at);
    // Nothing moves while paused, and the store has exactly the paused update.
    await new Promise((r) => setTimeout(r, 50));
    expect(host.current?.updates).toBe(at);
    const s = await store;
    expect(await s.getRun(paused.run.id)).toMatchObject({ status: 'paused', updates: at });
    expect(await s.getCheckpoint(paused.run.id)).toMatchObject({ state: { update: at } });

    expect((await host.start({ ...PPO_MLP, seed: 1 })).status).toBe('ok');
    // (a paused run does not block a new one: it is replaced, and stays stored)
    const stopped = ok(await host.stop());
    expect(stopped.run.status).toBe('stopped');
    expect(await s.getRun(paused.run.id)).toMatchObject({ status: 'paused', updates: at });

    const step = ok(await host.singleUpdate());
    expect(step.run.updates).toBe(stopped.run.updates + 1);
    expect(step.run.status).toBe('paused');
  });

  it('refuses a second start while training, and a resume of nothing; releases listeners it drops', async () => {
    const host = new TrainerHost(deps(freshStore()));
    // Through Comlink a listener is a proxy with a release method (link.ts: releaseCallback).
    const released: string[] = [];
    const listener = (name: string) => Object.assign(() => {}, { [Comlink.releaseProxy]: () => released.push(name) });
    const nothing = await host.resume(null, listener('resume of nothing'));
    expect(nothing).toEqual({ status: 'error', message: 'there is no run to resume' });
    await host.start({ ...PPO_MLP, seed: 1, steps: 512 * 40 }, listener('first'));
    expect(released).toEqual(['resume of nothing']);
    const second = await host.start({ ...PPO_MLP, seed: 2 }, listener('second'));
    expect(second).toMatchObject({ status: 'error', message: expect.stringMatching(/pause or stop/) });
    expect(released).toEqual(['resume of nothing', 'second']);
    await host.stop();
    expect((await host.resume(null, listener('resumed'))).status).toBe('ok');
    expect(released).toEqual(['resume of nothing', 'second', 'first']); // replaced by the resume's
    await host.stop();
  });

  it('a PPO-MLP run resumed from the store in a new host (a reload) gives the metrics of a run never stopped', async () => {
    const request = { ...PPO_MLP, seed: 5, steps: 512 * 4 };
    const expected = await straightRun(request);

    const store = freshStore();
    const first = new TrainerHost(deps(store));
    const started = ok(await first.start(request));
    await waitFor(() => (first.current?.updates ?? 0) >= 2);
    await first.pause();
    // A new page: a new host on the same database.
    const second = new TrainerHost(deps(store));
    const resumed = ok(await second.resume(started.run.id));
    expect(resumed.metrics.length).toBeGreaterThanOrEqual(2);
    const final = await pauseWhenDone(second);
    expect(final.metrics.map(learning)).toEqual(expected.metrics.map(learning));
    expect(await (await store).getMetrics(started.run.id)).toHaveLength(4);
  });

  it("hands the playground the trainer's adapter on the GPU with every published update (no copy)", async () => {
    const held: string[] = [];
    const published: (LoraHandle | undefined)[] = [];
    const base = deps(freshStore());
    const host = new TrainerHost({
      ...base,
      async twosomeModels(config, seeds) {
        const built = await base.twosomeModels(config, seeds);
        // A GPU actor holds its LoRA buffers for the scorer; the fake stands in with a marker handle per hold.
        built.models.actor.holdAdapter = () => {
          held.push(`hold ${held.length + 1}`);
          return { lora: {} as GpuLora, release: () => {} };
        };
        return built;
      },
      async publishAdapter(_adapter, label, live) {
        base.adapters.push(label);
        published.push(live);
      },
    });
    await host.start({ ...TWOSOME, seed: 2, steps: 64 * 2 });
    await waitFor(() => host.current?.status === 'done');
    expect(base.adapters).toHaveLength(2);
    expect(held).toEqual(['hold 1', 'hold 2']);
    expect(published.every((live) => live !== undefined)).toBe(true);
  });

  it('a TWOSOME run (fake actor) resumed from its checkpoint equals one never stopped; adapters are published', async () => {
    const request = { ...TWOSOME, seed: 2, steps: 64 * 3 };
    const expected = await straightRun(request);
    expect(expected.metrics).toHaveLength(3);

    const store = freshStore();
    const d1 = deps(store);
    const first = new TrainerHost(d1);
    const started = ok(await first.start(request));
    await waitFor(() => (first.current?.updates ?? 0) >= 1);
    await first.pause();
    expect(d1.log.length).toBeGreaterThan(0); // updates ran in the GPU queue
    const current = { prompt: 'a prompt', actions: ['x', 'y'] };
    const d2 = deps(store, { currentRequest: (stepId) => (stepId === 5 ? current : null) });
    const second = new TrainerHost(d2);
    ok(await second.resume(started.run.id));
    const final = await pauseWhenDone(second);
    expect(final.metrics.map(learning)).toEqual(expected.metrics.map(learning));
    // The restored adapter first, then one per update.
    expect(d2.adapters[0]).toMatch(/update \d/);
    expect(d2.adapters.at(-1)).toMatch(/update 3$/);
    expect((await second.criticValue(5)).status).toBe('ok');
    expect(await second.criticValue(4)).toEqual({ status: 'none', reason: 'no current state' });
  });

  it('after a failed update, resume continues from the last checkpoint, as if the failure never happened', async () => {
    const request = { ...TWOSOME, seed: 4, steps: 64 * 3 };
    const expected = await straightRun(request);

    const base = deps(freshStore());
    let built = 0;
    const host = new TrainerHost({
      ...base,
      async twosomeModels(config, seeds) {
        const made = await base.twosomeModels(config, seeds);
        // The first actor's GPU "fails" in update 2 (its third optimizer step); later ones work.
        if (built++ === 0) {
          const actor = made.models.actor;
          const step = actor.step.bind(actor);
          let calls = 0;
          actor.step = async (lr) => {
            if (++calls === 3) throw new Error('device lost');
            return step(lr);
          };
        }
        return made;
      },
    });
    const events: TrainEvent[] = [];
    await host.start(request, (e) => events.push(e));
    await waitFor(() => host.current?.status === 'error');
    expect(host.current?.updates).toBe(1);
    expect(events.find((e) => e.type === 'error')).toMatchObject({ message: 'update 2 failed: device lost' });
    ok(await host.resume(null));
    const final = await pauseWhenDone(host);
    expect(final.metrics.map(learning)).toEqual(expected.metrics.map(learning));
  });

  it('a GPU lost mid-update is said as such (not its read-back error); the record stays at the saved one', async () => {
    const store = freshStore();
    const base = deps(store);
    let lost: string | null = null;
    const host = new TrainerHost({
      ...base,
      gpuLost: async () => lost,
      async twosomeModels(config, seeds) {
        const made = await base.twosomeModels(config, seeds);
        const actor = made.models.actor;
        const step = actor.step.bind(actor);
        let calls = 0;
        actor.step = async (lr) => {
          if (++calls === 3) {
            lost = 'Device was destroyed.';
            throw new Error("Failed to execute 'mapAsync' on 'GPUBuffer': Buffer is unmapped.");
          }
          return step(lr);
        };
        return made;
      },
    });
    const events: TrainEvent[] = [];
    await host.start({ ...TWOSOME, seed: 4, steps: 64 * 3 }, (e) => events.push(e));
    await waitFor(() => host.current?.status === 'error');
    const message =
      'the GPU was lost during update 2 (Device was destroyed.), so training stopped and the run is kept at ' +
      'update 1. Resume training starts the GPU again and continues from the last saved update';
    expect(events.find((e) => e.type === 'error')).toMatchObject({ message });
    expect(await (await store).getRun(host.current!.id)).toMatchObject({ status: 'error', updates: 1, message });
  });

  it('reports a damaged checkpoint with a message and keeps the record', async () => {
    const store = freshStore();
    const host = new TrainerHost(deps(store));
    const paused = await pausedAfterFirstUpdate(host);
    const s = await store;
    await s.saveUpdate(paused.run, paused.metrics[0], { format: 'something else' } as never);
    const other = new TrainerHost(deps(store));
    const reply = await other.resume(paused.run.id);
    expect(reply).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/cannot be resumed: its checkpoint is not a twosome-web checkpoint.*kept/),
    });
    expect(await s.getRun(paused.run.id)).toBeDefined();
    const storage = await other.storage();
    expect(storage.status === 'ok' && storage.storage.runs.map((r) => r.id)).toEqual([paused.run.id]);
    expect(await other.deleteRun(paused.run.id)).toEqual({ status: 'ok' });
    expect(await s.getRun(paused.run.id)).toBeUndefined();
  });

  it('full storage stops training, says so with numbers, keeps the saved record; resume saves first', async () => {
    const request = { ...PPO_MLP, seed: 1, steps: 512 * 4 };
    const expected = await straightRun(request);

    const real = await freshStore();
    let full = false;
    const quota = () => Object.assign(new Error(''), { name: 'QuotaExceededError' }); // Chromium's: no message
    const failing: RunStore = Object.assign(Object.create(real) as RunStore, {
      saveUpdate: (...args: Parameters<RunStore['saveUpdate']>) =>
        full ? Promise.reject(quota()) : real.saveUpdate(...args),
      putRun: (m: Parameters<RunStore['putRun']>[0]) => (full ? Promise.reject(quota()) : real.putRun(m)),
    });
    const host = new TrainerHost(
      deps(Promise.resolve(failing), { estimate: async () => ({ usage: 10_400_000, quota: 10_485_760 }) }),
    );
    const events: TrainEvent[] = [];
    await host.start(request, (e) => {
      events.push(e);
      // The storage fills up once update 2 is saved.
      if (e.type === 'update' && e.metrics.update === 2) full = true;
    });
    await waitFor(() => host.current?.status === 'error');
    const message =
      "update 3 was not saved: this site's storage is full (QuotaExceededError: 9.9 MiB of its 10 MiB quota used). " +
      'Training stopped and the stored run stays at update 2; free some space (delete stored runs or cached models), ' +
      'then resume: update 3 is saved first';
    expect(events.filter((e) => e.type === 'error')).toEqual([
      { type: 'error', run: expect.objectContaining({ updates: 2, status: 'error', message }), message },
    ]);
    // Nothing of update 3 reached the page or the store: the record, its metrics and its checkpoint agree.
    expect(events.filter((e) => e.type === 'update').map((e) => e.type === 'update' && e.metrics.update)).toEqual([
      1, 2,
    ]);
    const id = host.current!.id;
    expect(await real.getRun(id)).toMatchObject({ updates: 2, globalStep: 1024 });
    expect(await real.getMetrics(id)).toHaveLength(2);
    expect(await real.getCheckpoint(id)).toMatchObject({ state: { update: 2 } });
    const paused = await host.pause();
    expect(paused.status === 'ok' && [paused.run.updates, paused.metrics.length]).toEqual([2, 2]);

    // Still full: resume says so again and changes nothing.
    expect(await host.resume(null)).toEqual({ status: 'error', message });
    full = false;
    const resumed = await host.resume(null);
    expect(resumed.status === 'ok' && resumed.run.updates).toBe(3);
    const final = await pauseWhenDone(host);
    expect(final.metrics.map(learning)).toEqual(expected.metrics.map(learning));
    expect(await real.getMetrics(id)).toHaveLength(4);
  });

  it('SayCan evaluates the frozen model greedily and stores one record; evaluation skips tasks PPO-MLP cannot act in', async () => {
    const store = freshStore();
    const host = new TrainerHost(deps(store));
    const reply = await host.start({
      algo: 'saycan',
      taskId: 'food-preparation',
      preset: 'quick',
      seed: 0,
      episodes: 3,
    });
    if (reply.status !== 'ok') throw new Error(reply.message);
    // An evaluation: its "updates" are the episodes played, its steps the env steps they took.
    expect(reply.run).toMatchObject({ status: 'done', algo: 'saycan', updates: 3, numUpdates: 3 });
    expect(reply.metrics[0].episodes).toBe(3);
    expect(reply.metrics[0].globalStep).toBe(Math.round(3 * reply.metrics[0].episodeLength!));
    expect(reply.run.globalStep).toBe(reply.metrics[0].globalStep);
    expect(reply.metrics[0].timing.rolloutSeconds).toBeGreaterThan(0);
    expect((await host.runMetrics(reply.run.id)).status).toBe('ok');

    await host.start({ ...PPO_MLP, seed: 1, steps: 512 });
    await waitFor(() => host.current?.status === 'done');
    const evaluation = await host.evaluate(['food-preparation', 'entertainment'], 2, true);
    if (evaluation.status !== 'ok') throw new Error(evaluation.message);
    expect(evaluation.rows).toHaveLength(1);
    expect(evaluation.rows[0]).toMatchObject({ taskId: 'food-preparation', seen: true, episodes: 2 });
    expect(evaluation.skipped[0].taskId).toBe('entertainment');
  });

  it('estimates a run before it starts: measured on its models, or at the rate of a stored run like it', async () => {
    const store = freshStore();
    const host = new TrainerHost(deps(store));
    const twosome = { ...TWOSOME, seed: 1, steps: 640 };
    const measured = await host.estimate(twosome);
    if (measured.status !== 'ok') throw new Error(measured.reason);
    expect(measured).toMatchObject({
      numUpdates: 10,
      source: {
        kind: 'measured',
        parts: expect.stringMatching(/^a rollout step \d+ ms, a policy pass \d+ ms, a value pass \d+ ms$/),
      },
    });
    expect(measured.secondsPerUpdate).toBeGreaterThan(0);
    expect(await host.estimate({ ...twosome, algo: 'saycan' })).toMatchObject({ status: 'unavailable' });
    const none = new TrainerHost(deps(store, { loadedModelId: async () => null }));
    expect(await none.estimate(twosome)).toEqual({ status: 'unavailable', reason: 'no model is loaded' });

    const mlp = { ...PPO_MLP, seed: 1, steps: 512 * 8 };
    expect(await host.estimate(mlp)).toMatchObject({ status: 'ok', numUpdates: 8, source: { kind: 'measured' } });
    // Long enough to be training still when asked; stopped after its first updates.
    await host.start({ ...mlp, steps: 512 * 400 });
    expect(await host.estimate(mlp)).toMatchObject({
      status: 'unavailable',
      reason: expect.stringMatching(/a run is training/),
    });
    await waitFor(() => (host.current?.updates ?? 0) >= 2);
    await host.stop();
    const run = host.current!;
    const stored = await host.estimate(mlp);
    if (stored.status !== 'ok') throw new Error(stored.reason);
    expect(stored.source).toEqual({ kind: 'run', runId: run.id, startedAt: run.startedAt });
    const metrics = (await (await store).getMetrics(run.id)).slice(-5);
    const perUpdate =
      metrics.reduce((t, m) => t + m.timing.rolloutSeconds + m.timing.updateSeconds, 0) / metrics.length;
    expect(stored.secondsPerUpdate).toBeCloseTo(perUpdate, 9);
    expect(stored.numUpdates).toBe(8);
  });

  it('marks as seen only the task the run trained on; the frozen model saw none', async () => {
    const host = new TrainerHost(deps(freshStore()));
    const frozenRows = await host.evaluate(['tomato-salad', 'tomato-lettuce-salad'], 1, true);
    if (frozenRows.status !== 'ok') throw new Error(frozenRows.message);
    expect(frozenRows.rows.map((r) => r.seen)).toEqual([false, false]);
    await host.start({ ...TWOSOME, seed: 1, steps: 64 });
    await waitFor(() => host.current?.status === 'done');
    const rows = await host.evaluate(['tomato-salad', 'tomato-lettuce-salad'], 1, true);
    if (rows.status !== 'ok') throw new Error(rows.message);
    expect(rows.rows.map((r) => [r.taskId, r.seen])).toEqual([
      ['tomato-salad', true],
      ['tomato-lettuce-salad', false],
    ]);
  });
});
