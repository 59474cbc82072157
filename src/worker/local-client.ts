/**
 * The adapter calls of an EnvClient answered by an AgentHost in this thread (tests of the page's stores run
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
