// The Cache API store under web-llm's keys, against a small in-memory fake of CacheStorage.
import { describe, expect, it } from 'vitest';
import { catalogBaseUrl } from './catalog';
import { cacheSource, cacheStore, CacheUnavailableError, deleteCachedModel, isModelCached, listCachedModels, type CacheLike, type CacheStorageLike } from './cache-source';
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

/** What web-llm's `cache.add(new Request(url))` leaves: the fetched response, here without a Content-Length. */
async function seedAsWebllm(storage: FakeCacheStorage, base: string, skip: string[] = []): Promise<void> {
  for (const f of model.files) {
    if (skip.includes(f.name)) continue;
    const cache = await storage.open(f.name === 'mlc-chat-config.json' ? 'webllm/config' : 'webllm/model');
    await cache.put(new Request(base + f.name), new Response(f.bytes.slice()));
  }
}

describe('cacheStore / cacheSource', () => {
  it('stores a download under web-llm cache names and full-URL keys, and reads it back as a model', async () => {
    const caches = new FakeCacheStorage();
    const base = 'https://huggingface.co/mlc-ai/Test-q4f16_1-MLC/resolve/main/';
    const { impl } = modelFetch();
    await downloadModel(base, { store: cacheStore({ caches }), fetchImpl: impl, backoffMs: 1 });

    expect(caches.keysOf('webllm/config')).toEqual([`${base}mlc-chat-config.json`]);
    expect(caches.keysOf('webllm/model')).toEqual([base + 'tensor-cache.json', base + 'tokenizer.json', ...shardNames.map((n) => base + n)].sort());
    const stored = caches.caches.get('webllm/model')!.entries.get(`${base}${shardNames[0]}`)!;
    expect(new Map(stored.headers).get('content-length')).toBe(String(stored.body.length));

    const source = cacheSource(base, { caches });
    expect(source.describe('tokenizer.json')).toBe(`${base}tokenizer.json (browser cache)`);
    const { config, cache } = await readModelIndex(source);
    expect(config).toEqual(model.config);
    expect((await readShards(source, cache)).size).toBe(shardNames.length);
    expect(await source.read('nope.bin')).toBeUndefined();
  });

  it('reuses a model that web-llm cached (no fetch at all) and reports it under its catalog ids', async () => {
    const caches = new FakeCacheStorage();
    const base = catalogBaseUrl('TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC');
    expect(base).toBe('https://huggingface.co/mlc-ai/TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC/resolve/main/');
    await seedAsWebllm(caches, base);
    const { impl, calls } = modelFetch();
    const result = await downloadModel(base, { store: cacheStore({ caches }), fetchImpl: impl });
    expect(calls).toEqual([]);
    expect(result.filesFromStore).toBe(model.files.length);

    const [listed] = await listCachedModels({ caches });
    const total = model.files.reduce((s, f) => s + f.bytes.length, 0);
    expect(listed).toMatchObject({
      baseUrl: base,
      ids: ['TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC', 'TinyLlama-1.1B-Chat-v1.0-q4f16_1-MLC-1k'],
      cacheFile: 'tensor-cache.json',
      hasConfig: true,
      hasTokenizer: true,
      shardsCached: shardNames.length,
      shardsTotal: shardNames.length,
      complete: true,
      bytes: total,
      totalBytes: total,
    });
    expect(await isModelCached(base, { caches })).toBe(true);
  });

  it('lists partial models, deletes one model from both caches, and leaves the others', async () => {
    const caches = new FakeCacheStorage();
    const a = 'https://huggingface.co/mlc-ai/A-q4f16_1-MLC/resolve/main/';
    const b = 'https://huggingface.co/mlc-ai/B-q4f16_1-MLC/resolve/main/';
    await seedAsWebllm(caches, a, [shardNames[1]]);
    await seedAsWebllm(caches, b);
    const wasm = await caches.open('webllm/wasm');
    await wasm.put('https://raw.githubusercontent.com/x/A.wasm', new Response(encoder.encode('wasm')));

    const listed = await listCachedModels({ caches });
    expect(listed.map((m) => [m.baseUrl, m.complete, m.shardsCached, m.shardsTotal])).toEqual([
      [a, false, shardNames.length - 1, shardNames.length],
      [b, true, shardNames.length, shardNames.length],
    ]);
    expect(listed[0].bytes).toBe(listed[0].totalBytes! - model.files.find((f) => f.name === shardNames[1])!.bytes.length);
    expect(await isModelCached(a, { caches })).toBe(false);

    expect(await deleteCachedModel(a, { caches })).toBe(model.files.length - 1);
    expect(caches.keysOf('webllm/model').every((k) => k.startsWith(b))).toBe(true);
    expect(caches.keysOf('webllm/config')).toEqual([`${b}mlc-chat-config.json`]);
    expect(caches.keysOf('webllm/wasm')).toHaveLength(1);
    expect((await listCachedModels({ caches })).map((m) => m.baseUrl)).toEqual([b]);
  });

  it('says clearly when there is no Cache API', async () => {
    expect((globalThis as { caches?: unknown }).caches).toBeUndefined();
    await expect(cacheStore().has('https://h/x')).rejects.toThrow(CacheUnavailableError);
    await expect(listCachedModels()).rejects.toThrow(/Cache API is not available here \(it needs a secure context/);
  });
});
