/**
 * Shared helpers for the end-to-end tests: a `page` that fails the test on any console error or uncaught
 * exception, and a pixel check for the WebGL canvas.
 */
import { test as base, expect, type Page } from '@playwright/test';

export const INITIAL_PROMPTS = {
  'tomato-salad':
    "There is a fixed cutting board in the room. You notice a tomato on the table. Currently you don't have anything in hand. To serve the dish of a bowl only containing chopped tomato, you should first",
  'tomato-lettuce-salad':
    "There are two fixed cutting boards in the room. You notice a tomato, a lettuce and an onion on the different tables. Currently you don't have anything in hand. To serve the dish of a bowl only containing chopped tomato and lettuce, you should first",
} as const;

export const TOMATO_AFTER_PICK_UP =
  'There is a fixed cutting board in the room. Currently you are carrying an unchopped tomato in hand. To serve the dish of a bowl only containing chopped tomato, you should first';

export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
      });
      page.on('pageerror', (error) =>
        errors.push(`uncaught: ${error.message}${process.env.E2E_STACKS ? error.stack : ''}`),
      );
      await use(errors);
      expect(errors, 'console errors and uncaught exceptions').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Waits until the playground shows an episode of `taskId` (prompt present, scene switched). */
export async function waitForTask(page: Page, taskId: string): Promise<void> {
  await expect(page.getByTestId('scene')).toHaveAttribute('data-task', taskId);
  await expect(page.getByTestId('prompt')).not.toBeEmpty();
}

/**
 * Samples the scene canvas (WebGL, preserveDrawingBuffer) on a grid and returns the number of distinct
 * colours (quantized to 4 bits per channel) and the share of the most common one.
 */
export async function canvasColourStats(
  page: Page,
): Promise<{ distinct: number; dominantShare: number; width: number; height: number }> {
  // Two animation frames, so the latest render description has been drawn.
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="scene"] canvas');
    if (!canvas || canvas.width === 0 || canvas.height === 0)
      return { distinct: 0, dominantShare: 1, width: 0, height: 0 };
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d', { willReadFrequently: true });
    if (!ctx) return { distinct: 0, dominantShare: 1, width: canvas.width, height: canvas.height };
    ctx.drawImage(canvas, 0, 0);
    const { data } = ctx.getImageData(0, 0, copy.width, copy.height);
    const counts = new Map<number, number>();
    const step = 6;
    let total = 0;
    for (let y = 0; y < copy.height; y += step) {
      for (let x = 0; x < copy.width; x += step) {
        const i = (y * copy.width + x) * 4;
        const key = ((data[i] >> 4) << 8) | ((data[i + 1] >> 4) << 4) | (data[i + 2] >> 4);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        total++;
      }
    }
    const dominant = Math.max(...counts.values());
    return { distinct: counts.size, dominantShare: dominant / total, width: canvas.width, height: canvas.height };
  });
}

/**
 * canvasColourStats once the scene has been drawn: frames are drawn on demand, and on SwiftShader a first
 * frame can take a while when the worker is compiling the model's pipelines on the same two cores.
 */
export async function drawnCanvasStats(
  page: Page,
  minDistinct = 12,
  timeout = 15_000,
): ReturnType<typeof canvasColourStats> {
  let stats = await canvasColourStats(page);
  await expect
    .poll(
      async () => {
        stats = await canvasColourStats(page);
        return stats.distinct;
      },
      { timeout, message: 'distinct colours in the scene canvas' },
    )
    .toBeGreaterThanOrEqual(minDistinct);
  return stats;
}
