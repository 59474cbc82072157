/** Helpers for the tests of the page's stores (src/state/*.test.ts). */
import type { FileLike } from './adapter-files';
import type { AppStore } from './store';
import { latestEntry } from './timeline';

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
