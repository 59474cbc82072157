/**
 * An EnvClient, or its adapter calls, answered by an AgentHost in this thread (tests of the page's stores run
 * the worker's rules in-process, with a fake scorer).
 */
import type { AgentHost } from './agent-host';
import type { EnvClient } from './client';

export type AdapterCalls = Pick<EnvClient, 'setAdapter' | 'loadAdapterWeights' | 'currentAdapter' | 'adapterInfo' | 'probeAdapter'>;

export function localAdapterCalls(host: AgentHost): AdapterCalls {
  return {
    setAdapter: (adapter, label) => host.setAdapter(adapter, label),
    loadAdapterWeights: (weights, label, baseModel, warnings) => host.loadAdapterWeights(weights, label, baseModel, warnings),
    currentAdapter: async () => host.currentAdapter(),
    adapterInfo: async () => host.adapterInfo(),
    probeAdapter: (stepId, weights) => host.probeAdapter(stepId, weights),
  };
}

/** Every adapter call answered by `fail` (a crashed worker). */
export function failingAdapterCalls(fail: () => Promise<never>): AdapterCalls {
  return { setAdapter: fail, loadAdapterWeights: fail, currentAdapter: fail, adapterInfo: fail, probeAdapter: fail };
}

/** The whole client: every call goes straight to `host`, as the worker would answer it. */
export function localClient(host: AgentHost): EnvClient {
  return {
    reset: async (taskId, seed) => host.reset(taskId, seed),
    step: async (index) => host.step(index),
    scores: (stepId) => host.scores(stepId),
    policyStep: (stepId, mode, norm) => host.policyStep(stepId, mode, norm),
    loadModel: (spec, onStatus) => host.loadModel(spec, onStatus),
    ...localAdapterCalls(host),
    dispose() {},
  };
}
