/**
 * Page steps the end-to-end specs share: opening a setup, waiting for its scores, the adapter files a person
 * picks, and starting, resuming and watching a training run.
 */
import type { Locator, Page, Worker } from '@playwright/test';
import type { LoraAdapter } from '../src/llm/train/lora';
import { encodePeftAdapter } from '../src/share';
import { MICRO, trainedAdapter } from '../src/share/testing';
import { expect, waitForTask } from './fixtures';

/** Opens the playground at `url` and waits until it shows an episode of `taskId`. */
export async function openTask(page: Page, url: string, taskId: string): Promise<void> {
  await page.goto(url);
  await waitForTask(page, taskId);
}

/** Waits until the latest state's probabilities are shown (the model is loaded and has scored it). */
export async function waitForScores(page: Page, timeout = 30_000): Promise<void> {
  await expect(page.getByTestId('policy-status')).toHaveAttribute('data-state', 'ready', { timeout });
}

/** Opens the playground at `url` and waits until its first state of `taskId` is scored. */
export async function openScored(page: Page, url: string, taskId: string): Promise<void> {
  await openTask(page, url, taskId);
  await waitForScores(page);
}

/** The shown actions' exact probabilities (their data-prob attributes), in order. */
export async function probAttributes(page: Page): Promise<string[]> {
  return page.getByTestId('action-prob').evaluateAll((els) => els.map((e) => e.getAttribute('data-prob') ?? ''));
}

/** The specs' nonzero LoRA adapter: r 8, alpha 16 on q_proj and v_proj of `shape`, trained a little (`seed`). */
export const loraAdapter = (shape = MICRO, seed = 7) =>
  trainedAdapter(shape, { r: 8, alpha: 16, dropout: 0, targets: ['q_proj', 'v_proj'] }, seed, 0.5);

/** `adapter` as the adapter_config.json + adapter_model.safetensors a person picks (for micro), as Playwright files. */
export function peftPayload(adapter: LoraAdapter = loraAdapter()) {
  const { config, weights } = encodePeftAdapter(adapter, { baseModel: 'micro' });
  return [
    { name: 'adapter_config.json', mimeType: 'application/json', buffer: Buffer.from(config) },
    { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(weights) },
  ];
}

/** The environment steps the Training card reports. */
export const envSteps = async (page: Page) => Number(await page.getByTestId('env-steps').textContent());

/** Sets the Training card to PPO-MLP on Food Preparation for `steps` environment steps (not started yet). */
export async function choosePpoMlp(page: Page, steps: number): Promise<void> {
  await page.getByTestId('train-algo').selectOption('ppo-mlp');
  await page.getByTestId('train-task').selectOption('food-preparation');
  await page.getByTestId('train-steps').fill(String(steps));
}

/** Presses the Training card's Start training. */
export async function startTraining(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Start training', exact: true }).click();
}

/** Reloads the page mid-run; once the episode of `taskId` is open again, returns the offer to resume the run. */
export async function reloadToResumeOffer(page: Page, taskId: string): Promise<Locator> {
  await page.reload();
  await waitForTask(page, taskId);
  return page.getByTestId('resume-offer');
}

/** The playground's worker (env.worker), once the page has started it. */
export async function playgroundWorker(page: Page): Promise<Worker> {
  await expect.poll(() => page.workers().some((w) => w.url().includes('env.worker'))).toBe(true);
  return page.workers().find((w) => w.url().includes('env.worker'))!;
}
