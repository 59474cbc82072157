/**
 * A share link made for a catalog model this browser has not downloaded (issue 19, item 12): the page asks
 * before it switches model, task and seed, and never shows the link's adapter as in use on another model, even
 * when the adapter's shapes would fit the loaded one (here they do: it is made with the micro model's shapes).
 * Saying yes downloads the model (the catalog's Hugging Face URL, answered by the test with the micro model's
 * files through page.route: no network here), loads it and applies the link on it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { encodeShareLink } from '../src/share';
import { adapterWeightsOf } from '../src/share/adapter';
import { MICRO, trainedAdapter } from '../src/share/testing';
import { expect, test, waitForTask } from './fixtures';

const SMOL = 'SmolLM2-135M-Instruct-q0f32-MLC';
const SMOL_BASE = `https://huggingface.co/mlc-ai/${SMOL}/resolve/main/`;
const MICRO_DIR = join(process.cwd(), 'public/models/micro');

const adapter = trainedAdapter(MICRO, { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'] }, 11, 0.5);
const LINK = encodeShareLink({
  modelId: SMOL,
  task: 'food-preparation',
  normalization: 'token',
  seed: 5,
  weights: adapterWeightsOf(adapter),
}).fragment;

/** Serves the micro model's files as the catalog model's; returns the names asked for. */
async function serveSmol(page: Page): Promise<string[]> {
  const asked: string[] = [];
  await page.route(`${SMOL_BASE}*`, async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop() ?? '';
    asked.push(name);
    const headers = { 'access-control-allow-origin': '*' };
    try {
      if (name === 'README.md') return await route.fulfill({ status: 404, headers, body: 'not found' });
      await route.fulfill({ status: 200, headers, body: readFileSync(join(MICRO_DIR, name)) });
    } catch {
      await route.fulfill({ status: 404, headers, body: 'not found' }).catch(() => {});
    }
  });
  return asked;
}

async function expectDefaultSetup(page: Page): Promise<void> {
  await waitForTask(page, 'tomato-salad');
  await expect(page.getByTestId('seed-input')).toHaveValue('0');
  await expect(page.getByTestId('model-select')).toHaveValue('micro');
  await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
  await expect(page.getByTestId('policy-status')).toContainText('micro');
  await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
}

test('a link for a model not downloaded asks first; Keep changes nothing, Download and open applies it there', async ({
  page,
}) => {
  const asked = await serveSmol(page);
  await page.goto(`./${LINK}`);
  const ask = page.getByTestId('share-confirm');
  await expect(ask).toContainText(`${SMOL} is not downloaded in this browser (`);
  await expect(ask).toContainText('(food-preparation, seed 5)');
  await expectDefaultSetup(page);
  await expect(page.getByTestId('share-error')).toHaveCount(0);

  await ask.getByTestId('share-confirm-keep').click();
  await expect(ask).toHaveCount(0);
  await expectDefaultSetup(page);
  expect(asked).toEqual([]);

  // The link is still in the address: a reload asks again; this time the answer is yes.
  await page.reload();
  await expect(ask).toBeVisible();
  await ask.getByTestId('share-confirm-download').click();
  await waitForTask(page, 'food-preparation');
  await expect(page.getByTestId('model-select')).toHaveValue(SMOL, { timeout: 60_000 });
  await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('policy-status')).toContainText(SMOL);
  await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', 'shared link (f32)');
  await expect(page.getByTestId('seed-input')).toHaveValue('5');
  await expect(page.getByTestId('share-error')).toHaveCount(0);
  expect(asked).toContain('params_shard_0.bin');
});
