/**
 * Training in the browser: the trainer runs in the playground worker (PPO-MLP on the CPU; TWOSOME on the
 * micro model through WebGPU on SwiftShader), reports every update to the Training panel's charts, saves
 * every update in IndexedDB, and a reloaded tab resumes the run where it stopped. The main thread must stay
 * responsive while training: no task longer than 200 ms (PerformanceObserver 'longtask').
 */
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import {
  choosePpoMlp,
  envSteps,
  openScored,
  openTask,
  reloadToResumeOffer,
  startTraining,
  waitForScores,
} from './playground';

declare global {
  interface Window {
    /** Pairs of (duration, start time) in ms. */
    __longTasks: number[];
  }
}

/** Records main-thread long tasks from the first script on; tests clear the list when training starts. */
async function observeLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries())
        window.__longTasks.push(Math.round(entry.duration), Math.round(entry.startTime));
    }).observe({ type: 'longtask', buffered: false });
  });
}

/** Long tasks (duration, start time) recorded since the list was last cleared, longer than `ms`. */
async function longTasksOver(page: Page, ms: number): Promise<string[]> {
  const { flat, now, start } = await page.evaluate(() => ({
    flat: window.__longTasks,
    now: Math.round(performance.now()),
    start: Math.round(performance.getEntriesByName('train-start')[0]?.startTime ?? -1),
  }));
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2)
    if (flat[i] > ms && flat[i + 1] >= start)
      out.push(`${flat[i]} ms at ${flat[i + 1]} ms (training started at ${start} ms, now ${now} ms)`);
  return out;
}

const returnPoints = async (page: Page) => Number(await page.getByTestId('return-chart').getAttribute('data-points'));

/** PPO-MLP on Food Preparation: episodes end within a rollout, so every update has a return to plot. */
async function startPpoMlp(page: Page, steps: number): Promise<void> {
  await choosePpoMlp(page, steps);
  // The expected time, before Start: this many updates at a measured rate.
  await expect(page.getByTestId('train-estimate')).toContainText(`(${steps / 512} updates of `, { timeout: 20_000 });
  await markTrainingStart(page);
  await startTraining(page);
}

/** From here on, long tasks count (ones that started before, while the page loaded, are reported late). */
async function markTrainingStart(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.__longTasks = [];
    performance.mark('train-start');
  });
}

test.describe('training', () => {
  test('PPO-MLP puts points on the return chart; Pause stops it, Resume goes on; no long main-thread tasks', async ({
    page,
  }) => {
    await observeLongTasks(page);
    await openTask(page, './?task=food-preparation&seed=0', 'food-preparation');
    // The page has settled (model loaded, first state scored) before training starts.
    await waitForScores(page);
    await startPpoMlp(page, 512 * 400);

    await expect
      .poll(() => returnPoints(page), { timeout: 30_000, message: 'points on the return chart' })
      .toBeGreaterThanOrEqual(3);
    // The chart itself draws them (uPlot's canvas), and the steps grow by whole batches.
    await expect(page.getByTestId('return-chart').locator('canvas')).toHaveCount(1);
    expect((await envSteps(page)) % 512).toBe(0);
    await expect(page.getByTestId('steps-per-second')).toHaveText(/^\d+\.\d$/);
    await expect(page.getByTestId('time-left')).not.toHaveText('–');

    await page.getByRole('button', { name: 'Pause training', exact: true }).click();
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'paused');
    const pausedAt = await envSteps(page);
    await page.waitForTimeout(1500);
    expect(await envSteps(page), 'no progress while paused').toBe(pausedAt);

    await page.getByRole('button', { name: 'Resume training', exact: true }).click();
    await expect.poll(() => envSteps(page), { timeout: 20_000 }).toBeGreaterThan(pausedAt);
    await page.waitForTimeout(1000);
    expect(await longTasksOver(page, 200)).toEqual([]);
    // The README's picture of the Training card is this one (`npm run screenshots` sets TWOSOME_SCREENSHOTS).
    const dir = process.env.TWOSOME_SCREENSHOTS;
    if (dir) await page.getByTestId('training-panel').screenshot({ path: join(dir, '..', 'training.png') });
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'stopped');
  });

  test('a reloaded tab offers to resume the run; its steps and chart continue from the stored update', async ({
    page,
  }) => {
    await openTask(page, './?task=food-preparation&seed=0', 'food-preparation');
    await startPpoMlp(page, 512 * 400);
    await expect.poll(() => envSteps(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(512 * 4);
    const before = await envSteps(page);
    const pointsBefore = await returnPoints(page);

    const offer = await reloadToResumeOffer(page, 'food-preparation');
    await expect(offer).toBeVisible();
    await expect(offer).toContainText('PPO-MLP');
    // Before Resume, the stored run is shown: its steps and its curves, not an empty chart and 'no run'.
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'stored');
    await expect.poll(() => envSteps(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(before);
    await expect.poll(() => returnPoints(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(pointsBefore);
    await offer.getByRole('button', { name: 'Resume run', exact: true }).click();
    // At once the stored steps and points (each update was saved before it was shown), then new ones.
    await expect.poll(() => envSteps(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(before);
    await expect
      .poll(() => returnPoints(page), { timeout: 10_000, message: 'the stored points are drawn again' })
      .toBeGreaterThanOrEqual(pointsBefore);
    const resumedAt = await envSteps(page);
    await expect.poll(() => envSteps(page), { timeout: 20_000 }).toBeGreaterThan(resumedAt);
    await page.getByRole('button', { name: 'Pause training', exact: true }).click();
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'paused');

    // Stored runs: listed with the storage estimate, and deletable (after a confirmation).
    await page.getByTestId('stored-runs').locator('summary').click();
    const row = page.getByTestId('stored-run');
    await expect(row).toHaveCount(1);
    await expect(page.getByTestId('stored-runs').locator('summary')).toContainText(/this site uses/);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'stopped');
    await row.getByRole('button', { name: 'Delete…' }).click();
    await row.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(page.getByTestId('stored-run')).toHaveCount(0);
  });

  test("before Start, TWOSOME's expected time is measured on the loaded model; scoring goes on", async ({ page }) => {
    await openScored(page, './?task=tomato-salad&seed=0', 'tomato-salad');
    await page.getByTestId('nav-training').click();
    await page.getByTestId('train-steps').fill('640');
    const estimate = page.getByTestId('train-estimate');
    const measured = /^Expected time: about .+ \(10 updates of [\d.]+ s, measured just now: a rollout step/;
    await expect(estimate).toContainText(measured, { timeout: 60_000 });
    await page.getByTestId('actions').getByRole('button').first().click();
    await waitForScores(page);
  });

  test('TWOSOME trains the micro model in the worker; a reload mid-run resumes it; its adapter and critic reach the agent panel', async ({
    page,
  }) => {
    // Two updates of 64 steps (about 15-40 s each on SwiftShader with two cores), one before and one after a reload.
    test.setTimeout(240_000);
    await observeLongTasks(page);
    await openScored(page, './?task=tomato-salad&seed=0', 'tomato-salad');
    await page.getByTestId('train-steps').fill('128');
    await markTrainingStart(page);
    await startTraining(page);
    await expect.poll(() => envSteps(page), { timeout: 120_000, message: 'env steps after the first update' }).toBe(64);
    await expect(page.getByTestId('train-updates')).toHaveText('1 / 2');
    expect(await longTasksOver(page, 200)).toEqual([]);

    // Reload during the second update: the first one is stored; resuming continues from it.
    const offer = await reloadToResumeOffer(page, 'tomato-salad');
    await expect(offer).toContainText('TWOSOME');
    await expect(offer).toContainText('update 1 of 2');
    await offer.getByRole('button', { name: 'Resume run', exact: true }).click();
    // At once (an update takes far longer): the stored update and its steps, not a run from 0.
    await expect(page.getByTestId('train-updates')).toHaveText('1 / 2', { timeout: 10_000 });
    expect(await envSteps(page)).toBe(64);
    await expect(page.getByTestId('train-phase')).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
    expect(await envSteps(page)).toBe(128);
    await expect(page.getByTestId('train-updates')).toHaveText('2 / 2');
    // The critic values the playground's state, and the playground scores with the trained adapter (the share
    // panel names the adapter in use).
    await expect(page.getByTestId('critic-value')).toBeVisible({ timeout: 60_000 });
    expect(Number.isFinite(Number(await page.getByTestId('critic-value').getAttribute('data-value')))).toBe(true);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute(
      'data-adapter',
      /^TWOSOME tomato-salad, update 2$/,
      { timeout: 60_000 },
    );
    await expect(page.getByTestId('train-error')).toHaveCount(0);
  });
});
