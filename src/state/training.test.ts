import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { IdbRunStore } from '../persist/run-store';
import { FakeTwosomeActor } from '../rl/twosome-fake';
import { TrainerHost } from '../worker/trainer-host';
import { localClient } from '../worker/client';
import type { TrainingApi } from '../worker/api';
import type { TrainEvent } from '../worker/training-protocol';
import { createAppStore, type AppStore } from './store';
import { FLUSH_MS, trainingTaskOf } from './training';
import type { EstimateReply, TrainRequest } from '../worker/training-protocol';
import type { GpuInfo, GpuState } from './gpu';

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

/** The page's WebGPU as detection left it: `webgpu` (a ready adapter unless said otherwise). */
function setGpu(app: AppStore, webgpu: GpuState = { status: 'ready', info: {} as GpuInfo }): void {
  app.setState({ gpu: { ...app.getState().gpu, webgpu, detect: async () => webgpu } });
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
    // Before Resume, the stored run is shown as it was stored: its curves, not an empty chart.
    await until(() => training().phase === 'stored');
    expect(training().run?.updates).toBe(pausedAt);
    expect(training().metrics.map((m) => m.update)).toEqual(s.metrics.map((m) => m.update));
    await training().resume(training().offers[0].id);
    expect(
      training()
        .metrics.slice(0, pausedAt)
        .map((m) => m.update),
    ).toEqual(s.metrics.map((m) => m.update));
    await until(() => (training().run?.updates ?? 0) > pausedAt + 1);
    await training().stop();
    const after = training();
    expect(after.phase).toBe('stopped');
    expect(after.metrics.map((m) => m.update)).toEqual(
      Array.from({ length: after.run?.updates ?? 0 }, (_, i) => i + 1),
    );
  });

  it('shows why TWOSOME cannot start without a model, and keeps a finished SayCan run on the charts', async () => {
    training().attach(trainingClient(newHost(IdbRunStore.open(`training-store-${++db}`))));
    setGpu(app);
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
  it('a dead worker stops the run, saying why; Resume starts a new worker and continues from the store', async () => {
    const store = IdbRunStore.open(`training-store-${++db}`);
    // A dead worker sends nothing more: a host whose reports stop reaching the page once `alive` is false.
    let alive = true;
    type Listener = (e: TrainEvent) => void;
    const heardWhileAlive = (listener: Listener) => (e: TrainEvent) => alive && listener(e);
    const reporting = (host: TrainerHost): TrainingApi =>
      new Proxy(host, {
        get(target, key) {
          const value = Reflect.get(target, key) as unknown;
          if (typeof value !== 'function') return value;
          const wrap = (arg: unknown) => (typeof arg === 'function' ? heardWhileAlive(arg as Listener) : arg);
          return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args.map(wrap));
        },
      });
    const first = newHost(store);
    const parts = { training: reporting(first) };
    const link = localClient(parts);
    let restarts = 0;
    const restartWorker = async () => {
      restarts++;
      parts.training = reporting(newHost(store));
      alive = true;
      link.restart();
    };
    training().attach(link.api.training, { restartWorker });
    link.onFailure((error) => training().workerStopped(error.message));
    training().setForm({ algo: 'ppo-mlp', taskId: 'food-preparation', steps: 512 * 200 });
    await training().start();
    await until(() => training().metrics.length >= 2);

    const pausing = training().pause(); // in flight when the worker dies: its failure adds nothing to the message
    link.fail('it ran out of memory');
    alive = false;
    await pausing;
    await first.pause(); // the in-process host goes on otherwise; a dead worker's loop is gone with it
    const s = training();
    expect(s.phase).toBe('error');
    expect(s.error).toBe(
      'Training stopped: the playground worker stopped: it ran out of memory. ' +
        'Or resume training: it starts a new worker and continues from the last saved update.',
    );
    const runId = s.run?.id;
    const saved = await first.runMetrics(runId ?? '');
    const savedUpdates = saved.status === 'ok' ? saved.metrics.length : 0;
    expect(savedUpdates).toBeGreaterThanOrEqual(1);

    await training().resume();
    expect(restarts).toBe(1);
    expect(training().error).toBeNull();
    expect(training().run?.id).toBe(runId);
    await until(() => (training().run?.updates ?? 0) > savedUpdates + 1);
    await training().stop();
    const after = training();
    expect(after.phase).toBe('stopped');
    const inOrder = Array.from({ length: after.run?.updates ?? 0 }, (_, i) => i + 1);
    expect(after.metrics.map((m) => m.update)).toEqual(inOrder);
    expect(restarts).toBe(1); // a live worker is not restarted again

    // A run at rest stays as it is shown when its worker dies; the next use starts a new worker.
    link.fail('it ran out of memory again');
    expect([training().phase, training().error]).toEqual(['stopped', null]);
    await training().toggleOverlay(runId ?? '');
    expect(restarts).toBe(2);
    expect(training().overlays.map((o) => o.metrics.length)).toEqual([after.metrics.length]);
  });

  it('without a way to restart the worker, a dead worker only says it stopped', async () => {
    const link = localClient({ training: newHost(IdbRunStore.open(`training-store-${++db}`)) });
    training().attach(link.api.training);
    link.onFailure((error) => training().workerStopped(error.message));
    link.fail('it could not be loaded; reload the page to start it again');
    expect(training().error).toBeNull(); // nothing was training: nothing to say here
    training().setForm({ algo: 'ppo-mlp', taskId: 'food-preparation' });
    await training().start();
    const reason = 'it could not be loaded; reload the page to start it again';
    expect(training().error).toBe(`the playground worker stopped: ${reason}`);
    expect(training().phase).toBe('idle');
  });

  it('without WebGPU, TWOSOME and SayCan refuse to start saying so (not "no model is loaded"); PPO-MLP starts', async () => {
    const store = IdbRunStore.open(`training-store-${++db}`);
    training().attach(trainingClient(newHost(store)));
    const detail = 'This browser does not expose WebGPU (navigator.gpu is undefined).';
    setGpu(app, { status: 'missing', problem: 'no-webgpu', detail });
    for (const algo of ['twosome', 'saycan'] as const) {
      training().setForm({ algo, taskId: 'tomato-salad' });
      await training().start();
      expect(training().phase).toBe('idle');
      expect(training().error).toMatch(
        /^(TWOSOME|SayCan) runs the language model, which needs WebGPU, and this browser offers none here: /,
      );
      expect(training().error).toContain(detail);
      expect(training().error).not.toMatch(/no model is loaded/);
    }
    training().setForm({ algo: 'ppo-mlp', taskId: 'food-preparation', steps: 512 * 4 });
    await training().start();
    expect(training().error).toBeNull();
    await until(() => training().phase === 'done');
  });

  it("the form's task follows the header's (an unseen variant: its training task)", () => {
    app.setState({ playground: { ...app.getState().playground, taskId: 'tomato-lettuce-salad' } });
    expect(training().form.taskId).toBe('tomato-lettuce-salad');
    app.setState({ playground: { ...app.getState().playground, taskId: 'pizza' } });
    expect(trainingTaskOf('pizza')).toBe('food-preparation');
    expect(training().form.taskId).toBe('food-preparation');
  });

  it('asks for the expected time once per form, model and stored runs; a new step count asks again', async () => {
    const requests: TrainRequest[] = [];
    const host = newHost(IdbRunStore.open(`training-store-${++db}`));
    const reply: EstimateReply = {
      status: 'ok',
      secondsPerUpdate: 2,
      numUpdates: 3,
      source: { kind: 'measured', parts: null },
    };
    host.estimate = async (request) => (requests.push(request), reply);
    training().attach(trainingClient(host));
    training().setForm({ algo: 'ppo-mlp', taskId: 'food-preparation' });
    await Promise.all([training().estimateTime(), training().estimateTime()]);
    expect(requests).toHaveLength(1);
    expect(training().estimate).toMatchObject({ status: 'done', reply });
    training().setForm({ seed: 7 }); // the seed does not change the rate
    await training().estimateTime();
    expect(requests).toHaveLength(1);
    training().setForm({ steps: 2048 });
    await training().estimateTime();
    expect(requests.map((r) => r.steps)).toEqual([undefined, 2048]);

    // TWOSOME measures on the loaded model: not asked before it has loaded, asked once it has.
    training().setForm({ algo: 'twosome', taskId: 'tomato-salad', steps: null });
    await training().estimateTime();
    expect(requests).toHaveLength(2);
    app.setState({ playground: { ...app.getState().playground, model: { status: 'ready', info: {} as never } } });
    await training().estimateTime();
    expect(requests.map((r) => r.algo)).toEqual(['ppo-mlp', 'ppo-mlp', 'twosome']);
  });
});
