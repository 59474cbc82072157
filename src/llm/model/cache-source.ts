/**
 * Models in the browser's Cache API under web-llm's keys, so that a model downloaded by any web-llm app (same
 * origin) is reused here, and one downloaded here is reused by web-llm.
 *
 * What web-llm does (read from @mlc-ai/web-llm 0.2.86, lib/index.js, default `cacheBackend: "cache"`):
 *   - base URL = cleanModelUrl(record.model): "https://huggingface.co/ORG/REPO" + "/resolve/main/";
 *   - cache "webllm/config": `new URL("mlc-chat-config.json", base).href` (and the record's
 *     model_manifest file where one is named; no Llama record names one);
 *   - cache "webllm/model": `new URL("tensor-cache.json", base).href`, every shard at
 *     `new URL(record.dataPath, base).href`, and `new URL("tokenizer.json", base).href` (or tokenizer.model);
 *   - cache "webllm/wasm": the model library, keyed by record.model_lib (not ours to touch);
 *   - entries are stored with `cache.add(new Request(url))` (the fetched Response as is) and read with
 *     `cache.match(new Request(url))`; web-llm's hasModelInCache = tensor-cache.json and every shard present.
 *   - web-llm 0.2.86 only asks for tensor-cache.json; an older conversion's ndarray-cache.json is stored here
 *     under its own URL (web-llm could not have loaded such a repo anyway).
 * Other web-llm backends (IndexedDB, OPFS, cross-origin storage) are not read.
 */
import { catalogBaseUrl, MODEL_CATALOG } from './catalog';
import { storeSource, type ModelStore } from './download';
import type { ModelSource } from './weights';

export const WEBLLM_MODEL_CACHE = 'webllm/model';
export const WEBLLM_CONFIG_CACHE = 'webllm/config';

/** The part of the Cache API used here (the DOM's CacheStorage and Cache satisfy it). */
export interface CacheLike {
  match(request: RequestInfo | URL): Promise<Response | undefined>;
  put(request: RequestInfo | URL, response: Response): Promise<void>;
  delete(request: RequestInfo | URL): Promise<boolean>;
  keys(): Promise<readonly Request[]>;
}
export interface CacheStorageLike {
  open(cacheName: string): Promise<CacheLike>;
}

export interface CacheOptions {
  /** Defaults to globalThis.caches. */
  caches?: CacheStorageLike;
}

export class CacheUnavailableError extends Error {
  constructor() {
    super('the browser Cache API is not available here (it needs a secure context: https or localhost, and is off in some private windows); the model cannot be stored');
    this.name = 'CacheUnavailableError';
  }
}

function cacheStorage(options: CacheOptions): CacheStorageLike {
  const storage = options.caches ?? (globalThis as { caches?: CacheStorageLike }).caches;
  if (!storage) throw new CacheUnavailableError();
  return storage;
}

const CONFIG_FILES = new Set(['mlc-chat-config.json', 'mlc-model-manifest.json']);

function fileName(url: string): string {
  return new URL(url).pathname.split('/').pop() ?? '';
}

/** The cache web-llm keeps this URL's file in. */
export function webllmCacheName(url: string): string {
  return CONFIG_FILES.has(fileName(url)) ? WEBLLM_CONFIG_CACHE : WEBLLM_MODEL_CACHE;
}

function contentType(url: string): string {
  return url.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}

/** A ModelStore over the Cache API with web-llm's cache names and keys (full URLs). */
export function cacheStore(options: CacheOptions = {}): ModelStore & { delete(url: string): Promise<boolean> } {
  const opened = new Map<string, Promise<CacheLike>>();
  const open = (url: string) => {
    const name = webllmCacheName(url);
    let cache = opened.get(name);
    if (!cache) {
      cache = cacheStorage(options).open(name);
      opened.set(name, cache);
    }
    return cache;
  };
  return {
    has: async (url) => (await (await open(url)).match(url)) !== undefined,
    get: async (url) => {
      const response = await (await open(url)).match(url);
      return response ? new Uint8Array(await response.arrayBuffer()) : undefined;
    },
    put: async (url, bytes) => {
      const body = new Uint8Array(bytes); // an ArrayBuffer-backed copy, as BodyInit wants
      const response = new Response(body, { status: 200, headers: { 'Content-Type': contentType(url), 'Content-Length': String(bytes.length) } });
      await (await open(url)).put(url, response);
    },
    delete: async (url) => (await open(url)).delete(url),
  };
}

/** A ModelSource reading a model's files from the cache (for LlamaEngine.load). */
export function cacheSource(baseUrl: string, options: CacheOptions = {}): ModelSource {
  return storeSource(cacheStore(options), baseUrl, ' (browser cache)');
}

export interface CachedModel {
  /** The directory URL the files are keyed under ("…/resolve/main/"). */
  baseUrl: string;
  /** Catalog ids whose base URL this is (the "-MLC-1k" variants share their repo). */
  ids: string[];
  /** "tensor-cache.json", "ndarray-cache.json", or undefined when no index is cached. */
  cacheFile: string | undefined;
  hasConfig: boolean;
  hasTokenizer: boolean;
  shardsCached: number;
  /** Shards the index lists (0 without an index). */
  shardsTotal: number;
  /** Config, index, tokenizer.json and every shard are there. */
  complete: boolean;
  /** Bytes held in the caches for this model. */
  bytes: number;
  /** Bytes of the whole model where the index is cached (shards' nbytes + the small files held). */
  totalBytes: number | undefined;
  /** Every cached URL of the model. */
  urls: string[];
}

interface IndexShard {
  dataPath: string;
  nbytes: number;
}

async function responseSize(response: Response): Promise<number> {
  const length = Number(response.headers.get('content-length'));
  if (response.headers.has('content-length') && Number.isFinite(length)) return length;
  return (await response.arrayBuffer()).byteLength;
}

function dirOf(url: string): string {
  return url.slice(0, url.lastIndexOf('/') + 1);
}

/** Models found in web-llm's caches (written by this app or any web-llm app of this origin), with sizes. */
export async function listCachedModels(options: CacheOptions = {}): Promise<CachedModel[]> {
  const storage = cacheStorage(options);
  const modelCache = await storage.open(WEBLLM_MODEL_CACHE);
  const configCache = await storage.open(WEBLLM_CONFIG_CACHE);
  const groups = new Map<string, { model: string[]; config: string[] }>();
  const group = (dir: string) => {
    let g = groups.get(dir);
    if (!g) {
      g = { model: [], config: [] };
      groups.set(dir, g);
    }
    return g;
  };
  for (const request of await modelCache.keys()) group(dirOf(request.url)).model.push(request.url);
  for (const request of await configCache.keys()) group(dirOf(request.url)).config.push(request.url);

  const models: CachedModel[] = [];
  for (const [baseUrl, { model, config }] of groups) {
    const names = new Set(model.map(fileName));
    const cacheFile = ['tensor-cache.json', 'ndarray-cache.json'].find((n) => names.has(n));
    let shards: IndexShard[] | undefined;
    if (cacheFile) {
      try {
        const response = await modelCache.match(baseUrl + cacheFile);
        const json = (await response?.json()) as { records?: unknown } | undefined;
        if (json && Array.isArray(json.records)) {
          shards = (json.records as Record<string, unknown>[])
            .filter((r) => typeof r.dataPath === 'string' && typeof r.nbytes === 'number')
            .map((r) => ({ dataPath: r.dataPath as string, nbytes: r.nbytes as number }));
        }
      } catch {
        shards = undefined; // an unreadable index: the model shows as incomplete
      }
    }
    const shardSet = new Map((shards ?? []).map((s) => [new URL(s.dataPath, baseUrl).href, s.nbytes]));
    let bytes = 0;
    let smallBytes = 0;
    let shardsCached = 0;
    for (const url of model) {
      const known = shardSet.get(url);
      if (known !== undefined) {
        bytes += known;
        shardsCached++;
        continue;
      }
      const response = await modelCache.match(url);
      const size = response ? await responseSize(response) : 0;
      bytes += size;
      smallBytes += size;
    }
    for (const url of config) {
      const response = await configCache.match(url);
      const size = response ? await responseSize(response) : 0;
      bytes += size;
      smallBytes += size;
    }
    const hasConfig = config.some((u) => fileName(u) === 'mlc-chat-config.json');
    const hasTokenizer = names.has('tokenizer.json');
    const shardsTotal = shards?.length ?? 0;
    const ids = MODEL_CATALOG.filter((r) => catalogBaseUrl(r) === baseUrl).map((r) => r.id);
    models.push({
      baseUrl,
      ids,
      cacheFile,
      hasConfig,
      hasTokenizer,
      shardsCached,
      shardsTotal,
      complete: hasConfig && hasTokenizer && shards !== undefined && shardsCached === shardsTotal,
      bytes,
      totalBytes: shards ? smallBytes + shards.reduce((sum, s) => sum + s.nbytes, 0) : undefined,
      urls: [...config, ...model],
    });
  }
  return models.sort((a, b) => a.baseUrl.localeCompare(b.baseUrl));
}

/** True when every file the engine needs is cached (web-llm's hasModelInCache, plus config and tokenizer). */
export async function isModelCached(baseUrl: string, options: CacheOptions = {}): Promise<boolean> {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  return (await listCachedModels(options)).some((m) => m.baseUrl === base && m.complete);
}

/**
 * Deletes every cached file of the model at `baseUrl` from webllm/model and webllm/config (web-llm's own
 * deleteModelAllInfoInCache also drops the wasm, and leaves tensor-cache.json behind). Returns the number
 * of entries deleted.
 */
export async function deleteCachedModel(baseUrl: string, options: CacheOptions = {}): Promise<number> {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
  const storage = cacheStorage(options);
  let deleted = 0;
  for (const name of [WEBLLM_MODEL_CACHE, WEBLLM_CONFIG_CACHE]) {
    const cache = await storage.open(name);
    for (const request of await cache.keys()) {
      if (dirOf(request.url) === base && (await cache.delete(request.url))) deleted++;
    }
  }
  return deleted;
}
