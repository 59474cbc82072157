/**
 * Faults during training in the browser (issue 19, items 8 and 9), made for real rather than mocked:
 *
 * - The GPU lost mid-update: the test calls GPUDevice.destroy() on the playground worker's own device, from
 *   inside the worker (Playwright's worker.evaluate). It finds the device by wrapping
 *   GPUDevice.prototype.createCommandEncoder, which the engine calls with every dispatch, so the app holds no
 *   hook for the test. destroy() is the one way a page can lose a device on purpose; the browser then does what
 *   it does on a driver reset: the device's `lost` promise resolves and every read-back in flight rejects.
 * - Storage full: a quota-limited origin (DevTools' Storage.overrideQuotaForOrigin), set to what the site uses
 *   at that moment. IndexedDB then refuses the next update's transaction with the browser's own
 *   QuotaExceededError, through the browser's own quota check, as for a disk that filled up (an injected error
 *   would skip both). navigator.storage.estimate() does not report the override (Chromium 156 still gives its
 *   usual quota), so the message says the site uses far less than its quota: the disk itself is full, which is
 *   what that combination means outside a test too. The wording for a site at its quota is a unit test's
 *   (src/worker/trainer-host.test.ts).
 */
import type { Page, Worker } from '@playwright/test';
import { expect, test, waitForTask } from './fixtures';
import {
  choosePpoMlp,
  envSteps,
  openScored,
  openTask,
  playgroundWorker,
  reloadToResumeOffer,
  startTraining,
} from './playground';

declare global {
  var __e2eDevices: Set<GPUDevice> | undefined;
}

const phase = (page: Page) => page.getByTestId('train-phase');

/** What the browser stored of the run: its record, its metrics and its checkpoint's update. */
async function storedRun(
  page: Page,
): Promise<{ updates: number; status: string; metrics: number; checkpoint: number }> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('twosome-web-runs');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction(['runs', 'metrics', 'checkpoints'], 'readonly');
          const runs = tx.objectStore('runs').getAll();
          const metrics = tx.objectStore('metrics').count();
          const checkpoints = tx.objectStore('checkpoints').getAll();
          tx.oncomplete = () => {
            db.close();
            // Before the run is stored (a poll right after Start): no updates yet.
            const [run] = runs.result as ({ updates: number; status: string } | undefined)[];
            const [saved] = checkpoints.result as { checkpoint: { state: { update: number } } }[];
            resolve({
              updates: run?.updates ?? 0,
              status: run?.status ?? 'not stored',
              metrics: metrics.result,
              checkpoint: saved?.checkpoint.state.update ?? 0,
            });
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
}

/** The playground worker, with every GPU device it uses recorded (see the top of this file). */
async function watchWorkerDevices(page: Page): Promise<Worker> {
  const worker = await playgroundWorker(page);
  await worker.evaluate(() => {
    const devices = new Set<GPUDevice>();
    globalThis.__e2eDevices = devices;
    const create = GPUDevice.prototype.createCommandEncoder;
    GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, ...args) {
      devices.add(this);
      return create.apply(this, args);
    };
  });
  return worker;
}

/** Destroys the worker's devices in use; returns how many. */
async function loseGpu(worker: Worker): Promise<number> {
  return worker.evaluate(() => {
    const devices = [...(globalThis.__e2eDevices ?? [])];
    for (const device of devices) device.destroy();
    globalThis.__e2eDevices?.clear();
    return devices.length;
  });
}

/** Opens Food Preparation and starts PPO-MLP on it for 400 updates: a run that goes on until a fault or Stop. */
async function startLongPpoMlpRun(page: Page): Promise<void> {
  await openTask(page, './?task=food-preparation&seed=0', 'food-preparation');
  await choosePpoMlp(page, 512 * 400);
  await startTraining(page);
}

test.describe('faults during training', () => {
  test('GPU lost mid-update: training says so; Resume starts a new device; after a reload the run is offered', async ({
    page,
  }) => {
    // Three TWOSOME updates of 64 steps on SwiftShader (15-40 s each) and two lost ones.
    test.setTimeout(480_000);
    await openScored(page, './?task=tomato-salad&seed=0', 'tomato-salad');
    const worker = await watchWorkerDevices(page);
    await page.getByTestId('train-steps').fill('192');
    await startTraining(page);
    await expect.poll(() => envSteps(page), { timeout: 150_000, message: 'the first update' }).toBe(64);

    expect(await loseGpu(worker)).toBeGreaterThan(0);
    const error = page.getByTestId('train-error');
    await expect(error).toContainText(
      'the GPU was lost during update 2 (Device was destroyed), so training stopped and the run is kept at update 1. ' +
        'Resume training starts the GPU again and continues from the last saved update',
      { timeout: 150_000 },
    );
    await expect(error).not.toContainText('mapAsync');
    await expect(phase(page)).toHaveAttribute('data-phase', 'error');
    await expect(page.getByTestId('train-updates')).toHaveText('1 / 3');
    expect(await storedRun(page)).toEqual({ updates: 1, status: 'error', metrics: 1, checkpoint: 1 });

    // Resume in the same page: the model is loaded again on a new device, and update 2 is made there.
    await page.getByRole('button', { name: 'Resume training', exact: true }).click();
    await expect(page.getByTestId('train-updates')).toHaveText('2 / 3', { timeout: 150_000 });
    await expect(error).toHaveCount(0);
    expect(await envSteps(page)).toBe(128);

    // Lost again during update 3; after a reload the failed run is offered, and finishes.
    expect(await loseGpu(worker)).toBeGreaterThan(0);
    await expect(error).toContainText('the GPU was lost during update 3', { timeout: 150_000 });
    expect(await storedRun(page)).toEqual({ updates: 2, status: 'error', metrics: 2, checkpoint: 2 });
    const offer = await reloadToResumeOffer(page, 'tomato-salad');
    await expect(offer).toContainText('update 2 of 3');
    await expect(offer).toContainText('it stopped because the GPU was lost during update 3');
    await offer.getByRole('button', { name: 'Resume run', exact: true }).click();
    await expect(phase(page)).toHaveAttribute('data-phase', 'done', { timeout: 150_000 });
    await expect(page.getByTestId('train-updates')).toHaveText('3 / 3');
    expect(await storedRun(page)).toEqual({ updates: 3, status: 'done', metrics: 3, checkpoint: 3 });
  });

  test('storage full: the message names the quota and its numbers, the store agrees, Resume saves it', async ({
    page,
  }) => {
    await startLongPpoMlpRun(page);
    await expect.poll(() => envSteps(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(512 * 2);

    // The disk is full from here on: the quota is what the site uses now.
    const cdp = await page.context().newCDPSession(page);
    const origin = new URL(page.url()).origin;
    const { usage } = await page.evaluate(() => navigator.storage.estimate());
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage });
    const error = page.getByTestId('train-error');
    const full = new RegExp(
      "update (\\d+) was not saved: this site's storage is full \\(QuotaExceededError: refused although the site " +
        'uses .+B of the .+B the browser estimates it may use, so the disk itself is probably full\\)',
    );
    await expect(error).toContainText(full, {
      timeout: 30_000,
    });
    const text = (await error.textContent()) ?? '';
    const failed = Number(/update (\d+) was not saved/.exec(text)![1]);
    expect(text).toContain(`Training stopped and the stored run stays at update ${failed - 1}`);
    await expect(phase(page)).toHaveAttribute('data-phase', 'error');
    // The page and the store say the same: the updates saved, with their metrics and checkpoint.
    await expect(page.getByTestId('train-updates')).toHaveText(new RegExp(`^${failed - 1} / `));
    const stored = await storedRun(page);
    expect({ ...stored, status: undefined }).toEqual({
      updates: failed - 1,
      status: undefined,
      metrics: failed - 1,
      checkpoint: failed - 1,
    });

    // Space again: Resume saves the update that was not saved, then goes on.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.getByRole('button', { name: 'Resume training', exact: true }).click();
    await expect(error).toHaveCount(0);
    await expect.poll(async () => (await storedRun(page)).updates, { timeout: 30_000 }).toBeGreaterThan(failed);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect(phase(page)).toHaveAttribute('data-phase', 'stopped');
    const after = await storedRun(page);
    expect([after.metrics, after.checkpoint]).toEqual([after.updates, after.updates]);
  });
  test('the playground worker dies mid-run: training says so; Resume starts a new worker, continues the run', async ({
    page,
  }) => {
    await startLongPpoMlpRun(page);
    await expect.poll(async () => (await storedRun(page)).updates, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);

    // An uncaught error in the worker: the page's Worker gets its error event, as for a worker that crashed.
    const worker = await playgroundWorker(page);
    await worker.evaluate(() => {
      setTimeout(() => {
        throw new Error('simulated crash');
      });
    });
    const error = page.getByTestId('train-error');
    await expect(error).toContainText(
      'Training stopped: the playground worker stopped: Uncaught Error: simulated crash; reload the page to start it ' +
        'again. Or resume training: it starts a new worker and continues from the last saved update.',
    );
    await expect(phase(page)).toHaveAttribute('data-phase', 'error');
    const before = (await storedRun(page)).updates;

    await page.getByRole('button', { name: 'Resume training', exact: true }).click();
    await expect(error).toHaveCount(0);
    await expect.poll(async () => (await storedRun(page)).updates, { timeout: 30_000 }).toBeGreaterThan(before + 1);
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect(phase(page)).toHaveAttribute('data-phase', 'stopped');
    const after = await storedRun(page);
    expect([after.status, after.metrics, after.checkpoint]).toEqual(['stopped', after.updates, after.updates]);
    // The playground runs in the new worker too: its episode is open again.
    await waitForTask(page, 'food-preparation');
  });
});
