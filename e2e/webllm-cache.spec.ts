/**
 * The playground and web-llm share one cache, proven with the real @mlc-ai/web-llm in Chromium (no mocks):
 *   - a model the playground downloads (the shipped micro model, served by a local HTTP server in the Hugging
 *     Face `<org>/<repo>/resolve/main/` layout) is reported cached by web-llm's hasModelInCache and deleted by
 *     its deleteModelAllInfoInCache, in the Cache API and in IndexedDB;
 *   - a model stored by web-llm's own cache code, in both backends, is found and loaded by the playground.
 *
 * web-llm is imported into the page from the installed package (node_modules/@mlc-ai/web-llm/lib/index.js), at
 * a path of the page's own origin that the test answers (page.route): the built app's Content-Security-Policy
 * runs scripts from the page's origin only (script-src 'self'), and the test keeps that policy as it ships
 * rather than loosening it for a module the app never loads from elsewhere. The served model is given to
 * web-llm as a custom ModelRecord in the AppConfig its helpers take (model_list), the hook web-llm has for
 * models outside prebuiltAppConfig.
 *
 * "Stored by web-llm's own cache code": web-llm stores weights only inside MLCEngine.reload, after it has
 * instantiated the model's compiled wasm library on a WebGPU device, and no such library exists for the micro
 * model (nor can one be built here). So the test takes the two classes reload stores with, tvmjs's
 * ArtifactCache (Cache API) and ArtifactIndexedDBCache, verbatim from the installed web-llm bundle (it does
 * not export them), serves them as a module of their own (the policy allows no eval of a string either) and
 * runs their fetchWithCache in the page with the storage types reload uses:
 * mlc-chat-config.json "arraybuffer" in scope webllm/config, tensor-cache.json "json", tokenizer.json and every
 * shard "arraybuffer" in scope webllm/model.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { openTask, waitForScores } from './playground';

const MICRO_DIR = join(process.cwd(), 'public/models/micro');
const WEBLLM_JS = join(process.cwd(), 'node_modules/@mlc-ai/web-llm/lib/index.js');

let server: Server;
let origin = '';
let requests: string[] = [];
let cacheClassesSource = '';

test.beforeAll(async () => {
  cacheClassesSource = webllmCacheClassesSource();
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const headers = { 'access-control-allow-origin': '*' };
    // /<org>/<repo>/resolve/main/<file>: any repo name serves the shipped micro model.
    const match = /^\/[^/]+\/[^/]+\/resolve\/main\/([\w.-]+)$/.exec(path);
    let body: Buffer | undefined;
    try {
      body = match ? readFileSync(join(MICRO_DIR, match[1])) : undefined;
    } catch {
      body = undefined;
    }
    if (!body || match![1] === 'README.md') return void res.writeHead(404, headers).end('not found');
    res
      .writeHead(200, {
        ...headers,
        'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        'content-length': String(body.length),
      })
      .end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
/** Paths of the page's origin where the test serves modules (nothing of the app lives under it). */
const WEBLLM_MODULE = '/__e2e__/webllm/index.js';
const CACHE_CLASSES_MODULE = '/__e2e__/webllm-cache-classes.js';

test.beforeEach(async ({ page }) => {
  requests = [];
  const module = (body: string) => ({ status: 200, contentType: 'text/javascript', body });
  await page.route(`**${WEBLLM_MODULE}`, (route) => route.fulfill(module(readFileSync(WEBLLM_JS, 'utf8'))));
  await page.route(`**${CACHE_CLASSES_MODULE}`, (route) => route.fulfill(module(cacheClassesSource)));
});

const base = (repo: string) => `${origin}/test/${repo}/resolve/main/`;
const row = (page: Page, id: string) => page.locator(`[data-testid="model-row"][data-model-id="${id}"]`);
type Backend = 'cache' | 'indexeddb';

/** Runs web-llm's hasModelInCache in the page for the served model `repo` (a custom ModelRecord). */
async function webllmHas(page: Page, repo: string, cacheBackend: Backend): Promise<boolean> {
  return page.evaluate(
    async ({ modulePath, modelUrl, cacheBackend }) => {
      const webllm = await import(/* @vite-ignore */ `${location.origin}${modulePath}`);
      const record = { model_id: 'served-micro', model: modelUrl, model_lib: `${modelUrl}no-model-lib.wasm` };
      return webllm.hasModelInCache('served-micro', { model_list: [record], cacheBackend }) as Promise<boolean>;
    },
    { modulePath: WEBLLM_MODULE, modelUrl: base(repo), cacheBackend },
  );
}

/** Runs web-llm's deleteModelAllInfoInCache in the page for the served model `repo`. */
async function webllmDelete(page: Page, repo: string, cacheBackend: Backend): Promise<void> {
  await page.evaluate(
    async ({ modulePath, modelUrl, cacheBackend }) => {
      const webllm = await import(/* @vite-ignore */ `${location.origin}${modulePath}`);
      const record = { model_id: 'served-micro', model: modelUrl, model_lib: `${modelUrl}no-model-lib.wasm` };
      await webllm.deleteModelAllInfoInCache('served-micro', { model_list: [record], cacheBackend });
    },
    { modulePath: WEBLLM_MODULE, modelUrl: base(repo), cacheBackend },
  );
}

/** `{ ... }` from `text[start]` (the first "{" at or after it) to its matching "}". */
function block(text: string, start: number): string {
  let depth = 0;
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error('unbalanced braces in web-llm lib/index.js');
}

/**
 * A module of tvmjs's ArtifactCache and ArtifactIndexedDBCache (and the __awaiter they use), as the installed
 * web-llm bundles them, exporting the two classes.
 */
function webllmCacheClassesSource(): string {
  const text = readFileSync(WEBLLM_JS, 'utf8');
  const cacheAt = text.indexOf('class ArtifactCache {');
  const idbAt = text.indexOf('class ArtifactIndexedDBCache {');
  // The tvmjs bundle's own tslib helper is the last __awaiter before the classes.
  const awaiterAt = text.lastIndexOf('function __awaiter(', cacheAt);
  expect(
    cacheAt > 0 && idbAt > cacheAt && awaiterAt > 0,
    'web-llm still bundles ArtifactCache and ArtifactIndexedDBCache',
  ).toBe(true);
  const classes = [block(text, awaiterAt), block(text, cacheAt), block(text, idbAt)].join('\n');
  return `${classes}\nexport { ArtifactCache, ArtifactIndexedDBCache };\n`;
}

/** Stores the served model `repo` through web-llm's own cache classes, as MLCEngine.reload would. */
async function storeWithWebllmCode(page: Page, repo: string, backend: Backend): Promise<number> {
  return page.evaluate(
    async ({ modulePath, modelUrl, backend }) => {
      const { ArtifactCache, ArtifactIndexedDBCache } = await import(
        /* @vite-ignore */ `${location.origin}${modulePath}`
      );
      const make = (scope: string) =>
        backend === 'cache' ? new ArtifactCache(scope) : new ArtifactIndexedDBCache(scope);
      const config = make('webllm/config');
      const model = make('webllm/model');
      await config.fetchWithCache(new URL('mlc-chat-config.json', modelUrl).href, 'arraybuffer');
      const index = await model.fetchWithCache(new URL('tensor-cache.json', modelUrl).href, 'json');
      await model.fetchWithCache(new URL('tokenizer.json', modelUrl).href, 'arraybuffer');
      for (const shard of index.records as { dataPath: string }[])
        await model.fetchWithCache(new URL(shard.dataPath, modelUrl).href, 'arraybuffer');
      return (index.records as unknown[]).length;
    },
    { modulePath: CACHE_CLASSES_MODULE, modelUrl: base(repo), backend },
  );
}

async function openPanel(page: Page): Promise<void> {
  await page.getByTestId('open-model-panel').click();
  await expect(page.getByTestId('model-panel')).toBeVisible();
}

/** Adds the served repo in the Model panel and downloads it into `backend`; returns its row. */
async function downloadInPlayground(page: Page, repo: string, backend: Backend) {
  await openPanel(page);
  await page.getByTestId('download-backend').selectOption(backend);
  await page.getByTestId('custom-url').fill(base(repo));
  await page.getByTestId('custom-url-add').click();
  const r = row(page, base(repo));
  await r.getByTestId('model-download').click();
  await expect(r.getByTestId('download-text')).toContainText('(100%)');
  await expect(r).toHaveAttribute('data-cached', 'true');
  await expect(r.getByTestId('model-cached')).toContainText(backend === 'cache' ? 'Cache API' : 'IndexedDB');
  return r;
}

test.describe('web-llm cache interop', () => {
  for (const backend of ['cache', 'indexeddb'] as const) {
    test(`a model the playground downloads into ${backend} is cached for web-llm, loads, and web-llm's delete removes it`, async ({
      page,
    }) => {
      const repo = `played-${backend}`;
      await openTask(page, './', 'tomato-salad');
      expect(await webllmHas(page, repo, backend)).toBe(false);
      const r = await downloadInPlayground(page, repo, backend);
      expect(requests.filter((p) => p.startsWith(`/test/${repo}/`)).sort()).toEqual(
        ['mlc-chat-config.json', 'params_shard_0.bin', 'tensor-cache.json', 'tokenizer.json'].map(
          (f) => `/test/${repo}/resolve/main/${f}`,
        ),
      );
      expect(await webllmHas(page, repo, backend)).toBe(true);
      expect(await webllmHas(page, repo, backend === 'cache' ? 'indexeddb' : 'cache')).toBe(false);

      await r.getByTestId('model-use').click();
      await waitForScores(page);
      await expect(page.getByTestId('policy-status')).toContainText(base(repo));

      await webllmDelete(page, repo, backend);
      expect(await webllmHas(page, repo, backend)).toBe(false);
      await page.getByTestId('model-panel-close').click();
      await openPanel(page); // opening refreshes the listing
      await expect(r).toHaveAttribute('data-cached', 'false');
      // web-llm leaves tensor-cache.json: the row offers the download again, and Delete clears what is left.
      await expect(r.getByTestId('model-cached')).toContainText('partly (0/1 shards');
      await r.getByTestId('model-delete').click();
      await r.getByTestId('model-delete-confirm').click();
      await expect(r.getByTestId('model-cached')).toHaveText('no');
    });

    test(`a model stored by web-llm's own cache code in ${backend} is found and loaded by the playground`, async ({
      page,
    }) => {
      const repo = `webllm-${backend}`;
      await openTask(page, './', 'tomato-salad');
      expect(await storeWithWebllmCode(page, repo, backend)).toBe(1);
      expect(await webllmHas(page, repo, backend)).toBe(true);
      const fetched = requests.length;

      // A link to it: found in the cache, loaded without a download, scores the actions.
      await page.goto(`./?model=${encodeURIComponent(base(repo))}`);
      await waitForScores(page);
      await expect(page.getByTestId('policy-status')).toContainText(base(repo));
      await expect(page.getByTestId('action-prob').first()).toHaveText(/%$/);
      expect(requests.slice(fetched).filter((p) => p.startsWith('/test/'))).toEqual([]);
      await openPanel(page);
      const r = row(page, base(repo));
      await expect(r).toHaveAttribute('data-cached', 'true');
      await expect(r.getByTestId('model-cached')).toContainText(backend === 'cache' ? 'Cache API' : 'IndexedDB');

      // The playground's Delete goes through web-llm's helper: web-llm no longer has it.
      await r.getByTestId('model-delete').click();
      await r.getByTestId('model-delete-confirm').click();
      await expect(r.getByTestId('model-cached')).toHaveText('no');
      expect(await webllmHas(page, repo, backend)).toBe(false);
    });
  }

  test("the catalog is web-llm's list, loaded after the first screen, and a catalog link waits for it", async ({
    page,
  }) => {
    await openTask(page, './?model=SmolLM2-135M-Instruct-q0f32-MLC', 'tomato-salad');
    // Not cached: the panel opens at the row (the link was understood, not rejected as unknown).
    await expect(page.getByTestId('model-panel')).toBeVisible();
    await expect(page.getByTestId('url-error')).toHaveCount(0);
    const smol = row(page, 'SmolLM2-135M-Instruct-q0f32-MLC');
    await expect(smol).toHaveClass(/model-row--focus/);
    const ids = await page.evaluate(async (modulePath) => {
      const webllm = await import(/* @vite-ignore */ `${location.origin}${modulePath}`);
      return (webllm.prebuiltAppConfig.model_list as { model_id: string }[]).map((r) => r.model_id);
    }, WEBLLM_MODULE);
    const rows = await page
      .getByTestId('model-row')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-model-id')));
    const catalogRows = rows.filter((id) => id !== 'micro');
    expect(catalogRows.length).toBeGreaterThan(40);
    expect(catalogRows.filter((id) => !ids.includes(id!))).toEqual([]);
    // The fit check on SwiftShader: the 13B model is ruled out, with the reason.
    const big = row(page, 'Llama-2-13b-chat-hf-q4f16_1-MLC');
    await expect(big).toHaveAttribute('data-can-run', 'no');
    await expect(big.getByTestId('model-can-run')).toContainText(
      /^no: (needs about .* GiB to train|about .* to score one environment step)/,
    );
    await expect(smol).toHaveAttribute('data-can-run', 'yes');
    await expect(smol.getByTestId('model-fit-notes')).toContainText('software adapter');
    await expect(page.getByTestId('model-panel-precision')).toContainText('f32 path (no shader-f16 here');
  });
});
