/**
 * The playground worker: the live environment and the WebGPU LLM engine side by side, so the current
 * observation is scored where it is made (no prompt or tensor crosses threads for a decision). The rules
 * live in AgentHost (agent-host.ts); this file only exposes them over Comlink.
 */
import * as Comlink from 'comlink';
import { AgentHost } from './agent-host';
import { loadEngineScorer } from './engine-scorer';
import type { EnvWorkerApi } from './protocol';
import { createTrainerHost, trainingApi } from './trainer-wiring';

const host = new AgentHost(loadEngineScorer);
// Training runs here too, on the engine the host loaded (trainer-wiring.ts).
const trainer = createTrainerHost(host);

const api: EnvWorkerApi = {
  reset: (taskId, seed) => host.reset(taskId, seed),
  step: (index) => host.step(index),
  scores: (stepId) => host.scores(stepId),
  policyStep: (stepId, mode, norm) => host.policyStep(stepId, mode, norm),
  setAdapter: (adapter, label) => host.setAdapter(adapter, label),
  loadAdapterWeights: (weights, label, baseModel, warnings) => host.loadAdapterWeights(weights, label, baseModel, warnings),
  currentAdapter: () => host.currentAdapter(),
  adapterInfo: () => host.adapterInfo(),
  probeAdapter: (stepId, weights) => host.probeAdapter(stepId, weights),
  ...trainingApi(trainer, host),
  async loadModel(spec, onStatus) {
    try {
      // Another model replaces the engine a TWOSOME run trains: it pauses first (and stays stored).
      if (host.loadedEngine()?.modelId !== spec.id) await trainer.releaseEngine();
      return await host.loadModel(spec, onStatus);
    } finally {
      // onStatus is a Comlink proxy of the page's callback: close its channel once loading has settled.
      (onStatus as Partial<Comlink.Remote<unknown>> | undefined)?.[Comlink.releaseProxy]?.();
    }
  },
};

Comlink.expose(api);
