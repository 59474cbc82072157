/**
 * Sharing what was trained: an adapter file (made here with src/share for the micro model's shapes) loads
 * through the file picker and changes the probabilities; its share link, opened in a fresh browser context,
 * shows the same setup and probabilities; a malformed link and a wrong-shape file are refused with one clear
 * message and nothing else changes.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { decodeBundle } from '../src/share';
import { MICRO } from '../src/share/testing';
import { expect, test, waitForTask } from './fixtures';
import { loraAdapter, openScored, openTask, peftPayload, probAttributes, waitForScores } from './playground';

async function probs(page: Page): Promise<number[]> {
  return (await probAttributes(page)).map(Number);
}

async function percents(page: Page): Promise<string[]> {
  return (await page.getByTestId('action-prob').locator('.action-pct').allTextContents()).map((t) => t.trim());
}

test.describe('share', () => {
  test('a loaded adapter changes the probabilities; its link reopens them in a fresh browser context', async ({
    page,
    browser,
    context,
  }) => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await openScored(page, './?task=tomato-salad&seed=2&norm=token', 'tomato-salad');
    const frozen = await probs(page);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    // The micro model's weights are random: said where its probabilities are, until an adapter is in use.
    await expect(page.getByTestId('random-model-note')).toContainText('random weights');

    await page.getByTestId('adapter-file').setInputFiles(peftPayload());
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'adapter_model.safetensors');
    await expect(page.getByTestId('adapter-current')).toContainText('r 8 · alpha 16 · q_proj, v_proj · 2 layers');
    await expect(page.getByTestId('random-model-note')).toHaveCount(0);
    await expect
      .poll(async () => JSON.stringify(await probs(page)), { timeout: 30_000 })
      .not.toBe(JSON.stringify(frozen));
    await waitForScores(page);
    const sharer = await probs(page);
    const sharerPct = await percents(page);
    expect(Math.max(...sharer.map((p, i) => Math.abs(p - frozen[i])))).toBeGreaterThan(1e-3);

    // f16 and int8 say what the rounding does to this state's probabilities; f32 is exact.
    await page.getByTestId('share-precision').selectOption('int8');
    await expect(page.getByTestId('share-prob-error')).toHaveText(/^(\d|0\.)[\d.e-]*( percentage points)?$/, {
      timeout: 30_000,
    });
    await page.getByTestId('share-precision').selectOption('f32');
    await expect(page.getByTestId('share-prob-error')).toHaveText('0');
    await expect(page.getByTestId('share-link-info')).toContainText('of 32,768 characters');

    await page.getByTestId('copy-share-link').click();
    const link = (await page.getByTestId('share-link').textContent())?.trim() ?? '';
    expect(link).toMatch(/^http:\/\/localhost:\d+\/#share=[A-Za-z0-9_-]+$/);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);

    const fresh = await browser.newContext();
    const other = await fresh.newPage();
    const errors: string[] = [];
    other.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    other.on('pageerror', (e) => errors.push(e.message));
    await openTask(other, link, 'tomato-salad');
    await expect(other.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'shared link (f32)', {
      timeout: 30_000,
    });
    await expect(other.getByTestId('seed-input')).toHaveValue('2');
    await expect(other.getByLabel('Normalization')).toHaveValue('token');
    await expect
      .poll(async () => JSON.stringify(await percents(other)), { timeout: 30_000 })
      .toBe(JSON.stringify(sharerPct));
    const opened = await probs(other);
    opened.forEach((p, i) => expect(Math.abs(p - sharer[i])).toBeLessThan(1e-6));
    expect(errors).toEqual([]);
    await fresh.close();

    // Remove: back to the frozen model's probabilities.
    await page.getByTestId('adapter-remove').click();
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    await expect.poll(async () => JSON.stringify(await probs(page)), { timeout: 30_000 }).toBe(JSON.stringify(frozen));
  });

  test('?adapter=https://... loads a hosted adapter pair (a Hugging Face resolve/main/ URL); http:// elsewhere is refused', async ({
    page,
  }) => {
    const [config, weights] = peftPayload();
    const base = 'https://huggingface.co/someone/twosome-micro/resolve/main/';
    const served: string[] = [];
    // The "host": CORS-enabled, with Content-Length, as Hugging Face serves files.
    await page.route(`${base}*`, (route) => {
      const url = route.request().url();
      served.push(url.slice(base.length));
      const body = url.endsWith('adapter_config.json') ? config.buffer : weights.buffer;
      return route.fulfill({
        body,
        headers: { 'access-control-allow-origin': '*', 'content-length': String(body.length) },
      });
    });
    await page.goto(`./?task=tomato-salad&seed=0&adapter=${encodeURIComponent(`${base}adapter_model.safetensors`)}`);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute(
      'data-adapter',
      'huggingface.co/adapter_model.safetensors',
      { timeout: 30_000 },
    );
    await expect(page.getByTestId('adapter-current')).toContainText('base micro');
    expect(served).toEqual(['adapter_model.safetensors', 'adapter_config.json']);
    await waitForScores(page);

    await page.goto(
      `./?task=tomato-salad&seed=0&adapter=${encodeURIComponent('http://example.com/adapter_model.safetensors')}`,
    );
    await expect(page.getByTestId('share-error')).toContainText(
      'This adapter URL cannot be used: adapter URLs must be https:// or on this site',
    );
    // Nothing changed, as the notice says: the adapter kept from the first load is in use again on this start.
    await expect(page.getByTestId('adapter-current')).toHaveAttribute(
      'data-adapter',
      'huggingface.co/adapter_model.safetensors',
    );
  });

  test('a malformed share link shows one notice and leaves the default setup', async ({ page }) => {
    await page.goto('./#share=AQAAAAAAnotavalidlink');
    await expect(page.getByTestId('share-error')).toHaveCount(1);
    await expect(page.getByTestId('share-error')).toContainText(
      /This share link cannot be used: .*\. The setup and the adapter in use are as they were\./,
    );
    await waitForTask(page, 'tomato-salad');
    await expect(page.getByTestId('seed-input')).toHaveValue('0');
    await expect(page.getByLabel('Normalization')).toHaveValue('word');
    await waitForScores(page);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
  });

  test('Save bundle downloads the adapter with the setup; loading that bundle back gives the same probabilities', async ({
    page,
  }) => {
    await page.goto('./?task=entertainment&seed=1&norm=sum');
    await waitForScores(page);
    await page.getByTestId('adapter-file').setInputFiles(peftPayload());
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'adapter_model.safetensors');
    await expect(page.getByTestId('action-prob').first()).toHaveAttribute('data-prob', /\d/);
    await waitForScores(page);
    const adapted = await probs(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-bundle').click()]);
    expect(download.suggestedFilename()).toBe('adapter_model.zip');
    const bytes = new Uint8Array(await readFile((await download.path())!));
    const bundle = decodeBundle(bytes);
    expect(bundle).toMatchObject({ modelId: 'micro', task: 'entertainment', normalization: 'sum', seed: 1 });

    await page.getByTestId('adapter-remove').click();
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    await page
      .getByTestId('adapter-file')
      .setInputFiles([{ name: 'adapter_model.zip', mimeType: 'application/zip', buffer: Buffer.from(bytes) }]);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'adapter_model.zip');
    await expect.poll(async () => JSON.stringify(await probs(page)), { timeout: 30_000 }).toBe(JSON.stringify(adapted));
  });

  test('mutated share links pasted into an open page: each gives one notice and nothing changes', async ({ page }) => {
    await page.goto('./?task=tomato-salad&seed=0');
    await waitForScores(page);
    await page.getByTestId('adapter-file').setInputFiles(peftPayload());
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'adapter_model.safetensors');
    const link = (await page.getByTestId('share-link').textContent())?.trim() ?? '';
    const hash = link.slice(link.indexOf('#'));
    // One step into the episode: a refused link must not reset it either.
    await page.getByTestId('actions').getByRole('button').first().click();
    await expect(page.getByTestId('history')).toBeVisible();
    await waitForScores(page);
    const before = await probs(page);
    const prompt = await page.getByTestId('prompt').textContent();
    const mutants = [
      `${hash.slice(0, 60)}`, // cut short
      `${hash.slice(0, 30)}${hash[30] === 'A' ? 'B' : 'A'}${hash.slice(31)}`, // one character changed
      `${hash}AAAA`, // data after the end
      '#share=%F0%9F%92%A5', // not base64url
    ];
    for (const mutant of mutants) {
      // A fragment navigation in the same document, as pasting a link into the address bar of this page does.
      await page.evaluate((h) => (window.location.hash = h), mutant);
      await expect(page.getByTestId('share-error')).toHaveCount(1);
      await expect(page.getByTestId('share-error')).toContainText(
        /^This share link cannot be used: .*\. The setup and the adapter in use are as they were\./,
      );
      await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'adapter_model.safetensors');
      await expect(page.getByTestId('task-select')).toHaveValue('tomato-salad');
      await expect(page.getByTestId('prompt')).toHaveText(prompt ?? '');
      await waitForScores(page);
      expect(await probs(page)).toEqual(before);
      await page.getByTestId('share-error').getByRole('button', { name: 'Dismiss message' }).click();
    }
  });

  test('an adapter of another shape is refused, saying which projection does not fit', async ({ page }) => {
    await page.goto('./?task=tomato-salad&seed=0');
    await waitForScores(page);
    const before = await probs(page);
    await page
      .getByTestId('adapter-file')
      .setInputFiles(peftPayload(loraAdapter({ ...MICRO, hidden: 32, headDim: 8 })));
    await expect(page.getByTestId('adapter-error')).toContainText(
      /adapter_model\.safetensors: q_proj is 32 x 32 in the adapter .* but 64 x 64 in micro/,
    );
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    expect(await probs(page)).toEqual(before);
  });
});
