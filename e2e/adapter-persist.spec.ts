/**
 * Saved adapters survive a reload: an adapter loaded from files is kept in IndexedDB and is in use again
 * after a reload with the same probabilities; Remove stops using it (kept), Use puts it back, Delete deletes
 * it (no adapter after the next reload); a refused share link leaves it in use. A stored copy damaged behind the page's back is refused with a
 * message in the card, and the page goes on with the frozen model.
 */
import type { Page } from '@playwright/test';
import { expect, test, waitForTask } from './fixtures';
import { openScored, peftPayload, probAttributes, waitForScores } from './playground';

const LABEL = 'adapter_model.safetensors';

async function probs(page: Page): Promise<string> {
  return JSON.stringify(await probAttributes(page));
}

/** Opens a Tomato Salad episode at `query` with no adapter in use; returns the frozen model's probabilities. */
async function openFrozen(page: Page, query: string): Promise<string> {
  await openScored(page, `./?task=tomato-salad&${query}`, 'tomato-salad');
  return probs(page);
}

async function reload(page: Page): Promise<void> {
  await page.reload();
  await waitForTask(page, 'tomato-salad');
  await expect(page.getByTestId('saved-adapters')).toBeVisible();
}

test.describe('saved adapters', () => {
  test('an adapter loaded from files is in use again after a reload with the same probabilities; Delete forgets it', async ({
    page,
  }) => {
    test.setTimeout(240_000);
    const frozen = await openFrozen(page, 'seed=2&norm=token');
    await expect(page.getByTestId('saved-adapters')).toContainText('None yet');

    await page.getByTestId('adapter-file').setInputFiles(peftPayload());
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', LABEL);
    const row = page.getByTestId('saved-adapter');
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute('data-adapter', LABEL);
    await expect(row).toHaveAttribute('data-in-use', 'true');
    await expect(row).toContainText(/file · micro · \d+(\.\d)? KiB · /);
    await expect(page.getByTestId('saved-adapters-size')).toContainText(
      /^ ?1 · \d+(\.\d)? KiB \(at most 16, 256 MiB; the oldest go first\)$/,
    );
    await expect.poll(() => probs(page), { timeout: 30_000 }).not.toBe(frozen);
    await waitForScores(page);
    const adapted = await probs(page);

    // Reload: the same adapter is in use, with the same probabilities.
    await reload(page);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', LABEL, { timeout: 30_000 });
    await expect(page.getByTestId('adapter-current')).toContainText('r 8 · alpha 16 · q_proj, v_proj · 2 layers');
    await expect(page.getByTestId('adapter-error')).toHaveCount(0);
    await expect.poll(() => probs(page), { timeout: 30_000 }).toBe(adapted);
    await expect(row).toHaveAttribute('data-in-use', 'true');

    // A tab opened with a malformed share link: the link is refused and, as its notice says, nothing changed:
    // the saved adapter is in use as on any start.
    await page.goto('about:blank');
    await page.goto('./?task=tomato-salad&seed=2&norm=token#share=AAAA');
    await expect(page.getByTestId('share-error')).toContainText(
      /^This share link cannot be used: .*\. The setup and the adapter in use are as they were\./,
    );
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', LABEL, { timeout: 30_000 });
    await expect.poll(() => probs(page), { timeout: 30_000 }).toBe(adapted);
    await page.getByTestId('share-error').getByRole('button', { name: 'Dismiss message' }).click();

    // Remove stops using it but keeps it; the next start has no adapter; Use puts it back.
    await page.getByTestId('adapter-remove').click();
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    await expect(row).toHaveAttribute('data-in-use', 'false');
    await reload(page);
    await waitForScores(page);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    await expect.poll(() => probs(page), { timeout: 30_000 }).toBe(frozen);
    await page.getByRole('button', { name: `Use ${LABEL}` }).click();
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', LABEL);
    await expect.poll(() => probs(page), { timeout: 30_000 }).toBe(adapted);

    // Delete (confirmed): gone from the list; after another reload no adapter is in use.
    await page.getByRole('button', { name: `Delete ${LABEL}` }).click();
    await page.getByRole('button', { name: `Yes, delete ${LABEL}` }).click();
    await expect(row).toHaveCount(0);
    await expect(page.getByTestId('saved-adapters')).toContainText(
      `Deleted "${LABEL}" from this browser: it stays in use on this page`,
    );
    await reload(page);
    await waitForScores(page);
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    await expect(page.getByTestId('saved-adapters')).toContainText('None yet');
    await expect.poll(() => probs(page), { timeout: 30_000 }).toBe(frozen);
  });

  test('a saved copy damaged in storage is refused on reload with a message; the page goes on without it', async ({
    page,
  }) => {
    test.setTimeout(120_000);
    const frozen = await openFrozen(page, 'seed=0');
    await page.getByTestId('adapter-file').setInputFiles(peftPayload());
    await expect(page.getByTestId('saved-adapter')).toHaveAttribute('data-in-use', 'true');

    // Another writer (an extension, a disk error) flips a byte of the stored safetensors header.
    await page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open('twosome-web-adapters');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const tx = db.transaction('payloads', 'readwrite');
            const store = tx.objectStore('payloads');
            const cursor = store.openCursor();
            cursor.onsuccess = () => {
              const c = cursor.result;
              if (!c) return;
              const row = c.value as { id: string; payload: { main: { bytes: Uint8Array } } };
              const bytes = Uint8Array.from(row.payload.main.bytes);
              bytes[9] ^= 0x7f;
              row.payload.main.bytes = bytes;
              c.update(row);
            };
            tx.oncomplete = () => {
              db.close();
              resolve();
            };
            tx.onerror = () => reject(tx.error);
          };
        }),
    );

    await reload(page);
    await expect(page.getByTestId('adapter-error')).toContainText(
      `The saved adapter "${LABEL}" was not restored, so no adapter is in use: saved adapter "${LABEL}": it no longer decodes (${LABEL}: `,
      { timeout: 30_000 },
    );
    await expect(page.getByTestId('adapter-error')).toContainText(
      'the stored copy is damaged: delete it and load the adapter again. It is still listed under Saved adapters.',
    );
    await expect(page.getByTestId('adapter-current')).toHaveAttribute('data-adapter', '');
    await waitForScores(page);
    await expect.poll(() => probs(page), { timeout: 30_000 }).toBe(frozen);
    // Kept until the user deletes it.
    await expect(page.getByTestId('saved-adapter')).toHaveAttribute('data-in-use', 'false');
    await page.getByRole('button', { name: `Delete ${LABEL}` }).click();
    await page.getByRole('button', { name: `Yes, delete ${LABEL}` }).click();
    await expect(page.getByTestId('saved-adapter')).toHaveCount(0);
  });
});
