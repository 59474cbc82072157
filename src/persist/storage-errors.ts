/**
 * Why a write to the browser's storage failed, in words: a full quota is named as such, with the site's usage
 * and quota where navigator.storage.estimate() gives them. Browsers report it as a DOMException named
 * QuotaExceededError whose message may be empty (Chromium's IndexedDB commit), so the bare message says nothing.
 */
import { formatBytes } from '../util/format';

export interface StorageEstimate {
  usage?: number;
  quota?: number;
}

/** A failed write because the site's storage quota is used up. */
export function isQuotaError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, message } = error as { name?: unknown; message?: unknown };
  return name === 'QuotaExceededError' || (typeof message === 'string' && /quota/i.test(message));
}

/**
 * One line for a failed write: "this site's storage is full (QuotaExceededError: 9.8 MiB of its 10 MiB quota
 * used)", or the error's message (its name when the message is empty).
 */
export async function describeStorageError(error: unknown, estimate?: () => Promise<StorageEstimate>): Promise<string> {
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name ?? '') : '';
  const message =
    error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)
      ? String((error as { message: unknown }).message ?? '')
      : String(error);
  if (!isQuotaError(error)) return message || name || 'unknown error';
  let numbers = 'the browser gives no usage figures';
  try {
    const { usage, quota } = (await estimate?.()) ?? {};
    if (typeof usage === 'number' && typeof quota === 'number') {
      // The estimate's quota is what the browser would allow; a disk that is full before it refuses earlier.
      numbers =
        usage >= 0.9 * quota
          ? `${formatBytes(usage)} of its ${formatBytes(quota)} quota used`
          : `refused although the site uses ${formatBytes(usage)} of the ${formatBytes(quota)} the browser ` +
            'estimates it may use, so the disk itself is probably full';
    }
  } catch {
    // no figures: said as such
  }
  const what = name === 'QuotaExceededError' ? name : message || name;
  return `this site's storage is full (${what}: ${numbers})`;
}

/** navigator.storage.estimate where the platform has it (page and workers). */
export function browserEstimate(): Promise<StorageEstimate> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  return storage?.estimate ? storage.estimate() : Promise.resolve({});
}
