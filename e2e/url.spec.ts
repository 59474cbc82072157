/**
 * The setup in the URL (`?task=&seed=&model=&norm=`): a link opens its setup, a bad value falls back to the
 * default with a notice that says why, the selects write the URL, back/forward reopen. Run against the built site
 * and (project `dev-server`, playwright.config.ts) against `npm start`, whose React StrictMode runs the startup
 * effect twice: the notices must survive that.
 */
import { INITIAL_PROMPTS, expect, test, waitForTask } from './fixtures';
import { openTask } from './playground';

test.describe('setup in the URL', () => {
  test('four bad parameters give four notices and the defaults; the URL is cleaned', async ({ page }) => {
    await page.goto('./?task=nope&seed=-3&model=foo&norm=bar');
    const notices = page.getByTestId('url-error');
    await expect(notices).toHaveCount(4);
    await expect(notices.nth(0)).toContainText('Unknown task "nope"');
    await expect(notices.nth(1)).toContainText('Invalid seed "-3"');
    await expect(notices.nth(2)).toContainText('Unknown model "foo"');
    await expect(notices.nth(3)).toContainText('Unknown normalization "bar"');
    await waitForTask(page, 'tomato-salad');
    await expect(page).toHaveURL(/\?task=tomato-salad&seed=0&model=micro&norm=word$/);
    await expect(page.getByTestId('seed-input')).toHaveValue('0');
    await expect(page.getByTestId('model-select')).toHaveValue('micro');
    await expect(page.getByTestId('norm-select')).toHaveValue('word');
    // The notices stay until dismissed (nothing later in the startup clears them).
    await page.waitForTimeout(1000);
    await expect(notices).toHaveCount(4);
  });

  test('bad parameters that need no model list give their notices at once (the startup runs once)', async ({
    page,
  }) => {
    // Without model=, the startup opens the setup synchronously: a second StrictMode run would parse the cleaned
    // URL and clear these.
    await page.goto('./?task=nope&seed=x&norm=bar');
    const notices = page.getByTestId('url-error');
    await expect(notices).toHaveCount(3);
    await waitForTask(page, 'tomato-salad');
    await page.waitForTimeout(1000);
    await expect(notices).toHaveCount(3);
    const query = new URL(page.url()).searchParams;
    expect(Object.fromEntries(query)).toEqual({ task: 'tomato-salad', seed: '0', model: 'micro', norm: 'word' });
  });

  test('the Task select changes the URL and the scene; back returns', async ({ page }) => {
    await openTask(page, './', 'tomato-salad');
    await expect(page.getByTestId('scene')).toHaveAttribute('data-scene-kind', 'overcooked');

    await page.getByLabel('Task').selectOption('entertainment');
    await expect(page).toHaveURL(/[?&]task=entertainment(&|$)/);
    await waitForTask(page, 'entertainment');
    await expect(page.getByTestId('scene')).toHaveAttribute('data-scene-kind', 'virtualhome');
    await expect(page.getByTestId('task-title')).toHaveText('Entertainment');
    await expect(page.getByTestId('prompt')).toContainText(
      'In order to enjoy the chips and the milk while watching TV',
    );

    await page.getByLabel('Task').selectOption('tomato-lettuce-salad');
    await expect(page).toHaveURL(/[?&]task=tomato-lettuce-salad(&|$)/);
    await expect(page.getByTestId('prompt')).toHaveText(INITIAL_PROMPTS['tomato-lettuce-salad']);

    await page.goBack();
    await expect(page).toHaveURL(/[?&]task=entertainment(&|$)/);
    await waitForTask(page, 'entertainment');
    await expect(page.getByLabel('Task')).toHaveValue('entertainment');
  });

  test('a link with ?task=entertainment&seed=3 opens that setup', async ({ page }) => {
    await openTask(page, './?task=entertainment&seed=3', 'entertainment');
    await expect(page.getByLabel('Task')).toHaveValue('entertainment');
    await expect(page.getByTestId('seed-input')).toHaveValue('3');
    await expect(page.getByTestId('task-title')).toHaveText('Entertainment');
    await expect(page.getByTestId('url-error')).toHaveCount(0);
  });

  test('an unknown task in the URL shows a message and falls back to tomato-salad', async ({ page }) => {
    await page.goto('./?task=no-such-task');
    const message = page.getByTestId('url-error');
    await expect(message).toBeVisible();
    await expect(message).toContainText('no-such-task');
    await expect(message).toContainText('tomato-salad');
    await waitForTask(page, 'tomato-salad');
    await expect(page.getByLabel('Task')).toHaveValue('tomato-salad');
    await expect(page.getByTestId('prompt')).toHaveText(INITIAL_PROMPTS['tomato-salad']);
    await page.getByRole('button', { name: 'Dismiss message' }).click();
    await expect(message).toHaveCount(0);
  });
});
