/**
 * The agent in the browser: the built-in micro model runs in the worker on WebGPU (SwiftShader here) and
 * scores every offered action; Step samples from the policy, Greedy step takes its argmax; the timeline
 * scrubs back. Expected prompts come from the same environments run here in Node.
 */
import type { Page } from '@playwright/test';
import { createEnv } from '../src/envs/registry';
import type { TaskId } from '../src/envs/types';
import { INITIAL_PROMPTS, expect, test } from './fixtures';
import { openScored, openTask, probAttributes, waitForScores } from './playground';

/** The shown percentages (parsed), the exact probabilities and the action texts, in order. */
async function shownPolicy(page: Page): Promise<{ percents: number[]; probs: number[]; texts: string[] }> {
  const cells = page.getByTestId('action-prob');
  const percents = (await cells.allTextContents()).map((t) => {
    const m = /^(\d+(?:\.\d)?)%$/.exec(t.trim());
    if (!m) throw new Error(`not a percentage: "${t}"`);
    return Number(m[1]);
  });
  const probs = (await probAttributes(page)).map(Number);
  const texts = await page.getByTestId('actions').locator('.action-text').allTextContents();
  return { percents, probs, texts };
}

/** The prompt the environment gives after `actions` (indices) from a reset with `seed`. */
function promptAfter(taskId: TaskId, seed: number, actions: number[]): string {
  const env = createEnv(taskId);
  env.reset(seed);
  for (const a of actions) env.step(a);
  return env.observe().prompt;
}

/** The scoring time the panel reports, in ms. */
async function scoringMs(page: Page): Promise<number> {
  const text = (await page.getByTestId('policy-status').textContent()) ?? '';
  const m = /scored in (\d+) ms/.exec(text);
  if (!m) throw new Error(`no scoring time in "${text}"`);
  return Number(m[1]);
}

const stepButton = (page: Page) => page.getByRole('button', { name: 'Step', exact: true });
const greedyButton = (page: Page) => page.getByRole('button', { name: 'Greedy step', exact: true });

test.describe('agent', () => {
  test('every action shows its probability; they sum to 100% and follow the Normalization select', async ({ page }) => {
    await openScored(page, './?task=tomato-salad&seed=0', 'tomato-salad');
    await expect(page.getByLabel('Model')).toHaveValue('micro');
    await expect(page.getByLabel('Normalization')).toHaveValue('word');

    const word = await shownPolicy(page);
    const env = createEnv('tomato-salad');
    env.reset(0);
    expect(word.texts).toEqual(env.observe().actions);
    expect(word.percents).toHaveLength(word.texts.length);
    expect(Math.abs(word.percents.reduce((a, b) => a + b, 0) - 100)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(word.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    // Each button is named by its action text first, and shows its token and word counts.
    for (const text of word.texts) {
      const button = page.getByRole('button', { name: new RegExp(`^${text}`) });
      await expect(button.getByTestId('action-prob')).toHaveText(/^\d+\.\d%$/);
      await expect(button).toContainText(/\d+ tokens? · \d+ words?/);
    }

    await page.getByLabel('Normalization').selectOption('sum');
    await expect(page).toHaveURL(/[?&]norm=sum(&|$)/);
    const sum = await shownPolicy(page);
    expect(sum.texts).toEqual(word.texts);
    expect(sum.percents).not.toEqual(word.percents);
    expect(Math.abs(sum.percents.reduce((a, b) => a + b, 0) - 100)).toBeLessThanOrEqual(0.5);

    await page.getByLabel('Normalization').selectOption('token');
    const token = await shownPolicy(page);
    expect(token.percents).not.toEqual(sum.percents);
    expect(Math.abs(token.percents.reduce((a, b) => a + b, 0) - 100)).toBeLessThanOrEqual(0.5);

    const ms = await scoringMs(page);
    test.info().annotations.push({ type: 'scoring time (SwiftShader)', description: `${ms} ms per step` });
    console.log(`scoring one step on SwiftShader: ${ms} ms`);
  });

  test('Greedy step takes the most probable action and Step samples one; the next prompt is shown', async ({
    page,
  }) => {
    await openScored(page, './?task=tomato-salad&seed=0', 'tomato-salad');

    const before = await shownPolicy(page);
    const best = before.probs.indexOf(Math.max(...before.probs));
    await greedyButton(page).click();
    await expect(page.getByTestId('steps')).toHaveText('1');
    await expect(page.getByTestId('prompt')).toHaveText(promptAfter('tomato-salad', 0, [best]));
    const first = page.getByTestId('history').locator('li').first();
    await expect(first).toHaveAttribute('data-by', 'greedy');
    await expect(first).toContainText(before.texts[best]);

    await waitForScores(page);
    const offered = (await shownPolicy(page)).texts;
    await stepButton(page).click();
    await expect(page.getByTestId('steps')).toHaveText('2');
    const second = page.getByTestId('history').locator('li').first();
    await expect(second).toHaveAttribute('data-by', 'sample');
    const text = (await second.locator('.history-text').textContent()) ?? '';
    const index = offered.indexOf(text);
    expect(index, `"${text}" was offered`).toBeGreaterThanOrEqual(0);
    await expect(page.getByTestId('prompt')).toHaveText(promptAfter('tomato-salad', 0, [best, index]));
  });

  test('the timeline scrubs back to step 0 (read-only); stepping goes on from the latest state', async ({ page }) => {
    await openTask(page, './?task=entertainment&seed=0', 'entertainment');
    const prompt0 = await page.getByTestId('prompt').textContent();
    await page.getByRole('button', { name: /^walk to the chips/ }).click();
    await expect(page.getByTestId('steps')).toHaveText('1 / 50');
    await page.getByRole('button', { name: /^grab the chips/ }).click();
    await expect(page.getByTestId('steps')).toHaveText('2 / 50');
    const prompt2 = await page.getByTestId('prompt').textContent();
    expect(prompt2).not.toBe(prompt0);

    const slider = page.getByRole('slider', { name: 'Timeline' });
    await slider.focus();
    await page.keyboard.press('Home');
    await expect(page.getByTestId('prompt')).toHaveText(prompt0 ?? '');
    await expect(page.getByTestId('timeline-pos')).toHaveText('step 0 / 2');
    await expect(page.getByTestId('steps')).toHaveText('0 / 50');
    await expect(page.getByTestId('actions').getByRole('button').first()).toBeDisabled();
    // The action taken from step 0 is marked.
    await expect(page.getByRole('button', { name: /^walk to the chips/ })).toHaveClass(/action--taken/);
    await page.keyboard.press('ArrowRight');
    await expect(page.getByTestId('timeline-pos')).toHaveText('step 1 / 2');
    await expect(page.getByTestId('prompt')).toHaveText(
      promptAfter('entertainment', 0, [indexOf('entertainment', 0, [], 'walk to the chips')]),
    );

    // Stepping continues from the latest state (step 2), not from the one shown.
    await page.getByRole('button', { name: 'Latest' }).click();
    await expect(page.getByTestId('prompt')).toHaveText(prompt2 ?? '');
    await waitForScores(page);
    await slider.focus();
    await page.keyboard.press('Home');
    await greedyButton(page).click();
    await expect(page.getByTestId('steps')).toHaveText('3 / 50');
    await expect(page.getByTestId('timeline-pos')).toHaveText('step 3 / 3');
  });

  test('keyboard: space steps, g takes the greedy step', async ({ page }) => {
    await page.goto('./?task=tomato-lettuce-salad&seed=0');
    await expect(page.getByTestId('prompt')).toHaveText(INITIAL_PROMPTS['tomato-lettuce-salad']);
    await waitForScores(page);
    await page.keyboard.press('Space');
    await expect(page.getByTestId('steps')).toHaveText('1');
    await expect(page.getByTestId('history').locator('li').first()).toHaveAttribute('data-by', 'sample');
    await expect(page.getByTestId('prompt')).not.toHaveText(INITIAL_PROMPTS['tomato-lettuce-salad']);
    await waitForScores(page);
    await page.keyboard.press('g');
    await expect(page.getByTestId('steps')).toHaveText('2');
    await expect(page.getByTestId('history').locator('li').first()).toHaveAttribute('data-by', 'greedy');
    // With a button focused, space still takes a sampled step.
    await waitForScores(page);
    await greedyButton(page).focus();
    await page.keyboard.press('Space');
    await expect(page.getByTestId('steps')).toHaveText('3');
    await expect(page.getByTestId('history').locator('li').first()).toHaveAttribute('data-by', 'sample');
  });

  test('auto-play runs to the end of the episode and stops; reset starts it again', async ({ page }) => {
    test.setTimeout(90_000);
    await openTask(page, './?task=entertainment&seed=0', 'entertainment');
    // SwiftShader draws WebGL and runs WebGPU on the same two CPU cores: with the scene animating every
    // step, scoring takes ~0.4-0.7 s instead of ~0.2 s. This test is about auto-play, so the scene is hidden.
    await page.addStyleTag({ content: '.stage-canvas { display: none !important; }' });
    // Most of the episode by hand (action 1 each time, which does not end it), auto-play for the rest.
    const BY_HAND = 40;
    const env = createEnv('entertainment');
    env.reset(0);
    for (let i = 0; i < BY_HAND; i++) env.step(0);
    expect(env.done).toBe(false);
    for (let i = 0; i < BY_HAND; i++) {
      await page.keyboard.press('1');
      await expect(page.getByTestId('steps')).toHaveText(`${i + 1} / 50`);
    }
    await waitForScores(page);
    await page.getByLabel('Speed').selectOption('8');
    const play = page.getByRole('button', { name: 'Auto-play' });
    await play.click();
    await expect(play).toHaveAttribute('aria-pressed', 'true');
    await expect(page.getByTestId('episode-status')).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
    const sampled = await page.getByTestId('history').locator('li[data-by="sample"]').count();
    expect(sampled).toBeGreaterThan(0);
    await expect(page.getByTestId('steps')).toHaveText(`${BY_HAND + sampled} / 50`);
    await expect(page.getByTestId('autoplay-note')).toBeVisible();
    const steps = await page.getByTestId('steps').textContent();
    await page.waitForTimeout(500);
    await expect(page.getByTestId('steps')).toHaveText(steps ?? ''); // stopped
    await page.keyboard.press('r');
    await expect(page.getByTestId('steps')).not.toHaveText('0 / 50', { timeout: 15_000 });
    await play.click();
    await expect(play).toHaveAttribute('aria-pressed', 'false');
  });

  test('a link with model and normalization reopens that setup', async ({ page }) => {
    await openTask(page, './?task=food-preparation&seed=2&model=micro&norm=token', 'food-preparation');
    await expect(page.getByLabel('Normalization')).toHaveValue('token');
    await expect(page.getByLabel('Model')).toHaveValue('micro');
    await expect(page.getByTestId('seed-input')).toHaveValue('2');
    await waitForScores(page);
    await expect(page.getByTestId('url-error')).toHaveCount(0);
    await expect(page).toHaveURL(/\?task=food-preparation&seed=2&model=micro&norm=token$/);
  });

  test('an unknown model or normalization in the URL falls back and says so', async ({ page }) => {
    await page.goto('./?model=llama-99b&norm=median');
    await expect(page.getByTestId('url-error')).toHaveCount(2);
    await expect(page.getByTestId('url-error').first()).toContainText('llama-99b');
    await expect(page.getByLabel('Model')).toHaveValue('micro');
    await expect(page.getByLabel('Normalization')).toHaveValue('word');
    await waitForScores(page);
  });
});

/** Index of the offered action `text` after `actions` from a reset with `seed`. */
function indexOf(taskId: TaskId, seed: number, actions: number[], text: string): number {
  const env = createEnv(taskId);
  env.reset(seed);
  for (const a of actions) env.step(a);
  const i = env.observe().actions.indexOf(text);
  if (i < 0) throw new Error(`"${text}" is not offered`);
  return i;
}
