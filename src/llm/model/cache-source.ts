/**
 * Models in web-llm's cache, in both of its backends, so that a model downloaded by any web-llm app (same
 * origin) is found and loaded here, and one downloaded here is found by web-llm. web-llm decides what counts:
 * its hasModelInCache says whether a model is cached and its deleteModelAllInfoInCache deletes one; this file
 * writes and reads the entries in the layout its cache code uses, lists them (web-llm has no list), and adds
 * the two files this engine needs that hasModelInCache does not look at (mlc-chat-config.json, tokenizer.json).
 *
 * The layout, read from @mlc-ai/web-llm 0.2.86 lib/index.js (cache_util.ts, and tvmjs's ArtifactCache and
 * ArtifactIndexedDBCache bundled in it):
 *   - base = cleanModelUrl(record.model): "https://huggingface.co/ORG/REPO" + "/resolve/main/" (a URL that has
 *     "/resolve/<rev>/" is kept); every key is a full URL, `new URL(file, base).href`.
 *   - scope "webllm/config": `<base>mlc-chat-config.json` (and a record's model_manifest; no Llama record has one);
 *     scope "webllm/model": `<base>tensor-cache.json`, `<base><dataPath>` of every shard, `<base>tokenizer.json`
 *     (or tokenizer.model); scope "webllm/wasm": the record's model_lib URL (not ours to write).
 *   - AppConfig.cacheBackend "cache" (the default): the Cache API, one cache per scope, entries stored with
 *     `cache.add(new Request(url))` and found by `request.url` among `cache.keys()`.
 *   - cacheBackend "indexeddb" (what older web-llm called useIndexedDBCache: true): one database per scope,
 *     named as the scope, version 1, object store "urls" with keyPath "url", records `{url, data}` where data is
 *     what web-llm read the file as: the parsed JSON for tensor-cache.json (read "json"), an ArrayBuffer for
 *     mlc-chat-config.json, the shards and tokenizer.json (read "arraybuffer"; older web-llm versions read the
 *     config as "json", so a parsed object is accepted there too).
 *   - hasModelInCache(id): tensor-cache.json and every shard it lists are in scope "webllm/model".
 *   - deleteModelAllInfoInCache(id): the shards (by the cached tensor-cache.json, which it fetches when it is not
 *     cached), tokenizer.model, tokenizer.json, the model_lib wasm and mlc-chat-config.json; it leaves
 *     tensor-cache.json itself, which deleteCachedModel removes after it.
 * web-llm's helpers take a model id and an AppConfig: a catalog model is given its own web-llm record, a custom
 * repo a record of its own ({model_id: base, model: base}), which web-llm can address when its base URL is one
 * cleanModelUrl keeps (ends in "/resolve/<rev>/"; every Hugging Face base does). Others are checked and deleted
 * by their keys here. The OPFS and cross-origin backends of web-llm are not read.
 */
import { wrap, type IDBPDatabase } from 'idb';
import { catalogBaseUrl, huggingFaceBaseUrl, type CatalogRecord, type WebLlmModelRecord } from './catalog';
import { storeSource, type ModelStore } from './download';
import type { ModelSource } from './weights';
import { loadWebLlm } from './webllm';

export const WEBLLM_MODEL_CACHE = 'webllm/model';
export const WEBLLM_CONFIG_CACHE = 'webllm/config';
const SCOPES = [WEBLLM_CONFIG_CACHE, WEBLLM_MODEL_CACHE] as const;
type Scope = (typeof SCOPES)[number];

/** web-llm's AppConfig.cacheBackend values this app reads and writes. */
export const WEBLLM_BACKENDS = ['cache', 'indexeddb'] as const;
export type WebLlmBackend = (typeof WEBLLM_BACKENDS)[number];

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

/** The web-llm helpers used (its module satisfies it; tests may pass the module itself). */
export interface WebLlmCacheHelpers {
  hasModelInCache(
    modelId: string,
    appConfig?: { model_list: WebLlmModelRecord[]; cacheBackend?: WebLlmBackend },
  ): Promise<boolean>;
  deleteModelAllInfoInCache(
    modelId: string,
    appConfig?: { model_list: WebLlmModelRecord[]; cacheBackend?: WebLlmBackend },
  ): Promise<void>;
}

export interface CacheOptions {
  /** Defaults to globalThis.caches. web-llm's helpers always use the globals. */
  caches?: CacheStorageLike;
  /** Defaults to globalThis.indexedDB. */
  indexedDB?: IDBFactory;
  /** Defaults to the lazily loaded @mlc-ai/web-llm. */
  webllm?: WebLlmCacheHelpers;
  /** Catalog records, so a catalog model is given to web-llm with its own record (default: none). */
  catalog?: readonly CatalogRecord[];
}

export class CacheUnavailableError extends Error {
  constructor() {
    super(
      'the browser Cache API is not available here (it needs a secure context: https or localhost, ' +
        'and is off in some private windows); the model cannot be stored',
    );
    this.name = 'CacheUnavailableError';
  }
}

const CONFIG_FILES = new Set(['mlc-chat-config.json', 'mlc-model-manifest.json']);
/** Files web-llm reads as "json": IndexedDB holds them parsed. */
const JSON_FILES = new Set(['tensor-cache.json', 'ndarray-cache.json']);

function fileName(url: string): string {
  return new URL(url).pathname.split('/').pop() ?? '';
}

function dirOf(url: string): string {
  return url.slice(0, url.lastIndexOf('/') + 1);
}

/** The web-llm scope (cache or database name) this URL's file is kept in. */
export function webllmCacheName(url: string): Scope {
  return CONFIG_FILES.has(fileName(url)) ? WEBLLM_CONFIG_CACHE : WEBLLM_MODEL_CACHE;
}

// ---------------------------------------------------------------------------------------------------------
// One scope of one backend: entries by full URL.

interface ScopeStore {
  keys(): Promise<string[]>;
  get(url: string): Promise<Uint8Array | undefined>;
  put(url: string, bytes: Uint8Array): Promise<void>;
  delete(url: string): Promise<boolean>;
}

function contentType(url: string): string {
  return url.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}

function cacheApiScope(storage: CacheStorageLike, scope: Scope): ScopeStore {
  let opened: Promise<CacheLike> | undefined;
  const open = () => (opened ??= storage.open(scope));
  return {
    keys: async () => (await (await open()).keys()).map((r) => r.url),
    get: async (url) => {
      const response = await (await open()).match(url);
      return response ? new Uint8Array(await response.arrayBuffer()) : undefined;
    },
    put: async (url, bytes) => {
      const body = new Uint8Array(bytes); // an ArrayBuffer-backed copy, as BodyInit wants
      const headers = { 'Content-Type': contentType(url), 'Content-Length': String(bytes.length) };
      await (await open()).put(url, new Response(body, { status: 200, headers }));
    },
    delete: async (url) => (await open()).delete(url),
  };
}

interface IdbRecord {
  url: string;
  data: unknown;
}

/** web-llm's ArtifactIndexedDBCache.initDB: database `scope`, version 1, store "urls" keyed by "url". */
function openScopeDb(factory: IDBFactory, scope: Scope): Promise<IDBPDatabase> {
  const request = factory.open(scope, 1);
  request.onupgradeneeded = () => {
    if (!request.result.objectStoreNames.contains('urls')) request.result.createObjectStore('urls', { keyPath: 'url' });
  };
  return wrap(request) as Promise<IDBPDatabase>;
}

/** The bytes of an IndexedDB record's data, whatever web-llm stored it as. */
function bytesOfData(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return new TextEncoder().encode(data);
  return new TextEncoder().encode(JSON.stringify(data)); // a file web-llm read as "json"
}

function indexedDbScope(factory: IDBFactory, scope: Scope): ScopeStore {
  let opened: Promise<IDBPDatabase> | undefined;
  const open = () => (opened ??= openScopeDb(factory, scope));
  return {
    keys: async () => ((await (await open()).getAllKeys('urls')) as IDBValidKey[]).map(String),
    get: async (url) => {
      const record = (await (await open()).get('urls', url)) as IdbRecord | undefined;
      return record ? bytesOfData(record.data) : undefined;
    },
    put: async (url, bytes) => {
      const data = JSON_FILES.has(fileName(url)) ? JSON.parse(new TextDecoder().decode(bytes)) : bytes.slice().buffer;
      await (await open()).put('urls', { url, data } satisfies IdbRecord);
    },
    delete: async (url) => {
      const db = await open();
      const had = (await db.getKey('urls', url)) !== undefined;
      await db.delete('urls', url);
      return had;
    },
  };
}

function cacheStorage(options: CacheOptions): CacheStorageLike | undefined {
  return options.caches ?? (globalThis as { caches?: CacheStorageLike }).caches;
}

function idbFactory(options: CacheOptions): IDBFactory | undefined {
  return options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
}

/** Both scopes of a backend; undefined when the browser lacks it. */
function backendScopes(backend: WebLlmBackend, options: CacheOptions): Record<Scope, ScopeStore> | undefined {
  if (backend === 'cache') {
    const storage = cacheStorage(options);
    return (
      storage && {
        [WEBLLM_CONFIG_CACHE]: cacheApiScope(storage, WEBLLM_CONFIG_CACHE),
        [WEBLLM_MODEL_CACHE]: cacheApiScope(storage, WEBLLM_MODEL_CACHE),
      }
    );
  }
  const factory = idbFactory(options);
  return (
    factory && {
      [WEBLLM_CONFIG_CACHE]: indexedDbScope(factory, WEBLLM_CONFIG_CACHE),
      [WEBLLM_MODEL_CACHE]: indexedDbScope(factory, WEBLLM_MODEL_CACHE),
    }
  );
}

function unavailable(backend: WebLlmBackend): Error {
  if (backend === 'cache') return new CacheUnavailableError();
  return new Error(
    'IndexedDB is not available here (it is off in some private windows); store the model in the Cache API instead',
  );
}

// ---------------------------------------------------------------------------------------------------------
// Stores for the downloader and the loader.

/** A ModelStore writing and reading one web-llm backend, with web-llm's scopes and keys. */
export function webllmStore(
  backend: WebLlmBackend = 'cache',
  options: CacheOptions = {},
): ModelStore & { delete(url: string): Promise<boolean> } {
  const scopes = backendScopes(backend, options);
  const scope = (url: string) => {
    if (!scopes) throw unavailable(backend);
    return scopes[webllmCacheName(url)];
  };
  return {
    has: async (url) => (await scope(url).get(url)) !== undefined,
    get: (url) => scope(url).get(url),
    put: (url, bytes) => scope(url).put(url, bytes),
    delete: (url) => scope(url).delete(url),
  };
}

/** The Cache API store (web-llm's default backend). */
export function cacheStore(options: CacheOptions = {}): ModelStore & { delete(url: string): Promise<boolean> } {
  return webllmStore('cache', options);
}

/** A store reading a file from whichever web-llm backend has it (Cache API first); it does not write. */
export function anyBackendStore(options: CacheOptions = {}): ModelStore {
  const stores = WEBLLM_BACKENDS.filter((b) => backendScopes(b, options)).map((b) => webllmStore(b, options));
  const get = async (url: string) => {
    for (const store of stores) {
      const bytes = await store.get(url);
      if (bytes) return bytes;
    }
    return undefined;
  };
  return {
    has: async (url) => (await get(url)) !== undefined,
    get,
    put: async () => {
      throw new Error('anyBackendStore is read-only');
    },
  };
}

/** A ModelSource reading a model's files from web-llm's caches (for LlamaEngine.load). */
export function cacheSource(baseUrl: string, options: CacheOptions = {}): ModelSource {
  return storeSource(anyBackendStore(options), baseUrl, ' (browser cache)');
}

// ---------------------------------------------------------------------------------------------------------
// What is cached.

export interface CachedModel {
  /** The directory URL the files are keyed under ("…/resolve/main/"). */
  baseUrl: string;
  /** Which web-llm backend holds these files. */
  backend: WebLlmBackend;
  /** Catalog ids whose base URL this is (the "-MLC-1k" variants share their repo). */
  ids: string[];
  /** "tensor-cache.json", "ndarray-cache.json", or undefined when no index is cached. */
  cacheFile: string | undefined;
  hasConfig: boolean;
  hasTokenizer: boolean;
  shardsCached: number;
  /** Shards the index lists (0 without an index). */
  shardsTotal: number;
  /** web-llm's hasModelInCache; undefined where web-llm cannot address the base URL (see the file comment). */
  webllmHasModel: boolean | undefined;
  /** web-llm has the model (or, unaddressable, every shard is here), and config and tokenizer.json are cached. */
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

/** A web-llm record for a base URL: a catalog model's own, else one made for the URL (undefined if unaddressable). */
export function webllmRecordFor(
  baseUrl: string,
  catalog: readonly CatalogRecord[] = [],
): WebLlmModelRecord | undefined {
  const known = catalog.find((r) => catalogBaseUrl(r) === baseUrl);
  if (known) return known.record;
  let addressable: boolean;
  try {
    addressable = huggingFaceBaseUrl(baseUrl) === baseUrl;
  } catch {
    addressable = false;
  }
  // A custom repo has no web-llm model library: a URL never cached keeps deleteModelWasmInCache a no-op.
  return addressable ? { model_id: baseUrl, model: baseUrl, model_lib: `${baseUrl}no-model-lib.wasm` } : undefined;
}

async function helpers(options: CacheOptions): Promise<WebLlmCacheHelpers> {
  return options.webllm ?? (await loadWebLlm());
}

/** Whether IndexedDB holds web-llm's databases, without creating them (databases() where the browser has it). */
async function hasIndexedDbScopes(factory: IDBFactory): Promise<boolean> {
  if (typeof factory.databases !== 'function') return true;
  const names = new Set((await factory.databases()).map((d) => d.name));
  return SCOPES.some((s) => names.has(s));
}

async function listBackend(
  backend: WebLlmBackend,
  scopes: Record<Scope, ScopeStore>,
  options: CacheOptions,
): Promise<CachedModel[]> {
  const groups = new Map<string, { model: string[]; config: string[] }>();
  const group = (dir: string) => {
    let g = groups.get(dir);
    if (!g) groups.set(dir, (g = { model: [], config: [] }));
    return g;
  };
  for (const url of await scopes[WEBLLM_MODEL_CACHE].keys()) group(dirOf(url)).model.push(url);
  for (const url of await scopes[WEBLLM_CONFIG_CACHE].keys()) group(dirOf(url)).config.push(url);

  const catalog = options.catalog ?? [];
  const models: CachedModel[] = [];
  for (const [baseUrl, { model, config }] of groups) {
    const names = new Set(model.map(fileName));
    const cacheFile = ['tensor-cache.json', 'ndarray-cache.json'].find((n) => names.has(n));
    let shards: IndexShard[] | undefined;
    if (cacheFile) {
      try {
        const bytes = await scopes[WEBLLM_MODEL_CACHE].get(baseUrl + cacheFile);
        const json = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as { records?: unknown }) : undefined;
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
      const size = (await scopes[WEBLLM_MODEL_CACHE].get(url))?.length ?? 0;
      bytes += size;
      smallBytes += size;
    }
    for (const url of config) {
      const size = (await scopes[WEBLLM_CONFIG_CACHE].get(url))?.length ?? 0;
      bytes += size;
      smallBytes += size;
    }
    const hasConfig = config.some((u) => fileName(u) === 'mlc-chat-config.json');
    const hasTokenizer = names.has('tokenizer.json');
    const shardsTotal = shards?.length ?? 0;
    const record = cacheFile === 'tensor-cache.json' ? webllmRecordFor(baseUrl, catalog) : undefined;
    const webllmHasModel = record
      ? await (await helpers(options)).hasModelInCache(record.model_id, { model_list: [record], cacheBackend: backend })
      : undefined;
    const shardsHere = shards !== undefined && shardsCached === shardsTotal;
    models.push({
      baseUrl,
      backend,
      ids: catalog.filter((r) => catalogBaseUrl(r) === baseUrl).map((r) => r.id),
      cacheFile,
      hasConfig,
      hasTokenizer,
      shardsCached,
      shardsTotal,
      webllmHasModel,
      complete: hasConfig && hasTokenizer && (webllmHasModel ?? shardsHere),
      bytes,
      totalBytes: shards ? smallBytes + shards.reduce((sum, s) => sum + s.nbytes, 0) : undefined,
      urls: [...config, ...model],
    });
  }
  return models;
}

/**
 * web-llm's backends in its order, each with its scopes, where this context has it; an IndexedDB that holds no
 * web-llm database is passed over (nothing to list or delete there). Throws CacheUnavailableError, after the
 * last, when the context has neither backend.
 */
async function* reachableBackends(
  options: CacheOptions,
): AsyncGenerator<{ backend: WebLlmBackend; scopes: Record<Scope, ScopeStore> }> {
  let available = 0;
  for (const backend of WEBLLM_BACKENDS) {
    const scopes = backendScopes(backend, options);
    if (!scopes) continue;
    available++;
    if (backend === 'indexeddb' && !(await hasIndexedDbScopes(idbFactory(options)!))) continue;
    yield { backend, scopes };
  }
  if (available === 0) throw new CacheUnavailableError();
}

/** Models found in web-llm's caches, both backends (written by this app or any web-llm app of this origin). */
export async function listCachedModels(options: CacheOptions = {}): Promise<CachedModel[]> {
  const models: CachedModel[] = [];
  for await (const { backend, scopes } of reachableBackends(options)) {
    models.push(...(await listBackend(backend, scopes, options)));
  }
  return models.sort((a, b) => a.baseUrl.localeCompare(b.baseUrl) || a.backend.localeCompare(b.backend));
}

function normalizeBase(baseUrl: string): string {
  return new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).href;
}

/** True when every file the engine needs is cached in one backend (web-llm's hasModelInCache, config, tokenizer). */
export async function isModelCached(baseUrl: string, options: CacheOptions = {}): Promise<boolean> {
  const base = normalizeBase(baseUrl);
  return (await listCachedModels(options)).some((m) => m.baseUrl === base && m.complete);
}

/**
 * Deletes the model at `baseUrl` from both backends: web-llm's deleteModelAllInfoInCache where web-llm can
 * address it and its tensor-cache.json is cached (which deleteModelAllInfoInCache needs, or it would fetch it),
 * then every entry left under the base URL (the tensor-cache.json web-llm leaves, an ndarray-cache.json, the
 * files of a download that stopped early). Returns the number of entries deleted.
 */
export async function deleteCachedModel(baseUrl: string, options: CacheOptions = {}): Promise<number> {
  const base = normalizeBase(baseUrl);
  let deleted = 0;
  for await (const { backend, scopes } of reachableBackends(options)) {
    const under = async () => {
      const urls: [Scope, string][] = [];
      for (const scope of SCOPES)
        for (const url of await scopes[scope].keys()) if (dirOf(url) === base) urls.push([scope, url]);
      return urls;
    };
    const before = await under();
    if (before.length === 0) continue;
    const record = webllmRecordFor(base, options.catalog ?? []);
    if (record && before.some(([, url]) => fileName(url) === 'tensor-cache.json')) {
      await (
        await helpers(options)
      ).deleteModelAllInfoInCache(record.model_id, { model_list: [record], cacheBackend: backend });
    }
    const left = await under();
    for (const [scope, url] of left) await scopes[scope].delete(url);
    deleted += before.length;
  }
  return deleted;
}
