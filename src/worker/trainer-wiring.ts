/**
 * Connects the trainer host to the playground worker: the AgentHost's loaded engine (TWOSOME trains that very
 * engine: a large model is never loaded twice), its GPU queue (training updates and interactive scoring never
 * interleave), its adapter slot (the agent panel scores with the trainer's own adapter buffers, no copy), its
 * current state (the critic's value is asked of it), IndexedDB, whether the engine's GPU device was lost (a
 * run continues on the model loaded again on a new device), and the training probe's scorer (the engine's paired
 * passes with the trainer's own adapter buffers).
 */
import { IdbRunStore } from '../persist/run-store';
import { browserEstimate } from '../persist/storage-errors';
import { enginePairedScorer } from '../nlp-eval';
import { createGpuTwosomeModels } from '../rl/twosome-gpu';
import { noModelLoaded, type AgentHost } from './agent-host';
import { TrainerHost } from './trainer-host';
import type { ProbeModel } from './training-probe';

export function createTrainerHost(host: AgentHost): TrainerHost {
  const store = IdbRunStore.open();
  store.catch(() => {}); // reported by the host when a run starts and in the storage view
  return new TrainerHost({
    store,
    async loadedModelId() {
      await host.modelSettled();
      return host.loadedEngine()?.modelId ?? null;
    },
    async twosomeModels(config, seeds) {
      // A model still loading (a resume right after a reload) is waited for; one whose GPU was lost is loaded
      // again on a new device (a resume after the loss).
      const status = await host.revive();
      const loaded = host.loadedEngine();
      if (!loaded)
        throw new Error(`${noModelLoaded(status)}; TWOSOME trains the playground’s model, so load one first`);
      // Allocations of the LoRA and critic buffers happen in the GPU queue, after any scoring in progress.
      const models = await host.exclusive(async () => createGpuTwosomeModels(loaded.engine, config, seeds));
      return { models, modelId: loaded.modelId };
    },
    async frozenScorer() {
      await host.revive();
      const loaded = host.loadedEngine();
      if (!loaded) throw new Error('no model is loaded: SayCan scores with the playground’s model, so load one first');
      const { engine, modelId } = loaded;
      return { modelId, scorer: (requests) => engine.forwardScores(engine.tokenize(requests)) };
    },
    exclusive: (work) => host.exclusive(work),
    publishAdapter: (adapter, label, live) => host.setAdapter(adapter, label, live),
    currentRequest: (stepId) => host.currentRequest(stepId),
    estimate: browserEstimate,
    gpuLost: () => host.gpuLost(),
    probeModel: probeModel(host),
  });
}

/** The training probe's model: the loaded engine's paired passes with the adapter the trainer holds on the GPU. */
export function probeModel(host: AgentHost): ProbeModel {
  return {
    async paired(adapter) {
      // Released in the queue, after the last pass that used it.
      const release = () => void host.exclusive(async () => adapter?.release());
      const loaded = host.loadedEngine();
      if (!loaded || !adapter) {
        release();
        throw new Error(loaded ? "the run's adapter is not on the GPU" : 'no model is loaded');
      }
      const { engine } = loaded;
      const scorer = enginePairedScorer(engine, adapter.lora);
      return { tokenizer: engine.tokenizer, contextWindow: engine.config.contextWindow, scorer, release };
    },
    exclusive: (work) => host.exclusive(work),
  };
}
