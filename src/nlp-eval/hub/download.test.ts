// Downloading the benchmarks from a local server laid out like the Hugging Face hub, serving Parquet files
// built from the real official files (testing.ts): the questions equal the ones parsed from the official files,
// for every benchmark; a second run reads the store; broken, stalled, cancelled and corrupted downloads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileServer, type HostileServer } from '../../util/hostile-server';
import { loadBenchmark } from '../benchmarks';
import { directoryDataSource } from '../data-source-node';
import { BenchDownloadError } from '../errors';
import { NEEDS_DATA, NLP_EVAL_DATA } from '../test-data';
import { downloadHubSplit, hubEndpoint, hubListingUrl, type HubDownloadProgress } from './download';
import { loadHubBenchmark } from './load';
import { memoryDatasetStore, partialKey } from './store';
import { fakeHubFiles, fakeHubRoute, mmluSubjectsIn, type FakeHubFile, type FakeHubOptions } from './testing';

/** Fast failure handling: the server's stalls are cut after 300 ms, retries wait 10 ms. */
const QUICK = { idleTimeoutMs: 300, backoffMs: 10 };

describe.skipIf(!NLP_EVAL_DATA)(`benchmarks downloaded from a hub laid out like Hugging Face's${NEEDS_DATA}`, () => {
  let files: FakeHubFile[];
  let server: HostileServer;
  /** Range headers the server saw, per path. */
  const ranges: { path: string; range: string }[] = [];
  /** Replaces the next answer to a path (stalls, failures); consumed once. */
  const once = new Map<string, FakeHubOptions['intercept']>();

  beforeAll(async () => {
    files = fakeHubFiles(NLP_EVAL_DATA!);
    const route = fakeHubRoute(files, {
      intercept: (path, req) => {
        if (req.headers.range) ranges.push({ path, range: req.headers.range });
        const special = once.get(path);
        if (!special) return undefined;
        once.delete(path);
        return special(path, req);
      },
    });
    server = await startHostileServer(route);
  });
  afterAll(() => server?.close());

  const endpoint = () => server.url;
  const official = () => directoryDataSource(NLP_EVAL_DATA!);
  const fileOf = (config: string) => files.find((f) => f.hub.config === config)!;
  const fileUrl = (f: FakeHubFile) =>
    `${hubEndpoint(endpoint())}/datasets/${f.hub.dataset}/resolve/refs%2Fconvert%2Fparquet/${f.path}`;
  const pathOf = (url: string) => new URL(url).pathname;

  it('every benchmark: the downloaded questions equal those parsed from the official files, row for row', async () => {
    const store = memoryDatasetStore();
    const subjects = mmluSubjectsIn(NLP_EVAL_DATA!);
    const ids = ['arc-easy', 'arc-challenge', 'piqa', 'boolq', 'winogrande', 'siqa', 'openbookqa', 'mmlu'];
    for (const id of [...ids, ...subjects.map((s) => `mmlu-${s}`)]) {
      const downloaded = await loadHubBenchmark(id, undefined, { store, endpoint: endpoint() });
      const parsed = await loadBenchmark(official(), id);
      expect(downloaded.length, id).toBe(parsed.length);
      expect(downloaded, id).toEqual(parsed);
    }
    // --limit as the harness takes it: the first N (of each subject for "mmlu").
    for (const [id, limit] of [
      ['arc-easy', 7],
      ['mmlu', 3],
    ] as const) {
      expect(await loadHubBenchmark(id, limit, { store, endpoint: endpoint() })).toEqual(
        await loadBenchmark(official(), id, limit),
      );
    }
  });

  it("a second run reads the store, not the network; progress counts the split's bytes", async () => {
    const store = memoryDatasetStore();
    const events: HubDownloadProgress[] = [];
    const hub = { dataset: 'allenai/ai2_arc', config: 'ARC-Easy', split: 'test' };
    const first = await downloadHubSplit(hub, { store, endpoint: endpoint(), onProgress: (p) => events.push(p) });
    const total = files.filter((f) => f.hub.config === 'ARC-Easy').reduce((s, f) => s + f.bytes.length, 0);
    expect(first.files).toHaveLength(2);
    expect(first.fromStore).toBe(0);
    expect(events.at(-1)).toEqual({ bytesDone: total, bytesTotal: total, filesDone: 2, filesTotal: 2 });
    const before = server.requests.length;
    const second = await downloadHubSplit(hub, { store, endpoint: endpoint() });
    expect(server.requests.length).toBe(before);
    expect(second.fromStore).toBe(2);
    expect(second.files.map((f) => f.bytes)).toEqual(first.files.map((f) => f.bytes));
  });

  it('a response that stalls half-way is resumed with a Range request from the bytes received', async () => {
    const store = memoryDatasetStore();
    const f = fileOf('winogrande_xl');
    const half = Math.floor(f.bytes.length / 2);
    once.set(pathOf(fileUrl(f)), () => ({ body: f.bytes, stallAfter: half }));
    ranges.length = 0;
    const questions = await loadHubBenchmark('winogrande', undefined, { store, endpoint: endpoint(), ...QUICK });
    expect(ranges).toEqual([{ path: pathOf(fileUrl(f)), range: `bytes=${half}-` }]);
    expect(questions).toEqual(await loadBenchmark(official(), 'winogrande'));
  });

  it('server errors are retried; a 404 is a one-line error naming the URL', async () => {
    const store = memoryDatasetStore();
    const f = fileOf('ARC-Challenge');
    once.set(pathOf(fileUrl(f)), () => ({ status: 503, body: 'busy' }));
    const questions = await loadHubBenchmark('arc-challenge', 5, { store, endpoint: endpoint(), ...QUICK });
    expect(questions).toEqual(await loadBenchmark(official(), 'arc-challenge', 5));

    const missing = { 'arc-easy': { hub: { dataset: 'nobody/nothing', split: 'test' }, files: [] } };
    const error = await loadHubBenchmark('arc-easy', 1, {
      store,
      endpoint: endpoint(),
      homes: missing,
      ...QUICK,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BenchDownloadError);
    expect((error as Error).message).toMatch(
      /\/api\/datasets\/nobody\/nothing\/tree\/.*: download failed \(HTTP 404\)/,
    );
    expect((error as Error).message).not.toContain('\n');
  });

  it('Cancel keeps the bytes received; the next download resumes from them', async () => {
    const store = memoryDatasetStore();
    const f = fileOf('boolq');
    const part = 4096;
    const controller = new AbortController();
    once.set(pathOf(fileUrl(f)), () => {
      // Cancel once the first bytes are on their way; the server then sends nothing more.
      setTimeout(() => controller.abort(new DOMException('cancelled by the user', 'AbortError')), 100);
      return { body: f.bytes, stallAfter: part };
    });
    const cancelled = await loadHubBenchmark('boolq', 1, {
      store,
      endpoint: endpoint(),
      signal: controller.signal,
      idleTimeoutMs: 5000,
    }).catch((e: unknown) => e);
    expect((cancelled as Error).name).toBe('AbortError');
    expect(store.files.get(partialKey(fileUrl(f)))?.length).toBe(part);
    expect(store.files.has(fileUrl(f))).toBe(false);

    ranges.length = 0;
    const questions = await loadHubBenchmark('boolq', 3, { store, endpoint: endpoint() });
    expect(ranges).toEqual([{ path: pathOf(fileUrl(f)), range: `bytes=${part}-` }]);
    expect(questions).toEqual(await loadBenchmark(official(), 'boolq', 3));
    expect(store.files.has(partialKey(fileUrl(f)))).toBe(false);
  });

  it("a file whose bytes do not match the listing's SHA-256 is fetched again, then reported", async () => {
    const store = memoryDatasetStore();
    const f = fileOf('main');
    const corrupt = f.bytes.slice();
    corrupt[100] ^= 0xff;
    once.set(pathOf(fileUrl(f)), () => ({ body: corrupt }));
    const questions = await loadHubBenchmark('openbookqa', 2, { store, endpoint: endpoint(), ...QUICK });
    expect(questions).toEqual(await loadBenchmark(official(), 'openbookqa', 2));

    const store2 = memoryDatasetStore();
    let served = 0;
    const corruptAlways: FakeHubOptions['intercept'] = () => {
      served++;
      if (served < 2) once.set(pathOf(fileUrl(f)), corruptAlways);
      return { body: corrupt };
    };
    once.set(pathOf(fileUrl(f)), corruptAlways);
    const error = await loadHubBenchmark('openbookqa', 2, { store: store2, endpoint: endpoint(), ...QUICK }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BenchDownloadError);
    expect((error as Error).message).toMatch(
      /0000\.parquet: SHA-256 [0-9a-f]{64} where the listing says [0-9a-f]{64} \(twice\)/,
    );
    // The listing kept from this try is dropped, so the next one lists again.
    const listing = hubListingUrl(hubEndpoint(endpoint()), f.hub);
    expect(store2.files.has(listing)).toBe(false);
  });
});

describe('the hub address and listing', () => {
  it('refuses an endpoint that is not an http(s) URL, in one line', () => {
    expect(() => hubEndpoint('ftp://example.com')).toThrow(/must be http\(s\):\/\//);
    expect(() => hubEndpoint('not a url')).toThrow(/"not a url" is not a URL/);
    expect(hubEndpoint('https://hf-mirror.example/')).toBe('https://hf-mirror.example');
  });

  it("builds the URLs of the hub's layout", () => {
    const hub = { dataset: 'allenai/ai2_arc', config: 'ARC-Easy', split: 'test' };
    expect(hubListingUrl('https://huggingface.co', hub)).toBe(
      'https://huggingface.co/api/datasets/allenai/ai2_arc/tree/refs%2Fconvert%2Fparquet/ARC-Easy/test',
    );
    expect(hubListingUrl('https://huggingface.co', { dataset: 'baber/piqa', split: 'validation' })).toBe(
      'https://huggingface.co/api/datasets/baber/piqa/tree/refs%2Fconvert%2Fparquet/default/validation',
    );
  });
});
