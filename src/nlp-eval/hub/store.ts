/**
 * Where downloaded benchmark files are kept, keyed by full URL, as models are (llm/model/download.ts): the
 * browser's Cache API (cache "twosome/nlp-eval"), a directory in Node (store-node.ts), or memory. A download
 * that stops half-way keeps what it received under `partialKey(url)`, and the next one resumes from there.
 */

export interface DatasetStore {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * The key of a file's bytes received so far (a cancelled or broken download). A query, not a fragment: the
 * Cache API matches requests without their fragment, so `url#partial` would be the file itself.
 */
export function partialKey(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}twosome-partial`;
}

export function memoryDatasetStore(): DatasetStore & { readonly files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    get: async (key) => files.get(key),
    put: async (key, bytes) => {
      files.set(key, bytes.slice());
    },
    delete: async (key) => {
      files.delete(key);
    },
  };
}

export const DATASET_CACHE = 'twosome/nlp-eval';

/** The part of the Cache API used (the DOM's CacheStorage satisfies it). */
interface CacheStorageLike {
  open(name: string): Promise<{
    match(request: string): Promise<Response | undefined>;
    put(request: string, response: Response): Promise<void>;
    delete(request: string): Promise<boolean>;
  }>;
}

/** The browser's Cache API (pages and workers); null where there is none (an insecure origin). */
export function cacheDatasetStore(
  caches = (globalThis as { caches?: CacheStorageLike }).caches,
  name = DATASET_CACHE,
): DatasetStore | null {
  if (!caches) return null;
  const open = () => caches.open(name);
  return {
    get: async (key) => {
      const response = await (await open()).match(key);
      return response ? new Uint8Array(await response.arrayBuffer()) : undefined;
    },
    put: async (key, bytes) => {
      const body = new Blob([bytes as Uint8Array<ArrayBuffer>]);
      await (await open()).put(key, new Response(body, { headers: { 'content-length': String(bytes.length) } }));
    },
    delete: async (key) => {
      await (await open()).delete(key);
    },
  };
}
