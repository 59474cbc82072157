/**
 * The share slice against an in-process worker host (AgentHost with a fake scorer of the micro model's
 * shapes): loading files, the link and its precision, opening a link in a "fresh page", and mutated links
 * rejected with one notice and no state change.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHostileServer, type HostileServer } from '../util/hostile-server';
import { prebuiltAppConfig } from '@mlc-ai/web-llm';
import { catalogFromModelList, type WebLlmModelRecord } from '../llm/model/catalog';
import { encodeBundle, encodePeftAdapter, encodeShareLink, SHARE_FRAGMENT_PREFIX } from '../share';
import { adapterWeightsOf } from '../share/adapter';
import { formatBytes } from '../util/format';
import type { ModelsApi } from '../worker/api';
import { localLink } from '../worker/link';
import type { CachedModelView } from '../worker/protocol';
import { catalogDownloadBytes } from './model-panel';
import { MICRO, trainedAdapter } from '../share/testing';
import { Rng } from '../util/rng';
import type { FileLike } from './adapter-files';
import { FRESH_SETUP, fileLike, microAdapter, openFreshPage, pageSnapshot, peftFiles, settledPolicy } from './testing';
import type { AppStore } from './store';

/** The page's store (a fresh one per page: freshPage). */
let app: AppStore;

/** A fresh worker + both stores attached to it: what a new browser context starts with. */
async function freshPage(pageUrl?: string) {
  const page = await openFreshPage({ pageUrl });
  app = page.app;
  await settledPolicy(app);
  return page.host;
}

const share = () => app.getState().share;
const playground = () => app.getState().playground;
const snapshot = () => pageSnapshot(app);

describe('share store', () => {
  beforeEach(async () => {
    await freshPage();
  });

  it('loads a PEFT pair: the probabilities change and the panel shows the adapter', async () => {
    const frozen = await settledPolicy(app);
    await share().loadFiles(peftFiles());
    expect(share().error).toBeNull();
    expect(share().adapter).toMatchObject({
      label: 'adapter_model.safetensors',
      r: 4,
      alpha: 8,
      targets: ['q_proj', 'v_proj'],
      layers: 2,
      baseModel: 'micro',
    });
    const adapted = await settledPolicy(app);
    expect(playground().timeline.at(-1)?.scores.status === 'ok' && playground().timeline.at(-1)?.scores).toMatchObject({
      scores: { lora: 'adapter_model.safetensors' },
    });
    expect(adapted).not.toEqual(frozen);
    await share().remove();
    expect(share().adapter).toBeNull();
    expect(await settledPolicy(app)).toEqual(frozen);
  });

  it('rejects bad files with a message and keeps the adapter in use', async () => {
    await share().loadFiles(peftFiles());
    const before = await settledPolicy(app);
    const wrongShape = encodePeftAdapter(
      trainedAdapter({ ...MICRO, hidden: 32, headDim: 8 }, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj'] }),
      { baseModel: 'micro' },
    );
    const cases: [FileLike[], RegExp][] = [
      [
        [fileLike('adapter_model.safetensors', wrongShape.weights), fileLike('adapter_config.json', wrongShape.config)],
        /q_proj is 32 x 32 in the adapter .* but 64 x 64 in micro/,
      ],
      [
        peftFiles({ baseModel: 'meta-llama/Llama-2-7b-chat-hf' }),
        /trained on "meta-llama\/Llama-2-7b-chat-hf" but the model in use is "micro"/,
      ],
      [[fileLike('adapter_model.safetensors', new Uint8Array([1, 2, 3]))], /adapter_model\.safetensors: /],
      [[fileLike('adapter_model.bin', new Uint8Array(10))], /pickled PyTorch files are never loaded/],
      [[fileLike('notes.txt', 'hi')], /not an adapter file/],
      [[fileLike('adapter_config.json', '{}')], /no adapter_model\.safetensors/],
      [
        [
          {
            name: 'huge.zip',
            size: 2 ** 40,
            arrayBuffer: async () => {
              throw new Error('must not be read');
            },
          },
        ],
        /over the limit of \d+ for a bundle/,
      ],
    ];
    for (const [files, message] of cases) {
      await share().loadFiles(files);
      expect(share().error).toMatch(message);
      expect(share().adapter?.label).toBe('adapter_model.safetensors');
      expect(await settledPolicy(app)).toEqual(before);
    }
  });

  it('a bundle restores its setup with the adapter', async () => {
    const bytes = encodeBundle({
      modelId: 'micro',
      task: 'entertainment',
      normalization: 'token',
      seed: 4,
      adapter: microAdapter(),
    });
    await share().loadFiles([fileLike('run.zip', bytes)]);
    expect(share().error).toBeNull();
    expect(snapshot()).toEqual({ ...FRESH_SETUP, taskId: 'entertainment', seed: 4, norm: 'token', adapter: 'run.zip' });
  });

  it('the link reopens the setup and the same probabilities on a fresh page; f16/int8 report their error', async () => {
    await playground().selectSeed(3);
    playground().selectNorm('sum');
    await share().loadFiles(peftFiles());
    const sharer = (await settledPolicy(app)).slice();
    const sharerSum = (
      playground().timeline.at(-1)!.scores as { scores: { policy: { sum: number[] } } }
    ).scores.policy.sum.slice();
    await share().refreshLink();
    const link = share().link;
    if (link.status !== 'ok') throw new Error(`no link: ${JSON.stringify(link)}`);
    expect(link.url.startsWith(`https://example.org/twosome/${SHARE_FRAGMENT_PREFIX}`)).toBe(true);
    expect(link.precision).toBe('f32');
    expect(link.probError).toBe(0);

    share().setPrecision('int8');
    await until(
      () => share().link.status === 'ok' && (share().link as { probError: number | null }).probError !== null,
    );
    const int8 = share().link as Extract<ReturnType<typeof share>['link'], { status: 'ok' }>;
    expect(int8.chars).toBeLessThan(link.chars);
    expect(int8.maxAbsError).toBeGreaterThan(0);
    expect(int8.probError).toBeGreaterThan(0);
    expect(int8.probError).toBeLessThan(0.05);

    await freshPage();
    expect(snapshot()).toEqual({ ...FRESH_SETUP, adapter: null });
    const url = new URL(link.url);
    await share().openFromLocation({ href: url.href, hash: url.hash, search: url.search });
    expect(share().notice).toBeNull();
    expect(snapshot()).toEqual({ ...FRESH_SETUP, seed: 3, norm: 'sum', adapter: 'shared link (f32)' });
    await settledPolicy(app);
    const opened = (playground().timeline.at(-1)!.scores as { scores: { policy: { sum: number[]; word: number[] } } })
      .scores.policy;
    expect(opened.sum).toEqual(sharerSum);
    expect(opened.word).toEqual(sharer);
  });

  it('copy: the clipboard gets the link; a refused permission says what to do instead', async () => {
    await share().loadFiles(peftFiles());
    await share().refreshLink();
    const written: string[] = [];
    await share().copyLink({ writeText: async (t: string) => void written.push(t) });
    expect(share().copy.status).toBe('copied');
    expect(written).toEqual([(share().link as { url: string }).url]);
    await share().copyLink({
      writeText: async () => Promise.reject(new DOMException('Write permission denied.', 'NotAllowedError')),
    });
    expect(share().copy).toEqual({
      status: 'failed',
      message: expect.stringMatching(/permission denied.*copy it by hand/),
    });
    await share().copyLink(null);
    expect(share().copy.status).toBe('failed');
  });

  it('fuzz: mutated links are each rejected with one notice and change nothing', async () => {
    await share().loadFiles(peftFiles());
    await share().refreshLink();
    const link = share().link;
    if (link.status !== 'ok') throw new Error('no link');
    const fragment = new URL(link.url).hash;
    await freshPage();
    const before = snapshot();
    const frozen = await settledPolicy(app);
    const rng = new Rng(11);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/%#';
    const mutants = new Set<string>([
      '#share=',
      '#share=A',
      '#share=%%%',
      `${fragment}${fragment}`,
      fragment.slice(0, 40),
      `#share=${'A'.repeat(40_000)}`,
    ]);
    while (mutants.size < 150) {
      const chars = fragment.split('');
      const at = SHARE_FRAGMENT_PREFIX.length + Math.floor(rng.next() * (chars.length - SHARE_FRAGMENT_PREFIX.length));
      const kind = Math.floor(rng.next() * 4);
      const c = alphabet[Math.floor(rng.next() * alphabet.length)];
      if (kind === 0) chars[at] = c;
      else if (kind === 1) chars.splice(at, 1);
      else if (kind === 2) chars.splice(at, 0, c);
      else chars.length = at;
      const mutant = chars.join('');
      if (mutant !== fragment) mutants.add(mutant);
    }
    for (const hash of mutants) {
      share().dismissNotice();
      await expect(
        share().openFromLocation({ href: `https://example.org/twosome/${hash}`, hash, search: '' }),
      ).resolves.toBeUndefined();
      expect(share().notice, hash.slice(0, 80)).toMatch(
        /^This share link cannot be used: .*\. The setup and the adapter in use are as they were\.$/,
      );
      expect(snapshot()).toEqual(before);
    }
    expect(await settledPolicy(app)).toEqual(frozen);
  });

  it('?adapter= URLs: only https or this site; the download is capped; a fetched pair loads', async () => {
    await share().openFromLocation({
      href: 'https://example.org/twosome/?adapter=http://evil.example/a.safetensors',
      hash: '',
      search: '?adapter=http://evil.example/a.safetensors',
    });
    // Named as what it is (not "share link"), and without the label twice.
    expect(share().notice).toMatch(/^This adapter URL cannot be used: adapter URLs must be https:\/\/ or on this site/);
    expect(share().notice).not.toMatch(/share link/);
    share().dismissNotice();
    // A download that fails (nothing listens at this address) is an adapter URL's failure too.
    const offline = 'https://127.0.0.1:9/adapter_model.safetensors';
    await share().openFromLocation({
      href: `https://example.org/?adapter=${offline}`,
      hash: '',
      search: `?adapter=${offline}`,
    });
    expect(share().notice).toMatch(
      /^This adapter URL cannot be used: could not download https:\/\/127\.0\.0\.1:9\/adapter_model\.safetensors: /,
    );
    expect(share().notice).not.toMatch(/share link/);
    share().dismissNotice();
    await share().loadUrl(offline);
    expect(share().error).toMatch(/^adapter URL: could not download /);
    await share().openFromLocation({
      href: 'https://example.org/?adapter=javascript:alert(1)',
      hash: '',
      search: '?adapter=javascript:alert(1)',
    });
    expect(share().notice).toMatch(/must be https:\/\//);
    expect(snapshot().adapter).toBeNull();
  });
});

describe('share store, adapter downloads that stall', () => {
  let server: HostileServer;
  beforeAll(async () => {
    server = await startHostileServer((path) => (path.startsWith('/stall') ? { stallHeaders: true } : undefined));
  });
  afterAll(() => server.close());
  // The page is on the server's origin (http is accepted there); the stall outlasts the test, so only a
  // cancel ends each download.
  beforeEach(async () => {
    await freshPage(`${server.url}?task=tomato-salad`);
  });

  it('Cancel ends a stalled ?adapter= download: one notice, nothing changed', async () => {
    const before = snapshot();
    const search = `?task=tomato-salad&adapter=${encodeURIComponent(`${server.url}stall.zip`)}`;
    const opening = share().openFromLocation({ href: `${server.url}${search}`, hash: '', search });
    await until(() => share().cancellable);
    expect(share().loading).toBe(`${server.url}stall.zip`);
    share().cancelLoad();
    await opening;
    expect(share().notice).toBe(
      `The adapter URL ${server.url}stall.zip was not loaded: its download was cancelled. ` +
        'The setup and the adapter in use are as they were.',
    );
    expect({ loading: share().loading, cancellable: share().cancellable }).toEqual({
      loading: null,
      cancellable: false,
    });
    expect(snapshot()).toEqual(before);
  });

  it('Cancel ends a stalled download from the panel without an error', async () => {
    const loading = share().loadUrl(`${server.url}stall-panel.zip`);
    await until(() => share().cancellable);
    share().cancelLoad();
    await loading;
    expect({ loading: share().loading, error: share().error, adapter: share().adapter }).toEqual({
      loading: null,
      error: null,
      adapter: null,
    });
  });
});

describe('share store, a link naming a model that is not downloaded', () => {
  const SMOL = 'SmolLM2-135M-Instruct-q0f32-MLC';
  const catalog = catalogFromModelList(prebuiltAppConfig.model_list as WebLlmModelRecord[]);
  const record = catalog.find((r) => r.id === SMOL)!;
  let cached: CachedModelView[];
  let downloads: string[];

  /** A fresh page whose models worker knows web-llm's catalog and has nothing cached until a download. */
  async function pageWithCatalog(): Promise<void> {
    cached = [];
    downloads = [];
    const models: ModelsApi = {
      adapter: async () => ({ status: 'missing', reason: 'not needed here' }),
      catalog: async () => ({ status: 'ok', records: catalog }),
      listCached: async () => ({ status: 'ok', models: cached }),
      async download(baseUrl) {
        downloads.push(baseUrl);
        const view = { baseUrl, backend: 'cache' as const, ids: [SMOL], complete: true, webllmHasModel: true };
        cached.push({ ...view, bytes: 1, totalBytes: 1, shardsCached: 1, shardsTotal: 1 });
        return { status: 'done', baseUrl, bytesTotal: 1, bytesFetched: 1, files: 4 };
      },
      cancel() {},
      deleteCached: async () => 0,
    };
    await freshPage();
    app.getState().models.attach(localLink<ModelsApi>('models', models).api);
    await app.getState().models.catalogLoaded();
  }

  /** A link made for SMOL whose adapter has the micro model's shapes (the loaded model's: it would fit). */
  const link = () =>
    encodeShareLink({
      modelId: SMOL,
      task: 'food-preparation',
      normalization: 'token',
      seed: 5,
      weights: adapterWeightsOf(microAdapter()),
    }).fragment;
  const open = (hash: string) =>
    share().openFromLocation({ href: `https://example.org/twosome/${hash}`, hash, search: '' });

  beforeEach(pageWithCatalog);

  it('asks before switching: nothing changes until the user says yes, and Keep leaves it so', async () => {
    const frozen = await settledPolicy(app);
    const before = snapshot();
    await open(link());
    expect(share().pending).toEqual({
      modelId: SMOL,
      missing: `${SMOL} is not downloaded in this browser (${formatBytes(catalogDownloadBytes(record)!)} to download)`,
      taskId: 'food-preparation',
      seed: 5,
    });
    // The adapter fits the loaded micro model, yet it is not put on it: it was made for another model.
    expect(snapshot()).toEqual(before);
    expect(share().notice).toBeNull();
    expect(await settledPolicy(app)).toEqual(frozen);
    expect(downloads).toEqual([]);
    share().dismissPending();
    expect(share().pending).toBeNull();
    expect(snapshot()).toEqual(before);
  });

  it('Download and open: the model is downloaded and loaded, then the link is applied on it', async () => {
    await open(link());
    await share().confirmPending();
    expect(downloads).toEqual([record.record.model.replace(/\/?$/, '/resolve/main/')]);
    expect(share().notice).toBeNull();
    expect(snapshot()).toEqual({
      taskId: 'food-preparation',
      seed: 5,
      modelId: SMOL,
      norm: 'token',
      adapter: 'shared link (f32)',
    });
    expect(playground().model).toMatchObject({ status: 'ready', info: { id: SMOL } });
  });
});

function until(predicate: () => boolean, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() - started > ms) reject(new Error('timed out'));
      else setTimeout(poll, 2);
    };
    poll();
  });
}
