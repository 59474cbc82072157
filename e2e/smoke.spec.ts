import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INITIAL_PROMPTS, TOMATO_AFTER_PICK_UP, drawnCanvasStats, expect, test } from './fixtures';
import { openTask, waitForScores } from './playground';

test.describe('playground', () => {
  test('loads without console errors and finds a WebGPU adapter', async ({ page }) => {
    const warnings: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'warning') warnings.push(msg.text());
    });
    await page.goto('./');
    await expect(page).toHaveTitle(/twosome-web/);
    await expect(page.getByRole('heading', { name: 'twosome-web' })).toBeVisible();
    // The subtitle too, at the tests' 1280x800, inside the header's one row.
    await expect(page.getByTestId('brand-tagline')).toBeVisible();
    await expect(page.getByTestId('brand-tagline')).toBeInViewport({ ratio: 1 });
    const header = await page.locator('header').boundingBox();
    const badge = await page.locator('.gpu-badge').boundingBox();
    expect(badge && header && badge.y + badge.height <= header.y + 64, 'the WebGPU badge on the header row').toBe(true);
    await expect(page.getByLabel('Task')).toHaveValue('tomato-salad');
    await expect(page.getByTestId('prompt')).toHaveText(INITIAL_PROMPTS['tomato-salad']);
    const gpu = page.getByTestId('gpu-info');
    await expect(gpu).toHaveAttribute('data-status', 'ready');
    await expect(page.getByTestId('gpu-vendor')).not.toHaveText('–');
    await expect(page.getByTestId('gpu-max-storage')).toHaveText(/\d+(\.\d)? (MiB|GiB)/);
    await expect(page.getByTestId('webgpu-missing')).toHaveCount(0);
    // The URL now names the setup, so the link reopens it.
    await expect(page).toHaveURL(/\?task=tomato-salad&seed=0&model=micro&norm=word$/);
    // Three.js's deprecation of THREE.Clock (which @react-three/fiber 9 constructs) is not printed on load.
    await expect(page.getByTestId('scene').locator('canvas')).toHaveCount(1);
    expect(warnings.filter((w) => w.includes('THREE.Clock'))).toEqual([]);
  });

  test('the section bar reaches every card from the first screen; the scene and the actions start in view', async ({
    page,
  }) => {
    await openTask(page, './?task=tomato-salad&seed=0', 'tomato-salad');
    await expect(page.getByTestId('scene')).toBeInViewport();
    await expect(page.getByTestId('actions')).toBeInViewport();
    const cards = { training: 'training-panel', webgpu: 'gpu-info', adapter: 'share-panel', agent: 'prompt' } as const;
    await expect(page.getByTestId('training-panel')).not.toBeInViewport({ ratio: 0.2 }); // below the fold
    for (const [section, card] of Object.entries(cards)) {
      await page.getByTestId(`nav-${section}`).click();
      await expect(page.getByTestId(card)).toBeInViewport({ ratio: 0.2 });
    }
  });

  const SCENE_TASKS = [
    'tomato-salad',
    'tomato-lettuce-salad',
    'food-preparation',
    'entertainment',
    'washing-plate',
  ] as const;
  for (const taskId of SCENE_TASKS) {
    test(`draws a non-blank scene for ${taskId}`, async ({ page }, testInfo) => {
      await openTask(page, `./?task=${taskId}`, taskId);
      await expect(page.getByLabel('Task')).toHaveValue(taskId);
      await expect(page.getByTestId('actions').getByRole('button').first()).toBeVisible();
      if (taskId in INITIAL_PROMPTS)
        await expect(page.getByTestId('prompt')).toHaveText(INITIAL_PROMPTS[taskId as keyof typeof INITIAL_PROMPTS]);
      const stats = await drawnCanvasStats(page);
      expect(stats.width).toBeGreaterThan(100);
      expect(stats.distinct, `distinct colours in the ${taskId} canvas`).toBeGreaterThanOrEqual(12);
      expect(stats.dominantShare, `share of the most common colour in the ${taskId} canvas`).toBeLessThan(0.8);
      // The README's scene pictures are these: `npm run screenshots` sets TWOSOME_SCREENSHOTS=docs/scenes.
      const dir = process.env.TWOSOME_SCREENSHOTS;
      await page
        .getByTestId('scene')
        .screenshot({ path: dir ? join(dir, `${taskId}.png`) : testInfo.outputPath(`${taskId}.png`) });
    });
  }

  test('clicking an action steps the environment; keys 1-9 and r work', async ({ page }) => {
    await page.goto('./?task=tomato-salad&seed=0');
    const prompt = page.getByTestId('prompt');
    await expect(prompt).toHaveText(INITIAL_PROMPTS['tomato-salad']);
    await expect(page.getByTestId('steps')).toHaveText('0');

    await page.getByRole('button', { name: /^pick up the tomato/ }).click();
    await expect(prompt).toHaveText(TOMATO_AFTER_PICK_UP);
    await expect(page.getByTestId('steps')).toHaveText('1');
    await expect(page.getByTestId('primitive-steps')).toHaveText(/^[1-9]\d* \/ 200$/);
    await expect(page.getByTestId('last-reward')).toHaveText(/^-0\.00\d\d$/);
    await expect(page.getByTestId('history')).toContainText('pick up the tomato');
    // The offered texts follow the state: with the tomato in hand, action 3 puts it on the board.
    await expect(page.getByRole('button', { name: /^put the tomato on the cutting board/ })).toBeVisible();

    await page.keyboard.press('r');
    await expect(prompt).toHaveText(INITIAL_PROMPTS['tomato-salad']);
    await expect(page.getByTestId('steps')).toHaveText('0');

    await page.keyboard.press('1');
    await expect(prompt).toHaveText(TOMATO_AFTER_PICK_UP);

    await page.getByRole('button', { name: 'Reset' }).click();
    await expect(prompt).toHaveText(INITIAL_PROMPTS['tomato-salad']);
  });

  test('an Entertainment episode runs to success and ends', async ({ page }) => {
    await openTask(page, './?task=entertainment', 'entertainment');
    const plan = [
      'walk to the chips',
      'grab the chips',
      'walk to the milk',
      'grab the milk',
      'walk to the living room',
      'walk to the coffee table',
      'put the chips on the coffee table',
      'walk to the TV',
      'turn on the TV',
      'walk to the sofa',
      'sit on the sofa',
    ];
    for (const [i, text] of plan.entries()) {
      await page.getByRole('button', { name: new RegExp(`^${text}`) }).click();
      await expect(page.getByTestId('steps')).toHaveText(`${i + 1} / 50`);
    }
    const status = page.getByTestId('episode-status');
    await expect(status).toHaveAttribute('data-success', 'true');
    await expect(status).toHaveAttribute('data-done', 'true');
    await expect(page.getByTestId('last-reward')).toHaveText('+1.0000');
    await expect(page.getByTestId('episode-return')).toHaveText('+0.5987'); // 0.95^10
    await expect(page.getByTestId('actions').getByRole('button').first()).toBeDisabled();
    const stats = await drawnCanvasStats(page);
    expect(stats.distinct).toBeGreaterThanOrEqual(12);
  });

  test('without WebGPU the page says what to do and the environment still works', async ({ page }) => {
    await page.addInitScript(() => {
      delete (Navigator.prototype as { gpu?: unknown }).gpu;
    });
    await page.goto('./');
    const missing = page.getByTestId('webgpu-missing');
    await expect(missing).toBeVisible();
    await expect(missing).toContainText('Chrome');
    await expect(missing).toContainText('enable-unsafe-webgpu');
    await expect(missing).toContainText('localhost');
    await expect(page.getByTestId('gpu-info')).toHaveAttribute('data-status', 'missing');
    // No model runs: the panel says why, the agent's buttons are off, stepping by hand works.
    const status = page.getByTestId('policy-status');
    await expect(status).toHaveAttribute('data-state', 'unavailable');
    await expect(status).toContainText('Probabilities need WebGPU');
    await expect(page.getByRole('button', { name: 'Step', exact: true })).toBeDisabled();
    await expect(page.getByTestId('action-prob').first()).toHaveText('–');
    await page.getByRole('button', { name: /^pick up the tomato/ }).click();
    await expect(page.getByTestId('prompt')).toHaveText(TOMATO_AFTER_PICK_UP);
    await expect(status).toHaveAttribute('data-state', 'unavailable');
  });
});

test.describe('deployment under a sub-path', () => {
  const DIST = fileURLToPath(new URL('../dist/', import.meta.url)).replace(/\/$/, '');
  const BASE = '/sub/path/';
  const TYPES: Record<string, string> = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json',
    '.map': 'application/json',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.wasm': 'application/wasm',
    '.wgsl': 'text/plain; charset=utf-8',
    '.bin': 'application/octet-stream',
  };
  let server: Server;
  let origin = '';

  test.beforeAll(async () => {
    expect(existsSync(join(DIST, 'index.html')), 'dist/ is built (run `npx vite build` first)').toBe(true);
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      if (!path.startsWith(BASE)) {
        res.writeHead(404).end('not under the sub-path');
        return;
      }
      let file = normalize(join(DIST, path.slice(BASE.length)));
      if (!file.startsWith(DIST)) {
        res.writeHead(403).end();
        return;
      }
      if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
      if (!existsSync(file)) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, 'localhost', r));
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  });

  test.afterAll(async () => {
    await new Promise((r) => server?.close(r));
  });

  test('the built site carries its Content-Security-Policy and works under it', async ({ page, consoleErrors }) => {
    const violations: string[] = [];
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      const page = window as unknown as { reportViolation(v: string): void };
      const report = (e: SecurityPolicyViolationEvent) =>
        page.reportViolation(`${e.violatedDirective} ${e.blockedURI}`);
      document.addEventListener('securitypolicyviolation', report);
    });
    await page.goto(`${origin}${BASE}?task=tomato-salad`);
    const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(policy).toContain("worker-src 'self'");
    expect(policy).toContain("connect-src 'self' https:");
    // The policy is enforced on the page: an inline script and a script from another origin are refused.
    const ran = await page.evaluate(async () => {
      const inline = document.createElement('script');
      inline.textContent = 'window.__inlineRan = true';
      document.head.append(inline);
      const foreign = document.createElement('script');
      foreign.src = 'https://example.invalid/x.js';
      document.head.append(foreign);
      await new Promise((r) => setTimeout(r, 100));
      return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
    });
    expect(ran).toBe(false);
    await expect.poll(() => violations.filter((v) => v.startsWith('script-src')).length).toBe(2);
    // Those two refusals are the console errors expected here.
    for (let i = consoleErrors.length - 1; i >= 0; i--) {
      if (/Content Security Policy/.test(consoleErrors[i])) consoleErrors.splice(i, 1);
    }
    violations.length = 0;
    // The model worker started, tokenized the prompt (WebAssembly) and scored it on WebGPU under the policy.
    await waitForScores(page);
    expect(violations).toEqual([]);
  });

  test('the built site loads its assets and worker with relative URLs', async ({ page }) => {
    const outside: string[] = [];
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.origin === origin && !url.pathname.startsWith(BASE)) outside.push(url.pathname);
    });
    await page.goto(`${origin}${BASE}?task=tomato-salad`);
    await expect(page.getByTestId('prompt')).toHaveText(INITIAL_PROMPTS['tomato-salad']);
    await page.getByRole('button', { name: /^pick up the tomato/ }).click();
    await expect(page.getByTestId('prompt')).toHaveText(TOMATO_AFTER_PICK_UP);
    await expect(page.getByTestId('gpu-info')).toHaveAttribute('data-status', 'ready');
    // The worker found the built-in model under the sub-path too.
    await waitForScores(page);
    const stats = await drawnCanvasStats(page);
    expect(stats.distinct).toBeGreaterThanOrEqual(12);
    expect(outside, 'requests outside the sub-path').toEqual([]);
  });
});
