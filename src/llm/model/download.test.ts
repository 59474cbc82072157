// downloadModel against a real HTTP server on 127.0.0.1 serving a model made by makeModel (in memory).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadModel, memoryStore, ModelDownloadError, storeSource, type DownloadProgress } from './download';
import { ModelFormatError } from './errors';
import { makeModel } from './make-model';
import { ModelUrlError } from './url-source';
import { readModelIndex, readShards } from './weights';

const model = makeModel({ maxShardBytes: 8 * 1024 });
const files = new Map(model.files.map((f) => [f.name, f.bytes]));
const shardNames = model.files.filter((f) => f.name.startsWith('params_shard_')).map((f) => f.name);
const totalBytes = model.files.reduce((sum, f) => sum + f.bytes.length, 0);

interface Behaviour {
  honorRange: boolean;
  /** Per file: send the headers of the whole file, then this many bytes, then drop the connection (once). */
  breakOnce: Map<string, number>;
  /** Per file: the server's copy is only this long. */
  truncate: Map<string, number>;
  /** Files whose bytes are served with one byte flipped. */
  corrupt: Set<string>;
  /** Per file: answer with these statuses first. */
  statuses: Map<string, number[]>;
  /** Files the server does not have. */
  missing: Set<string>;
  delayMs: number;
  /** Replace a file's bytes (e.g. a non-Llama config). */
  override: Map<string, Uint8Array>;
  /**
   * Requests under /m/<tag>/ for another tag than this one (stragglers of an earlier, aborted download) are
   * served plainly: they neither consume `statuses` nor show in the log.
   */
  tag: string;
  /** Files sent without a Content-Length (chunked). */
  noLength: Set<string>;
  /** Per file: the Content-Length to announce, whatever the body is. */
  lieLength: Map<string, number>;
  /** Per file: send the headers and the file's bytes up to this offset (none past it), then nothing. */
  stall: Map<string, number>;
}

let behaviour: Behaviour;
const log: { file: string; range: string | undefined; status: number }[] = [];
let inFlight = 0;
let maxInFlight = 0;
let server: Server;
let base = '';

function handle(req: IncomingMessage, res: ServerResponse): void {
  const segments = (req.url ?? '').split('/').filter(Boolean);
  const file = decodeURIComponent(segments.at(-1) ?? '');
  const current = (segments.length > 2 ? segments[1] : '') === behaviour.tag;
  const range = req.headers.range;
  const finish = (status: number) => {
    if (current) log.push({ file, range, status });
  };
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  res.on('close', () => inFlight--);
  setTimeout(() => {
    if (res.destroyed) return; // the client went away (an aborted download)
    const queued = current ? behaviour.statuses.get(file) : undefined;
    if (queued && queued.length > 0) {
      const status = queued.shift()!;
      finish(status);
      res.writeHead(status).end();
      return;
    }
    let bytes = behaviour.override.get(file) ?? files.get(file);
    if (!bytes || behaviour.missing.has(file)) {
      finish(404);
      res.writeHead(404).end('not found');
      return;
    }
    if (behaviour.truncate.has(file)) bytes = bytes.subarray(0, behaviour.truncate.get(file));
    if (behaviour.corrupt.has(file)) {
      bytes = bytes.slice();
      bytes[bytes.length >> 1] ^= 0xff;
    }
    let start = 0;
    let status = 200;
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    const match = range && behaviour.honorRange ? /^bytes=(\d+)-$/.exec(range) : null;
    if (match) {
      start = Number(match[1]);
      if (start >= bytes.length) {
        finish(416);
        res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    }
    const body = bytes.subarray(start);
    headers['Content-Length'] = String(behaviour.lieLength.get(file) ?? body.length);
    if (behaviour.noLength.has(file)) delete headers['Content-Length'];
    finish(status);
    res.writeHead(status, headers);
    const stallAt = behaviour.stall.get(file);
    if (stallAt !== undefined || behaviour.lieLength.has(file)) {
      res.flushHeaders();
      const end = stallAt === undefined ? body.length : Math.max(0, stallAt - start);
      res.socket?.write(body.subarray(0, end)); // then nothing
      return;
    }
    const cut = behaviour.breakOnce.get(file);
    if (cut !== undefined && start === 0) {
      behaviour.breakOnce.delete(file);
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 5));
      return;
    }
    res.end(body);
  }, behaviour.delayMs);
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/m/`;
  // Never outlive the tests.
  setTimeout(() => server.close(), 120_000).unref();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  behaviour = {
    honorRange: true,
    breakOnce: new Map(),
    truncate: new Map(),
    corrupt: new Set(),
    statuses: new Map(),
    missing: new Set(),
    delayMs: 0,
    override: new Map(),
    tag: '',
    noLength: new Set(),
    lieLength: new Map(),
    stall: new Map(),
  };
  log.length = 0;
  inFlight = 0;
  maxInFlight = 0;
});

const fast = { retries: 3, backoffMs: 2, progressIntervalMs: 0 };
const shardRequests = () => log.filter((l) => l.file.startsWith('params_shard_'));
/** Until the server has no request open (after an aborted download). */
async function idle(): Promise<void> {
  for (let i = 0; i < 200 && inFlight > 0; i++) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 30));
}
/** A fresh URL for the same model, so that stragglers of an earlier download do not interfere. */
const tagged = (tag: string) => {
  behaviour.tag = tag;
  return `${base}${tag}/`;
};

describe('storeSource', () => {
  it('reads only files under its base URL (the browser cache holds other models beside it)', async () => {
    const store = memoryStore();
    await store.put('https://h/a/x.bin', new Uint8Array([1]));
    await store.put('https://h/b/params_shard_0.bin', new Uint8Array([2]));
    const source = storeSource(store, 'https://h/a/');
    expect(Array.from((await source.read('x.bin'))!)).toEqual([1]);
    for (const name of ['../b/params_shard_0.bin', 'https://h/b/params_shard_0.bin', '/b/params_shard_0.bin']) {
      await expect(source.read(name), name).rejects.toThrow(/points outside the model's directory/);
    }
  });
});

describe('downloadModel', () => {
  it('fetches every file with N in parallel, reports byte progress, and the store reads back as a model', async () => {
    expect(shardNames.length).toBeGreaterThan(6);
    behaviour.delayMs = 15;
    const store = memoryStore();
    const events: DownloadProgress[] = [];
    const result = await downloadModel(base, { store, parallel: 3, onProgress: (p) => events.push(p), ...fast });

    expect([...store.files.keys()].sort()).toEqual(model.files.map((f) => base + f.name).sort());
    for (const f of model.files) expect(Buffer.compare(store.files.get(base + f.name)!, f.bytes), f.name).toBe(0);
    expect(maxInFlight).toBe(3);
    const last = events.at(-1)!;
    expect(last).toEqual({
      bytesDone: totalBytes,
      bytesTotal: totalBytes,
      filesDone: model.files.length,
      filesTotal: model.files.length,
    });
    for (let i = 1; i < events.length; i++) expect(events[i].filesDone).toBeGreaterThanOrEqual(events[i - 1].filesDone);
    expect(events.filter((e) => e.bytesDone > e.bytesTotal)).toEqual([]);
    expect(result).toMatchObject({
      baseUrl: base,
      cacheFile: 'tensor-cache.json',
      bytesTotal: totalBytes,
      bytesFetched: totalBytes,
      filesFromStore: 0,
      rangeResumes: 0,
      restarts: 0,
    });
    expect(result.config?.layers).toBe(model.config.layers);

    // The engine-free check: the loader's own index and shard reading over the store.
    const source = storeSource(store, base);
    const { config, cache } = await readModelIndex(source);
    expect(config).toEqual(model.config);
    expect((await readShards(source, cache)).size).toBe(shardNames.length);

    // A second run finds everything in the store and fetches nothing.
    log.length = 0;
    const again = await downloadModel(base, { store, ...fast });
    expect(log).toEqual([]);
    expect(again.filesFromStore).toBe(model.files.length);
  });

  it('resumes a shard that broke off mid-way with a Range request', async () => {
    const name = shardNames[1];
    const half = files.get(name)!.length >> 1;
    behaviour.breakOnce.set(name, half);
    const store = memoryStore();
    const result = await downloadModel(base, { store, ...fast });
    expect(Buffer.compare(store.files.get(base + name)!, files.get(name)!)).toBe(0);
    const requests = log.filter((l) => l.file === name);
    expect(requests).toEqual([
      { file: name, range: undefined, status: 200 },
      { file: name, range: `bytes=${half}-`, status: 206 },
    ]);
    expect(result.rangeResumes).toBe(1);
    expect(result.restarts).toBe(0);
    expect(result.bytesFetched).toBe(totalBytes);
  });

  it('fetches the whole shard again when the server ignores Range', async () => {
    const name = shardNames[2];
    behaviour.honorRange = false;
    behaviour.breakOnce.set(name, 1000);
    const store = memoryStore();
    const events: DownloadProgress[] = [];
    const result = await downloadModel(base, { store, onProgress: (p) => events.push(p), ...fast });
    expect(Buffer.compare(store.files.get(base + name)!, files.get(name)!)).toBe(0);
    expect(log.filter((l) => l.file === name).map((l) => [l.range, l.status])).toEqual([
      [undefined, 200],
      ['bytes=1000-', 200],
    ]);
    expect(result.restarts).toBe(1);
    expect(result.bytesFetched).toBe(totalBytes + 1000);
    expect(events.at(-1)!.bytesDone).toBe(totalBytes);
  });

  it('names the shard when the server has a truncated copy', async () => {
    const name = shardNames[3];
    behaviour.truncate.set(name, 100);
    const error = await downloadModel(base, { store: memoryStore(), ...fast }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toBe(
      `${base}${name}: truncated on the server: it sends 100 bytes but tensor-cache.json says ${files.get(name)!.length}; the repository's file is incomplete or belongs to another conversion; try again later or pick another model`,
    );
  });

  it('names the shard when the server sends more bytes than the index says', async () => {
    const name = shardNames[0];
    const bigger = new Uint8Array(files.get(name)!.length + 10);
    behaviour.override.set(name, bigger);
    behaviour.noLength.add(name); // no Content-Length: found while streaming
    await expect(downloadModel(base, { store: memoryStore(), ...fast })).rejects.toThrow(
      `${base}${name}: size mismatch: the server sends more than the ${files.get(name)!.length} bytes tensor-cache.json says`,
    );
  });

  it("leaves no listener behind on the download's signal per request (no MaxListenersExceededWarning)", async () => {
    expect(shardNames.length + 3).toBeGreaterThan(10); // more requests than the default listener limit
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      await downloadModel(tagged('listeners'), { store: memoryStore(), ...fast, parallel: 2 });
      await new Promise((r) => setTimeout(r, 10)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('refuses a shard whose Content-Length disagrees with the index before reading its body', async () => {
    const name = shardNames[0];
    behaviour.lieLength.set(name, 5_000_000_000);
    const started = log.length;
    await expect(downloadModel(base, { store: memoryStore(), ...fast, idleTimeoutMs: 60_000 })).rejects.toThrow(
      `${base}${name}: size mismatch: the server announces 5000000000 bytes (Content-Length) ` +
        `but tensor-cache.json says ${files.get(name)!.length}`,
    );
    expect(log.slice(started).filter((l) => l.file === name)).toHaveLength(1);
  });

  it('caps the files the index does not size (config, index, tokenizer.json)', async () => {
    behaviour.lieLength.set('tokenizer.json', 1 << 30);
    await expect(downloadModel(base, { store: memoryStore(), ...fast, idleTimeoutMs: 60_000 })).rejects.toThrow(
      `${base}tokenizer.json: 1073741824 bytes, over the limit of 67108864 for tokenizer.json`,
    );
    behaviour.lieLength.clear();
    behaviour.override.set('mlc-chat-config.json', new Uint8Array(2 << 20).fill(32));
    behaviour.noLength.add('mlc-chat-config.json');
    await expect(downloadModel(tagged('big-config'), { store: memoryStore(), ...fast })).rejects.toThrow(
      /mlc-chat-config.json: the server sends more than 1048576 bytes/,
    );
  });

  it('retries a shard whose server stalls mid-way, then names the URL', async () => {
    const name = shardNames[1];
    behaviour.stall.set(name, 100);
    const options = { store: memoryStore(), ...fast, retries: 1, idleTimeoutMs: 150 };
    const error = await downloadModel(base, options).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ModelUrlError);
    const broke = 'the connection broke after 100 of \\d+ bytes \\(no data for 0.15 s \\(the server stalled\\)\\)';
    const failed = `^${base}${name}: download failed after \\d+ attempts \\(${broke}\\)`;
    expect((error as Error).message).toMatch(new RegExp(failed));
    // The first attempt made progress (100 bytes): the Range retries after it do not.
    expect(log.filter((l) => l.file === name).length).toBeGreaterThanOrEqual(2);
  });

  it('fetches a shard with a bad md5 once more, then reports it by URL; keeps what completed', async () => {
    const name = shardNames[4];
    behaviour.corrupt.add(name);
    const store = memoryStore();
    const error = await downloadModel(base, { store, parallel: 1, ...fast }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    const md5 = (
      JSON.parse(new TextDecoder().decode(files.get('tensor-cache.json')!)) as {
        records: { dataPath: string; md5sum: string }[];
      }
    ).records.find((r) => r.dataPath === name)!.md5sum;
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${base}${name}: md5 mismatch \\(twice\\): got [0-9a-f]{32}, tensor-cache.json says ${md5}; the file on the server does not match its index`,
      ),
    );
    expect(log.filter((l) => l.file === name)).toHaveLength(2);
    expect(store.files.has(base + shardNames[0])).toBe(true);
    expect(store.files.has(base + name)).toBe(false);
    // Without md5 checks the (corrupt) bytes are accepted: the size is right.
    await downloadModel(base, { store, verifyMd5: false, ...fast });
    expect(store.files.has(base + name)).toBe(true);
  });

  it('refuses a model over the size limit before fetching any shard', async () => {
    const shardTotal = shardNames.reduce((s, n) => s + files.get(n)!.length, 0);
    const store = memoryStore();
    await expect(downloadModel(base, { store, maxBytes: shardTotal - 1, ...fast })).rejects.toThrow(ModelDownloadError);
    await expect(downloadModel(base, { store, maxBytes: shardTotal - 1, ...fast })).rejects.toThrow(
      /the model's shards total .* \(tensor-cache.json\), over the limit of .*; pick a smaller model or free space/,
    );
    expect(shardRequests()).toEqual([]);
    expect(store.files.size).toBe(0);
    await downloadModel(base, { store, maxBytes: shardTotal, ...fast });
    expect(store.files.size).toBe(model.files.length);
  });

  it('cancels on abort, keeps completed shards, and a later run fetches only the rest', async () => {
    behaviour.delayMs = 20;
    const store = memoryStore();
    const controller = new AbortController();
    const error = await downloadModel(base, {
      store,
      parallel: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.filesDone >= 5) controller.abort();
      },
      ...fast,
    }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    const kept = [...store.files.keys()].filter((k) => k.includes('params_shard_'));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(shardNames.length);

    await idle();
    log.length = 0;
    behaviour.delayMs = 0;
    const result = await downloadModel(base, { store, ...fast });
    expect(shardRequests()).toHaveLength(shardNames.length - kept.length);
    expect(result.filesFromStore).toBe(kept.length + 3);
    expect(store.files.size).toBe(model.files.length);
  });

  it('retries transient HTTP errors and fails clearly on a missing shard or a bad status', async () => {
    behaviour.statuses.set(shardNames[0], [503, 500]);
    const store = memoryStore();
    await downloadModel(base, { store, ...fast });
    expect(log.filter((l) => l.file === shardNames[0]).map((l) => l.status)).toEqual([503, 500, 200]);

    behaviour.missing.add(shardNames[1]);
    await expect(downloadModel(base, { store: memoryStore(), ...fast })).rejects.toThrow(
      new ModelUrlError(
        `${base}${shardNames[1]}: not found (HTTP 404), but the model needs it (a weight shard listed in the tensor cache); check the model id or URL`,
      ),
    );
    behaviour.missing.clear();
    behaviour.statuses.set(shardNames[2], [403]);
    await expect(downloadModel(tagged('a'), { store: memoryStore(), ...fast })).rejects.toThrow(
      /\/a\/params_shard_2\.bin: download failed \(HTTP 403\); the repository may be private or gated/,
    );
    behaviour.statuses.set(shardNames[2], [503, 503, 503, 503, 503]);
    await expect(downloadModel(tagged('b'), { store: memoryStore(), retries: 2, backoffMs: 1 })).rejects.toThrow(
      /\/b\/params_shard_2\.bin: download failed after 3 attempts \(HTTP 503\); check your connection/,
    );
  });

  it('falls back to ndarray-cache.json and validates the model before fetching shards', async () => {
    behaviour.missing.add('tensor-cache.json');
    behaviour.override.set('ndarray-cache.json', files.get('tensor-cache.json')!);
    const store = memoryStore();
    const result = await downloadModel(base, { store, ...fast });
    expect(result.cacheFile).toBe('ndarray-cache.json');
    expect(store.files.has(`${base}ndarray-cache.json`)).toBe(true);
    expect((await readModelIndex(storeSource(store, base))).cacheFile).toBe('ndarray-cache.json');

    behaviour.missing.clear();
    log.length = 0;
    const config = JSON.parse(new TextDecoder().decode(files.get('mlc-chat-config.json')!));
    behaviour.override.set(
      'mlc-chat-config.json',
      new TextEncoder().encode(JSON.stringify({ ...config, model_type: 'qwen2' })),
    );
    await expect(downloadModel(base, { store: memoryStore(), ...fast })).rejects.toThrow(
      /mlc-chat-config.json: only Llama-architecture models are supported \(got qwen2\)/,
    );
    expect(shardRequests()).toEqual([]);
  });
});
