// web-llm's cache, both backends: the Cache API against a small in-memory fake of CacheStorage, IndexedDB
// against fake-indexeddb, and web-llm's own hasModelInCache / deleteModelAllInfoInCache (the installed
// package, which reads the globals `caches` and `indexedDB`) on the same data.
import { deleteModelAllInfoInCache, hasModelInCache, prebuiltAppConfig } from '@mlc-ai/web-llm';
import 'fake-indexeddb/auto'; // IDBRequest and the other IDB globals idb needs
import { IDBFactory } from 'fake-indexeddb';
import { openDB } from 'idb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalogBaseUrl, catalogFromModelList, findCatalogRecord, type WebLlmModelRecord } from './catalog';
import {
  cacheSource,
  cacheStore,
  CacheUnavailableError,
  deleteCachedModel,
  isModelCached,
  listCachedModels,
  webllmRecordFor,
  webllmStore,
  type CacheLike,
  type CacheStorageLike,
} from './cache-source';
import { downloadModel } from './download';
import { makeModel } from './make-model';
import { readModelIndex, readShards } from './weights';

/** Enough of the Cache API: entries by URL, bodies kept as bytes, match/put/delete/keys (+ add, as web-llm uses). */
class FakeCache implements CacheLike {
  readonly entries = new Map<string, { body: Uint8Array; headers: [string, string][]; status: number }>();
  private static key(request: RequestInfo | URL): string {
    if (typeof request === 'string') return new URL(request).href;
    if (request instanceof URL) return request.href;
    return request.url;
  }
  async match(request: RequestInfo | URL): Promise<Response | undefined> {
    const entry = this.entries.get(FakeCache.key(request));
    return entry ? new Response(entry.body.slice(), { status: entry.status, headers: entry.headers }) : undefined;
  }
  async put(request: RequestInfo | URL, response: Response): Promise<void> {
    const body = new Uint8Array(await response.arrayBuffer());
    this.entries.set(FakeCache.key(request), { body, headers: [...response.headers], status: response.status });
  }
  async delete(request: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(FakeCache.key(request));
  }
  async keys(): Promise<readonly Request[]> {
    return [...this.entries.keys()].map((url) => new Request(url));
  }
  /** web-llm stores with add() only for a file it has to fetch; no test here lets it fetch. */
  async add(request: RequestInfo | URL): Promise<void> {
    throw new Error(`unexpected fetch through the cache: ${FakeCache.key(request)}`);
  }
}

class FakeCacheStorage implements CacheStorageLike {
  readonly caches = new Map<string, FakeCache>();
  async open(name: string): Promise<FakeCache> {
    let cache = this.caches.get(name);
    if (!cache) {
      cache = new FakeCache();
      this.caches.set(name, cache);
    }
    return cache;
  }
  keysOf(name: string): string[] {
    return [...(this.caches.get(name)?.entries.keys() ?? [])].sort();
  }
}

const model = makeModel({ maxShardBytes: 16 * 1024 });
const shardNames = model.files.filter((f) => f.name.startsWith('params_shard_')).map((f) => f.name);
const encoder = new TextEncoder();

/** A fetch serving the made model under any base URL; counts requests. */
function modelFetch() {
  const calls: string[] = [];
  const impl = (async (input: RequestInfo | URL) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push(url);
    const file = model.files.find((f) => url.endsWith(`/${f.name}`));
    return file ? new Response(file.bytes.slice(), { status: 200 }) : new Response(null, { status: 404 });
  }) as typeof fetch;
  return { impl, calls };
}

const catalog = catalogFromModelList(prebuiltAppConfig.model_list as WebLlmModelRecord[]);
const TINY = 'TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC';

let caches: FakeCacheStorage;

const globals = globalThis as { caches?: unknown; indexedDB?: unknown };
beforeEach(() => {
  // web-llm's helpers read the globals; this file's code is given the same objects.
  globals.caches = caches = new FakeCacheStorage();
  globals.indexedDB = new IDBFactory();
});
afterEach(() => {
  delete globals.caches;
  delete globals.indexedDB;
});

/** What web-llm's `cache.add(new Request(url))` leaves: the fetched response, here without a Content-Length. */
async function seedCacheAsWebllm(base: string, skip: string[] = []): Promise<void> {
  for (const f of model.files) {
    if (skip.includes(f.name)) continue;
    const cache = await caches.open(f.name === 'mlc-chat-config.json' ? 'webllm/config' : 'webllm/model');
    await cache.put(new Request(base + f.name), new Response(f.bytes.slice()));
  }
}

/** The records web-llm's ArtifactIndexedDBCache writes: {url, data}, data as it read the file ("json" or "arraybuffer"). */
async function seedIndexedDbAsWebllm(
  base: string,
  options: { skip?: string[]; configAsJson?: boolean } = {},
): Promise<void> {
  for (const f of model.files) {
    if (options.skip?.includes(f.name)) continue;
    const isConfig = f.name === 'mlc-chat-config.json';
    const db = await openDB(isConfig ? 'webllm/config' : 'webllm/model', 1, {
      upgrade: (d) => void d.createObjectStore('urls', { keyPath: 'url' }),
    });
    const asJson = f.name === 'tensor-cache.json' || (isConfig && options.configAsJson);
    await db.put('urls', {
      url: base + f.name,
      data: asJson ? JSON.parse(new TextDecoder().decode(f.bytes)) : f.bytes.slice().buffer,
    });
    db.close();
  }
}

/** web-llm's own answer, for a model at `base` given to it as a custom record. */
async function webllmHas(base: string, cacheBackend: 'cache' | 'indexeddb'): Promise<boolean> {
  const record = webllmRecordFor(base)!;
  return hasModelInCache(record.model_id, { model_list: [record as never], cacheBackend });
}

describe('web-llm cache, Cache API backend', () => {
  it('stores a download under web-llm cache names and full-URL keys; web-llm finds it; it reads back as a model', async () => {
    const base = 'https://huggingface.co/test/Test-q4f16_1-MLC/resolve/main/';
    expect(await webllmHas(base, 'cache')).toBe(false);
    const { impl } = modelFetch();
    await downloadModel(base, { store: cacheStore(), fetchImpl: impl, backoffMs: 1 });

    expect(caches.keysOf('webllm/config')).toEqual([`${base}mlc-chat-config.json`]);
    expect(caches.keysOf('webllm/model')).toEqual(
      [base + 'tensor-cache.json', base + 'tokenizer.json', ...shardNames.map((n) => base + n)].sort(),
    );
    const stored = caches.caches.get('webllm/model')!.entries.get(`${base}${shardNames[0]}`)!;
    expect(new Map(stored.headers).get('content-length')).toBe(String(stored.body.length));
    expect(await webllmHas(base, 'cache')).toBe(true);
    expect(await webllmHas(base, 'indexeddb')).toBe(false);

    const source = cacheSource(base);
    expect(source.describe('tokenizer.json')).toBe(`${base}tokenizer.json (browser cache)`);
    const { config, cache } = await readModelIndex(source);
    expect(config).toEqual(model.config);
    expect((await readShards(source, cache)).size).toBe(shardNames.length);
    expect(await source.read('nope.bin')).toBeUndefined();
  });

  it('reuses a model that web-llm cached (no fetch at all) and reports it under its catalog ids', async () => {
    const base = catalogBaseUrl(findCatalogRecord(catalog, TINY)!);
    expect(base).toBe('https://huggingface.co/mlc-ai/TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC/resolve/main/');
    await seedCacheAsWebllm(base);
    const { impl, calls } = modelFetch();
    const result = await downloadModel(base, { store: cacheStore(), fetchImpl: impl });
    expect(calls).toEqual([]);
    expect(result.filesFromStore).toBe(model.files.length);

    const [listed] = await listCachedModels({ catalog });
    const total = model.files.reduce((s, f) => s + f.bytes.length, 0);
    expect(listed).toMatchObject({
      baseUrl: base,
      backend: 'cache',
      ids: [TINY, `${TINY}-1k`],
      cacheFile: 'tensor-cache.json',
      hasConfig: true,
      hasTokenizer: true,
      shardsCached: shardNames.length,
      shardsTotal: shardNames.length,
      webllmHasModel: true,
      complete: true,
      bytes: total,
      totalBytes: total,
    });
    expect(await isModelCached(base, { catalog })).toBe(true);
    expect(await hasModelInCache(TINY)).toBe(true); // web-llm, with its own prebuiltAppConfig
  });

  it("lists partial models, deletes one with web-llm's helper plus what it leaves, and keeps the others", async () => {
    const a = 'https://huggingface.co/mlc-ai/A-q4f16_1-MLC/resolve/main/';
    const tinyBase = catalogBaseUrl(findCatalogRecord(catalog, TINY)!);
    await seedCacheAsWebllm(a, [shardNames[1]]);
    await seedCacheAsWebllm(tinyBase);
    const wasm = await caches.open('webllm/wasm');
    const tinyLib = findCatalogRecord(catalog, TINY)!.record.model_lib;
    await wasm.put(tinyLib, new Response(encoder.encode('wasm')));
    await wasm.put('https://raw.githubusercontent.com/x/Other.wasm', new Response(encoder.encode('wasm')));

    const listed = await listCachedModels({ catalog });
    expect(listed.map((m) => [m.baseUrl, m.complete, m.webllmHasModel, m.shardsCached, m.shardsTotal])).toEqual([
      [a, false, false, shardNames.length - 1, shardNames.length],
      [tinyBase, true, true, shardNames.length, shardNames.length],
    ]);
    expect(listed[0].bytes).toBe(
      listed[0].totalBytes! - model.files.find((f) => f.name === shardNames[1])!.bytes.length,
    );
    expect(await isModelCached(a)).toBe(false);

    expect(await deleteCachedModel(a)).toBe(model.files.length - 1);
    expect(caches.keysOf('webllm/model').every((k) => k.startsWith(tinyBase))).toBe(true);
    // A catalog model goes with web-llm's deleteModelAllInfoInCache: its wasm too, nothing else's.
    expect(await deleteCachedModel(tinyBase, { catalog })).toBe(model.files.length);
    expect(caches.keysOf('webllm/model')).toEqual([]);
    expect(caches.keysOf('webllm/config')).toEqual([]);
    expect(caches.keysOf('webllm/wasm')).toEqual(['https://raw.githubusercontent.com/x/Other.wasm']);
    expect(await hasModelInCache(TINY)).toBe(false);
    expect(await listCachedModels()).toEqual([]);
  });

  it("web-llm's deleteModelAllInfoInCache leaves tensor-cache.json, which the listing shows as an empty model", async () => {
    const tinyBase = catalogBaseUrl(findCatalogRecord(catalog, TINY)!);
    await seedCacheAsWebllm(tinyBase);
    await deleteModelAllInfoInCache(TINY);
    expect(caches.keysOf('webllm/model')).toEqual([`${tinyBase}tensor-cache.json`]);
    const [left] = await listCachedModels({ catalog });
    expect(left).toMatchObject({ complete: false, shardsCached: 0, webllmHasModel: false });
    expect(await deleteCachedModel(tinyBase, { catalog })).toBe(1);
    expect(caches.keysOf('webllm/model')).toEqual([]);
  });
});

describe('web-llm cache, IndexedDB backend', () => {
  it("stores a download as web-llm's ArtifactIndexedDBCache does; web-llm finds it; it reads back as a model", async () => {
    const base = 'https://huggingface.co/test/Idb-q4f16_1-MLC/resolve/main/';
    const { impl } = modelFetch();
    await downloadModel(base, { store: webllmStore('indexeddb'), fetchImpl: impl, backoffMs: 1 });
    expect(caches.keysOf('webllm/model')).toEqual([]);

    const modelDb = await openDB('webllm/model', 1);
    const index = await modelDb.get('urls', `${base}tensor-cache.json`);
    expect(index.data.records.length).toBe(shardNames.length); // parsed, as web-llm reads it ("json")
    expect((await modelDb.get('urls', base + shardNames[0])).data).toBeInstanceOf(ArrayBuffer);
    expect((await modelDb.getAllKeys('urls')).length).toBe(shardNames.length + 2);
    modelDb.close();
    const configDb = await openDB('webllm/config', 1);
    expect((await configDb.get('urls', `${base}mlc-chat-config.json`)).data).toBeInstanceOf(ArrayBuffer);
    configDb.close();

    expect(await webllmHas(base, 'indexeddb')).toBe(true);
    expect(await webllmHas(base, 'cache')).toBe(false);
    const [listed] = await listCachedModels();
    expect(listed).toMatchObject({ baseUrl: base, backend: 'indexeddb', complete: true, webllmHasModel: true });
    const { config, cache } = await readModelIndex(cacheSource(base));
    expect(config).toEqual(model.config);
    expect((await readShards(cacheSource(base), cache)).size).toBe(shardNames.length);
  });

  it('finds a model web-llm stored in IndexedDB (also with the config parsed, as older web-llm versions stored it) and deletes it', async () => {
    const tinyBase = catalogBaseUrl(findCatalogRecord(catalog, TINY)!);
    await seedIndexedDbAsWebllm(tinyBase, { configAsJson: true });
    expect(await hasModelInCache(TINY, { ...prebuiltAppConfig, cacheBackend: 'indexeddb' })).toBe(true);
    const [listed] = await listCachedModels({ catalog });
    expect(listed).toMatchObject({
      baseUrl: tinyBase,
      backend: 'indexeddb',
      ids: [TINY, `${TINY}-1k`],
      complete: true,
      webllmHasModel: true,
    });
    const { config } = await readModelIndex(cacheSource(tinyBase));
    expect(config).toEqual(model.config);

    expect(await deleteCachedModel(tinyBase, { catalog })).toBe(model.files.length);
    expect(await hasModelInCache(TINY, { ...prebuiltAppConfig, cacheBackend: 'indexeddb' })).toBe(false);
    expect(await listCachedModels({ catalog })).toEqual([]);
  });

  it('a model in both backends is listed once per backend; a shard missing in one makes only that one incomplete', async () => {
    const base = 'https://huggingface.co/test/Both-q4f16_1-MLC/resolve/main/';
    await seedCacheAsWebllm(base);
    await seedIndexedDbAsWebllm(base, { skip: [shardNames[0]] });
    const listed = await listCachedModels();
    expect(listed.map((m) => [m.backend, m.complete, m.webllmHasModel])).toEqual([
      ['cache', true, true],
      ['indexeddb', false, false],
    ]);
    expect(await isModelCached(base)).toBe(true);
    expect(await deleteCachedModel(base)).toBe(2 * model.files.length - 1);
    expect(await listCachedModels()).toEqual([]);
  });
});

describe('custom repos web-llm cannot address', () => {
  it('a base URL without /resolve/<rev>/ is checked and deleted by its keys', async () => {
    const base = 'http://localhost:8000/models/x/';
    expect(webllmRecordFor(base)).toBeUndefined();
    await seedCacheAsWebllm(base);
    const [listed] = await listCachedModels();
    expect(listed).toMatchObject({ baseUrl: base, webllmHasModel: undefined, complete: true });
    expect(await deleteCachedModel(base)).toBe(model.files.length);
    expect(await listCachedModels()).toEqual([]);
  });
});

describe('no storage', () => {
  it('says clearly when there is neither the Cache API nor IndexedDB', async () => {
    delete globals.caches;
    delete globals.indexedDB;
    await expect(cacheStore().has('https://h/x')).rejects.toThrow(CacheUnavailableError);
    await expect(webllmStore('indexeddb').has('https://h/x')).rejects.toThrow(/IndexedDB is not available here/);
    await expect(listCachedModels()).rejects.toThrow(/Cache API is not available here \(it needs a secure context/);
  });
});
