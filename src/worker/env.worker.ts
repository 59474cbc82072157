/**
 * The playground worker: the live environment and the WebGPU LLM engine side by side, so the current
 * observation is scored where it is made (no prompt or tensor crosses threads for a decision). The rules
 * live in AgentHost (agent-host.ts); this file only exposes them over Comlink.
 */
import * as Comlink from 'comlink';
import { AgentHost } from './agent-host';
import { loadEngineScorer } from './engine-scorer';
import type { EnvWorkerApi } from './protocol';

const host = new AgentHost(loadEngineScorer);

const api: EnvWorkerApi = {
  reset: (taskId, seed) => host.reset(taskId, seed),
  step: (index) => host.step(index),
  scores: (stepId) => host.scores(stepId),
  policyStep: (stepId, mode, norm) => host.policyStep(stepId, mode, norm),
  async loadModel(spec, onStatus) {
    try {
      return await host.loadModel(spec, onStatus);
    } finally {
      // onStatus is a Comlink proxy of the page's callback: close its channel once loading has settled.
      (onStatus as Partial<Comlink.Remote<unknown>> | undefined)?.[Comlink.releaseProxy]?.();
    }
  },
};

Comlink.expose(api);
