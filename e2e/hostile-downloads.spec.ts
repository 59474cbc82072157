/**
 * Every download of the page against a server that misbehaves (issue 19, item 7): one that stalls (no
 * headers, or half a body and then nothing), one that lies about its size, one whose body never ends. Each is
 * given up on with a message that names the URL (a stall after the idle timeout and a retry), never hangs,
 * and has a Cancel button; a failed or cancelled ?adapter= leaves the address, so a reload does not repeat it.
 * The app and the bad routes share one local server (hostile-app.ts); the idle timeout is the page's
 * developer setting (localStorage TWOSOME_IDLE_TIMEOUT_S), 2 s here instead of 30 s.
 */
import type { Page } from '@playwright/test';
import { expect, test, waitForTask } from './fixtures';
import { siteFile, setIdleTimeout, startHostileApp, type HostileApp } from './hostile-app';

let app: HostileApp;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test.beforeAll(async () => {
  app = await startHostileApp();
});
test.afterAll(async () => {
  await app.server.close();
});
test.beforeEach(async ({ page }) => {
  app.routes.clear();
  await setIdleTimeout(page, 2);
});

const ready = (page: Page) =>
  expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });

/** The adapter inputs can be used (a model is loaded, nothing is loading). */
async function inputsUsable(page: Page): Promise<void> {
  await expect(page.getByTestId('adapter-loading')).toHaveCount(0);
  await expect(page.getByTestId('adapter-file')).toBeEnabled();
  await expect(page.getByTestId('adapter-url')).toBeEnabled();
  await page.getByTestId('adapter-url').fill('https://example.org/adapter_model.safetensors');
  await expect(page.getByTestId('adapter-url-load')).toBeEnabled();
  await page.getByTestId('adapter-url').fill('');
}

test.describe('downloads from a server that misbehaves', () => {
  test('?adapter= on a server that never answers: retried once, a notice naming the URL, dropped from address', async ({
    page,
  }) => {
    app.routes.set('/hostile/stall.zip', { stallHeaders: true });
    const url = `${app.url}hostile/stall.zip`;
    await page.goto(`${app.url}?task=tomato-salad&seed=0&adapter=${encodeURIComponent(url)}`);
    await waitForTask(page, 'tomato-salad');
    await expect(page.getByTestId('share-error')).toContainText(
      `could not download ${url}: no data for 2 s (the server stalled) (2 attempts); check the URL, or try again later`,
      { timeout: 20_000 },
    );
    expect(app.count('/hostile/stall.zip')).toBeGreaterThanOrEqual(2); // see the next test
    expect(app.count('/hostile/stall.zip')).toBeLessThanOrEqual(3);
    const asked = app.count('/hostile/stall.zip');
    await expect(page).not.toHaveURL(/adapter=/);
    await expect(page).toHaveURL(/task=tomato-salad/);
    await ready(page);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    await inputsUsable(page);

    // A reload does not start the download again.
    await page.reload();
    await ready(page);
    await expect(page.getByTestId('share-error')).toHaveCount(0);
    expect(app.count('/hostile/stall.zip')).toBe(asked);
  });

  test('an adapter URL whose body stops half-way, or that announces 5 GB, is refused from the panel', async ({
    page,
  }) => {
    const half = siteFile('/models/micro/tokenizer.json')!; // any bytes: the body never completes
    app.routes.set('/hostile/half.zip', { body: half, stallAfter: 1000 });
    app.routes.set('/hostile/big.zip', { body: 'PK', contentLength: 5_000_000_000 });
    await page.goto(app.url);
    await ready(page);
    await page.getByTestId('adapter-url').fill(`${app.url}hostile/half.zip`);
    await page.getByTestId('adapter-url-load').click();
    await expect(page.getByTestId('adapter-error')).toContainText(
      `could not download ${app.url}hostile/half.zip: no data for 2 s (the server stalled) (2 attempts)`,
      { timeout: 20_000 },
    );
    // Two attempts of the page; Chromium itself may send a request again once when a kept-alive connection fails.
    expect(app.count('/hostile/half.zip')).toBeGreaterThanOrEqual(2);
    expect(app.count('/hostile/half.zip')).toBeLessThanOrEqual(3);
    await inputsUsable(page);

    await page.getByTestId('adapter-url').fill(`${app.url}hostile/big.zip`);
    await page.getByTestId('adapter-url-load').click();
    await expect(page.getByTestId('adapter-error')).toContainText(
      `${app.url}hostile/big.zip is 5000000000 bytes, over the limit of ${768 * 2 ** 20}`,
    );
    await inputsUsable(page);
  });

  test('Cancel stops an adapter download that stalls, from the panel and from ?adapter=', async ({ page }) => {
    await setIdleTimeout(page, 120); // the stall outlasts the test: only Cancel ends it
    app.routes.set('/hostile/stall.zip', { stallHeaders: true });
    const url = `${app.url}hostile/stall.zip`;
    await page.goto(app.url);
    await ready(page);
    await page.getByTestId('adapter-url').fill(url);
    await page.getByTestId('adapter-url-load').click();
    await expect(page.getByTestId('adapter-loading')).toContainText(url);
    await expect(page.getByTestId('adapter-url-load')).toBeDisabled();
    await page.getByTestId('adapter-cancel').click();
    await expect(page.getByTestId('adapter-error')).toHaveCount(0);
    await inputsUsable(page);

    await page.goto(`${app.url}?task=tomato-salad&seed=0&adapter=${encodeURIComponent(url)}`);
    await expect(page.getByTestId('adapter-loading')).toContainText(url, { timeout: 30_000 });
    await page.getByTestId('adapter-cancel').click();
    await expect(page.getByTestId('share-error')).toContainText(
      `The adapter URL ${url} was not loaded: its download was cancelled. ` +
        'The setup and the adapter in use are as they were.',
    );
    await expect(page).not.toHaveURL(/adapter=/);
    await ready(page);
    await inputsUsable(page);
  });

  test('a model download from a server that stalls, lies about a size or never ends says which file and why', async ({
    page,
  }) => {
    const model = (repo: string) => `${app.url}hostile-model/${repo}/`;
    // Each repo serves the micro model with one file broken.
    for (const repo of ['stall', 'lie', 'endless', 'cancel']) {
      for (const file of ['mlc-chat-config.json', 'tensor-cache.json', 'tokenizer.json', 'params_shard_0.bin']) {
        app.routes.set(`/hostile-model/${repo}/${file}`, { body: siteFile(`/models/micro/${file}`)! });
      }
    }
    const shard = siteFile('/models/micro/params_shard_0.bin')!;
    app.routes.set('/hostile-model/stall/params_shard_0.bin', { body: shard, stallAfter: shard.length / 2 });
    app.routes.set('/hostile-model/lie/params_shard_0.bin', { body: shard, contentLength: 5_000_000_000 });
    app.routes.set('/hostile-model/endless/mlc-chat-config.json', { body: '{"model_type": "llama", ', endless: true });
    app.routes.set('/hostile-model/cancel/params_shard_0.bin', { stallHeaders: true });

    await page.goto(app.url);
    await waitForTask(page, 'tomato-salad');
    await page.getByTestId('open-model-panel').click();
    const row = (repo: string) => page.locator(`[data-testid="model-row"][data-model-id="${model(repo)}"]`);
    const download = async (repo: string) => {
      await page.getByTestId('custom-url').fill(model(repo));
      await page.getByTestId('custom-url-add').click();
      await row(repo).getByTestId('model-download').click();
    };

    await download('stall');
    // The first attempt got half the shard (progress does not count against the retries), the next ones no more.
    await expect(row('stall').getByTestId('download-error')).toContainText(
      new RegExp(
        `${escape(model('stall'))}params_shard_0\\.bin: ` +
          'download failed after \\d+ attempts \\(the connection broke after',
      ),
      { timeout: 40_000 },
    );
    await expect(row('stall').getByTestId('download-error')).toContainText('no data for 2 s (the server stalled)');

    await download('lie');
    await expect(row('lie').getByTestId('download-error')).toContainText(
      `${model('lie')}params_shard_0.bin: size mismatch: the server announces 5000000000 bytes (Content-Length) ` +
        'but tensor-cache.json says 93232',
    );

    await download('endless');
    await expect(row('endless').getByTestId('download-error')).toContainText(
      `${model('endless')}mlc-chat-config.json: the server sends more than 1048576 bytes, ` +
        'the limit for mlc-chat-config.json',
    );

    // A stall longer than the test: Cancel ends it, and the row offers the download again.
    await page.evaluate((key) => localStorage.setItem(key, '120'), 'TWOSOME_IDLE_TIMEOUT_S');
    await download('cancel');
    await expect(row('cancel').getByTestId('model-cancel')).toBeVisible();
    await expect.poll(() => app.count('/hostile-model/cancel/params_shard_0.bin')).toBe(1);
    await row('cancel').getByTestId('model-cancel').click();
    await expect(row('cancel').getByTestId('download-cancelled')).toBeVisible();
    await expect(row('cancel').getByTestId('model-download')).toBeVisible();
    for (const repo of ['stall', 'lie', 'endless', 'cancel'])
      await expect(row(repo)).toHaveAttribute('data-cached', 'false');
  });
});
