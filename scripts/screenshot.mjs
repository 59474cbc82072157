#!/usr/bin/env node
/**
 * Screenshot of the built playground (run `npx vite build` first):
 *   node scripts/screenshot.mjs [--task tomato-salad] [--actions "pick up the tomato,walk to the cutting board"]
 *                               [--out docs/screenshot.png] [--width 1280] [--height 800]
 * Serves dist/ with `vite preview` on a free port and drives Chromium headless (WebGPU and WebGL on
 * SwiftShader; Debian's /usr/bin/chromium when present, else Playwright's own browser).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { preview } from 'vite';
import { chromiumLaunchOptions } from './chromium-launch.mjs';

const { values } = parseArgs({
  options: {
    task: { type: 'string', default: 'tomato-salad' },
    seed: { type: 'string', default: '0' },
    actions: { type: 'string', default: 'pick up the tomato,put the tomato on the cutting board' },
    out: { type: 'string', default: 'docs/screenshot.png' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '800' },
  },
});

const server = await preview({ preview: { port: 0, strictPort: false, host: 'localhost' }, logLevel: 'warn' });
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('vite preview did not report a URL');
const browser = await chromium.launch(chromiumLaunchOptions());
try {
  const page = await browser.newPage({ viewport: { width: Number(values.width), height: Number(values.height) } });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${url}?task=${encodeURIComponent(values.task)}&seed=${encodeURIComponent(values.seed)}`);
  await page.getByTestId('prompt').filter({ hasText: /\S/ }).waitFor();
  for (const text of values.actions
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const before = await page.getByTestId('prompt').textContent();
    await page.getByRole('button', { name: text }).first().click();
    await page.waitForFunction(
      (prev) => document.querySelector('[data-testid="prompt"]')?.textContent !== prev,
      before,
    );
  }
  await page.locator('[data-testid="gpu-info"]:not([data-status="detecting"])').waitFor();
  // The model's probabilities for the latest state (or the reason there are none, e.g. no WebGPU).
  await page
    .locator('[data-testid="policy-status"]:not([data-state="loading"]):not([data-state="scoring"])')
    .waitFor({ timeout: 60_000 });
  await page.mouse.move(0, 0);
  await page.evaluate(() =>
    document.activeElement instanceof HTMLElement ? document.activeElement.blur() : undefined,
  );
  await page.waitForTimeout(Number(process.env.SHOT_WAIT ?? 5000)); // let the macro animation finish
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await new Promise((r) => server.httpServer.close(r));
}
