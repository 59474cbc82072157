/** Helpers for the tests of the page's stores (src/state/*.test.ts). */
import type { AdapterStore } from '../persist/adapter-store';
import { encodePeftAdapter } from '../share';
import { MICRO, trainedAdapter } from '../share/testing';
import { AgentHost } from '../worker/agent-host';
import { localClient } from '../worker/client';
import { fakeLoader } from '../worker/fake-scorer';
import type { FileLike } from './adapter-files';
import { createAppStore, type AppStore } from './store';
import { latestEntry } from './timeline';

/** The setup a fresh page opens (openFreshPage): what pageSnapshot shows before anything changes it. */
export const FRESH_SETUP = { taskId: 'tomato-salad', seed: 0, modelId: 'micro', norm: 'word' } as const;

/**
 * A fresh worker host (a fake scorer of the micro model's shapes) with the page's stores attached to it and the
 * playground open on FRESH_SETUP: what a new page, or a reload, starts with. The share slice gets `pageUrl` as the
 * page's address and `openStore` for its saved adapters (its own default where not given).
 */
export async function openFreshPage(
  options: { pageUrl?: string; openStore?: () => Promise<AdapterStore> } = {},
): Promise<{ app: AppStore; host: AgentHost }> {
  const { pageUrl = 'https://example.org/twosome/?task=tomato-salad', openStore } = options;
  const host = new AgentHost(fakeLoader());
  const client = localClient({ agent: host }).api.agent;
  const app = createAppStore();
  app.getState().playground.attach(client, { gpuCheck: async () => ({ ok: true }) });
  app.getState().share.attach(client, () => pageUrl, openStore);
  await app.getState().playground.open({ ...FRESH_SETUP });
  return { app, host };
}

/** Waits until the latest state's scores are in; returns its word-normalized policy. */
export async function settledPolicy(store: AppStore): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const last = latestEntry(store.getState().playground);
    if (last?.scores.status === 'ok') return last.scores.scores.policy.word;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error('scores never arrived');
}

/** A picked file as the browser gives it. */
export function fileLike(name: string, data: Uint8Array | string): FileLike {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return { name, size: bytes.length, arrayBuffer: async () => bytes.slice().buffer };
}

/** The stores' tests' adapter: LoRA r 4 on q_proj and v_proj of the micro model, trained a little (`seed`). */
export const microAdapter = (seed = 7) =>
  trainedAdapter(MICRO, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, seed, 0.5);

/** microAdapter(seed) as the PEFT pair a person picks, made for `baseModel`. */
export function peftFiles({ seed = 7, baseModel = 'micro' } = {}): FileLike[] {
  const { config, weights } = encodePeftAdapter(microAdapter(seed), { baseModel });
  return [fileLike('adapter_config.json', config), fileLike('adapter_model.safetensors', weights)];
}

/** What the page shows that loading an adapter may change only in `adapter`: task, seed, model, normalization. */
export function pageSnapshot(store: AppStore) {
  const { playground, share } = store.getState();
  return {
    taskId: playground.taskId,
    seed: playground.seed,
    modelId: playground.modelId,
    norm: playground.norm,
    adapter: share.adapter?.label ?? null,
  };
}
