/**
 * The Model panel: the catalog with sizes and whether this (SwiftShader) adapter can run each model, and a
 * custom MLC repo served by the test itself (no network here): a tiny random Llama made in Node with
 * makeModel() and answered through page.route() at https://huggingface.co/test/<repo>/resolve/main/.
 * Downloads go into the browser's Cache API under web-llm's keys; "Use" loads from there.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, Route } from '@playwright/test';
import { makeModel } from '../src/llm/model/make-model';
import { expect, test } from './fixtures';
import { openTask, waitForScores } from './playground';

/** Small shards, so a download takes several steps (progress, cancel mid-way). */
const made = makeModel({ maxShardBytes: 16 * 1024 });
const FILES = new Map(made.files.map((f) => [f.name, f.bytes]));
const SHARDS = made.files.filter((f) => f.name.startsWith('params_shard_')).length;

const base = (repo: string) => `https://huggingface.co/test/${repo}/resolve/main/`;

interface ServeOptions {
  /** Serve this file with its bytes flipped (same length: the md5 check catches it). */
  corrupt?: string;
  /** Hold every shard this long before answering. */
  shardDelayMs?: number;
}

/** Serves the tiny model at https://huggingface.co/test/<repo>; returns the list of requested file names. */
async function serveModel(page: Page, repo: string, options: ServeOptions = {}): Promise<string[]> {
  const requested: string[] = [];
  await page.route(`${base(repo)}**`, async (route: Route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop() ?? '';
    requested.push(name);
    const headers = {
      'access-control-allow-origin': '*',
      'content-type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    };
    const bytes = FILES.get(name);
    try {
      if (!bytes) return await route.fulfill({ status: 404, headers, body: 'not found' });
      if (options.shardDelayMs && name.startsWith('params_shard_'))
        await new Promise((r) => setTimeout(r, options.shardDelayMs));
      const body = Buffer.from(bytes);
      if (name === options.corrupt) for (let i = 0; i < body.length; i++) body[i] ^= 0x5a;
      await route.fulfill({ status: 200, headers, body });
    } catch {
      // the request was cancelled (the download was) or the page went away
    }
  });
  return requested;
}

async function openPanel(page: Page): Promise<void> {
  await page.getByTestId('open-model-panel').click();
  await expect(page.getByTestId('model-panel')).toBeVisible();
}

const row = (page: Page, id: string) => page.locator(`[data-testid="model-row"][data-model-id="${id}"]`);

/** Enters a custom repo URL and starts its download; returns its row. */
async function addCustom(page: Page, repo: string) {
  await page.getByTestId('custom-url').fill(`https://huggingface.co/test/${repo}`);
  await page.getByTestId('custom-url-add').click();
  const r = row(page, base(repo));
  await expect(r).toBeVisible();
  return r;
}

async function download(page: Page, repo: string) {
  const r = await addCustom(page, repo);
  await r.getByTestId('model-download').click();
  await expect(r.getByTestId('download-text')).toContainText('(100%)');
  await expect(r).toHaveAttribute('data-cached', 'true');
  return r;
}

test.describe('Model panel', () => {
  test('lists the micro model and the catalog with sizes, GPU memory and can-run status', async ({ page }) => {
    await openTask(page, './', 'tomato-salad');
    await openPanel(page);
    await expect(page.getByTestId('model-panel-adapter')).toContainText('GPU:');
    const micro = row(page, 'micro');
    await expect(micro).toHaveAttribute('data-cached', 'true');
    await expect(micro.getByTestId('model-can-run')).toHaveText('yes');
    const llama = row(page, 'Llama-3.2-1B-Instruct-q4f32_1-MLC');
    await expect(llama.getByTestId('model-size')).toHaveText(/^\d+(\.\d)? (MiB|GiB)$/);
    await expect(llama.getByTestId('model-vram')).toHaveText(/^\d+ MB$/);
    await expect(llama.getByTestId('model-cached')).toHaveText('no');
    await expect(llama).toHaveAttribute('data-can-run', /^(yes|no)$/);
    await expect(llama.getByTestId('model-can-run')).toHaveText(/^(yes|no: .+)( \(.*\))?$/);
    expect(await page.getByTestId('model-row').count()).toBeGreaterThan(20);
    // Bad custom URLs say why.
    await page.getByTestId('custom-url').fill('not a url');
    await page.getByTestId('custom-url-add').click();
    await expect(page.getByTestId('custom-url-error')).toContainText('not a model URL');
    await page.getByTestId('custom-url').fill('http://example.com/model');
    await page.getByTestId('custom-url-add').click();
    await expect(page.getByTestId('custom-url-error')).toContainText('https://');
  });

  test('a custom repo downloads to 100%, is cached, loads with Use, survives a reload, and Delete removes it', async ({
    page,
  }) => {
    await serveModel(page, 'tiny');
    await openTask(page, './', 'tomato-salad');
    await openPanel(page);
    const r = await download(page, 'tiny');
    await expect(r.getByTestId('model-cached')).toHaveText(/^yes/);
    // In the cache under web-llm's keys.
    const keys = await page.evaluate(async () => (await (await caches.open('webllm/model')).keys()).map((k) => k.url));
    expect(keys).toContain(`${base('tiny')}tensor-cache.json`);
    expect(keys.filter((k) => k.includes('params_shard_'))).toHaveLength(SHARDS);

    await r.getByTestId('model-use').click();
    await expect(page.getByTestId('model-select')).toHaveValue(base('tiny'));
    await waitForScores(page);
    await expect(page.getByTestId('policy-status')).toContainText(base('tiny'));
    await expect(page.getByTestId('action-prob').first()).toHaveText(/%$/);

    // Reload without the server: the link reopens the model from the cache.
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await page.reload();
    await expect(page).toHaveURL(/model=https%3A%2F%2Fhuggingface.co%2Ftest%2Ftiny/);
    await waitForScores(page);
    await expect(page.getByTestId('model-panel')).toHaveCount(0);
    await openPanel(page);
    const again = row(page, base('tiny'));
    await expect(again).toHaveAttribute('data-cached', 'true');

    await again.getByTestId('model-delete').click();
    await again.getByTestId('model-delete-confirm').click();
    await expect(again).toHaveAttribute('data-cached', 'false');
    await expect(again.getByTestId('model-download')).toBeVisible();
    const left = await page.evaluate(async () => (await (await caches.open('webllm/model')).keys()).length);
    expect(left).toBe(0);
  });

  test('a corrupt shard gives a clear error and leaves other cached models intact', async ({ page }) => {
    await serveModel(page, 'tiny');
    await serveModel(page, 'broken', { corrupt: 'params_shard_1.bin' });
    await openTask(page, './', 'tomato-salad');
    await openPanel(page);
    await download(page, 'tiny');
    const broken = await addCustom(page, 'broken');
    await broken.getByTestId('model-download').click();
    await expect(broken.getByTestId('download-error')).toContainText('params_shard_1.bin');
    await expect(broken.getByTestId('download-error')).toContainText('md5 mismatch');
    await expect(broken).toHaveAttribute('data-cached', 'false');
    await expect(row(page, base('tiny'))).toHaveAttribute('data-cached', 'true');
    // The tiny model's files are all still there.
    const tinyShards = await page.evaluate(
      async (prefix) =>
        (await (await caches.open('webllm/model')).keys()).filter(
          (k) => k.url.startsWith(prefix) && k.url.includes('params_shard_'),
        ).length,
      base('tiny'),
    );
    expect(tinyShards).toBe(SHARDS);
  });

  test('Cancel stops a slow download; a link to a model that is not cached offers the download, never starts it', async ({
    page,
  }) => {
    const requested = await serveModel(page, 'slow', { shardDelayMs: 2_000 });
    await openTask(page, `./?model=${encodeURIComponent('https://huggingface.co/test/slow')}`, 'tomato-salad');
    // The panel opens at the model's row with a Download button; nothing was fetched.
    await expect(page.getByTestId('model-panel')).toBeVisible();
    const r = row(page, base('slow'));
    await expect(r).toHaveClass(/model-row--focus/);
    await expect(r.getByTestId('model-download')).toBeVisible();
    await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'unavailable');
    await expect(page.getByTestId('policy-status')).toContainText('not downloaded');
    expect(requested).toEqual([]);

    await r.getByTestId('model-download').click();
    await expect(r.getByTestId('download-progress')).toBeVisible();
    await expect(r.getByTestId('download-text')).toContainText('of');
    await r.getByTestId('model-cancel').click();
    await expect(r.getByTestId('download-cancelled')).toBeVisible();
    await expect(r).toHaveAttribute('data-cached', 'false');
    const shards = await page.evaluate(
      async () =>
        (await (await caches.open('webllm/model')).keys()).filter((k) => k.url.includes('params_shard_')).length,
    );
    expect(shards).toBeLessThan(SHARDS);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
  });

  test('a link to a catalog model that is not downloaded names it once, in the panel and the Actions card', async ({
    page,
  }) => {
    const id = 'Llama-3.2-1B-Instruct-q4f16_1-MLC';
    await openTask(page, `./?model=${id}`, 'tomato-salad');
    const status = page.getByTestId('model-panel-status');
    await expect(status).toHaveAttribute('data-state', 'unavailable', { timeout: 30_000 });
    await expect(status).toHaveText(
      `${id} is not downloaded: download it in the Model panel (it is never downloaded without asking)`,
    );
    await expect(page.getByTestId('policy-status')).toHaveText(
      new RegExp(`^${id.replace(/\./g, '\\.')} is not downloaded: `),
    );
  });

  test('Load from folder reads a picked MLC folder in place and scores with it', async ({ page }) => {
    const dir = join(mkdtempSync(join(tmpdir(), 'twosome-e2e-')), 'tiny');
    mkdirSync(dir);
    for (const f of made.files) writeFileSync(join(dir, f.name), f.bytes);
    await openTask(page, './', 'tomato-salad');
    await openPanel(page);
    await page.getByTestId('folder-input').setInputFiles(dir);
    await expect(page.getByTestId('model-select')).toHaveValue('folder:tiny');
    await waitForScores(page);
    await expect(page.getByTestId('policy-status')).toContainText('folder:tiny');
  });
});
