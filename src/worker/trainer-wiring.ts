/**
 * Connects the trainer host to the playground worker: the AgentHost's loaded engine (TWOSOME trains that very
 * engine: a large model is never loaded twice), its GPU queue (training updates and interactive scoring never
 * interleave), its adapter slot (the agent panel scores with the trainer's own adapter buffers, no copy),
 * IndexedDB, and Comlink (progress callbacks are proxies; each is released once the host stops calling it).
 */
import * as Comlink from 'comlink';
import { IdbRunStore } from '../persist/run-store';
import { createGpuTwosomeModels } from '../rl/twosome-gpu';
import type { AgentHost } from './agent-host';
import { TrainerHost } from './trainer-host';
import type { TrainEvent, TrainingApi, TrainReply } from './training-protocol';

const released = new WeakSet<object>();

/** Closes a callback proxy's channel, once (a released proxy throws on any use). */
function release(listener: ((event: TrainEvent) => void) | undefined): void {
  if (!listener || released.has(listener)) return;
  released.add(listener);
  (listener as Partial<Comlink.Remote<unknown>>)[Comlink.releaseProxy]?.();
}

export function createTrainerHost(host: AgentHost): TrainerHost {
  const store = IdbRunStore.open();
  store.catch(() => {}); // reported by the host when a run starts and in the storage view
  return new TrainerHost({
    store,
    async twosomeModels(config, seeds) {
      // A model still loading (a resume right after a reload) is waited for.
      const status = await host.modelSettled();
      const loaded = host.loadedEngine();
      if (!loaded) {
        const why = status.status === 'error' ? `: ${status.message}` : status.status === 'unavailable' ? `: ${status.reason}` : '';
        throw new Error(`no model is loaded${why}; TWOSOME trains the playground’s model, so load one first`);
      }
      // Allocations of the LoRA and critic buffers happen in the GPU queue, after any scoring in progress.
      const models = await host.exclusive(async () => createGpuTwosomeModels(loaded.engine, config, seeds));
      return { models, modelId: loaded.modelId };
    },
    async frozenScorer() {
      await host.modelSettled();
      const loaded = host.loadedEngine();
      if (!loaded) throw new Error('no model is loaded: SayCan scores with the playground’s model, so load one first');
      const { engine, modelId } = loaded;
      return { modelId, scorer: (requests) => engine.forwardScores(engine.tokenize(requests)) };
    },
    exclusive: (work) => host.exclusive(work),
    publishAdapter: (adapter, label, live) => host.setAdapter(adapter, label, live),
    releaseListener: release,
    estimate: async () => (typeof navigator !== 'undefined' && navigator.storage?.estimate ? navigator.storage.estimate() : {}),
  });
}

/** The worker's training methods; a progress callback the host did not take (a refused start) is released. */
export function trainingApi(trainer: TrainerHost, host: AgentHost): TrainingApi {
  const settle = async (reply: Promise<TrainReply>, onEvent?: (event: TrainEvent) => void) => {
    const r = await reply;
    if (onEvent && !trainer.isListening(onEvent)) release(onEvent);
    return r;
  };
  return {
    trainStart: (request, onEvent) => settle(trainer.start(request, onEvent), onEvent),
    trainPause: () => trainer.pause(),
    trainResume: (runId, onEvent) => settle(trainer.resume(runId, onEvent), onEvent),
    trainStop: () => trainer.stop(),
    trainStep: () => trainer.singleUpdate(),
    trainEvaluate: (tasks, episodes, greedy) => trainer.evaluate(tasks, episodes, greedy),
    trainStorage: () => trainer.storage(),
    trainRunMetrics: (runId) => trainer.runMetrics(runId),
    trainDelete: (runId) => trainer.deleteRun(runId),
    criticValue: (stepId) => trainer.criticValue(host.currentRequest(stepId)),
  };
}
