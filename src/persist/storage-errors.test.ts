import { describe, expect, it } from 'vitest';
import { describeStorageError, isQuotaError } from './storage-errors';

/** What Chromium's IndexedDB gives for a commit over the quota: a QuotaExceededError with no message. */
const quotaError = () => Object.assign(new Error(''), { name: 'QuotaExceededError' });

describe('describeStorageError', () => {
  it('names a full quota with the estimate: at the quota, or far below it (the disk is full)', async () => {
    expect(isQuotaError(quotaError())).toBe(true);
    expect(await describeStorageError(quotaError(), async () => ({ usage: 10_400_000, quota: 10_485_760 }))).toBe(
      "this site's storage is full (QuotaExceededError: 9.9 MiB of its 10 MiB quota used)",
    );
    expect(await describeStorageError(quotaError(), async () => ({ usage: 438_272, quota: 10 * 2 ** 30 }))).toBe(
      "this site's storage is full (QuotaExceededError: refused although the site uses 428 KiB of the 10 GiB the " +
        'browser estimates it may use, so the disk itself is probably full)',
    );
    expect(await describeStorageError(quotaError())).toBe(
      "this site's storage is full (QuotaExceededError: the browser gives no usage figures)",
    );
    const broken = async () => Promise.reject(new Error('no estimate'));
    expect(await describeStorageError(quotaError(), broken)).toMatch(/no usage figures/);
  });

  it('gives other errors as they are, the name when the message is empty', async () => {
    expect(isQuotaError(new Error('disk I/O'))).toBe(false);
    expect(await describeStorageError(new Error('disk I/O'))).toBe('disk I/O');
    expect(await describeStorageError(Object.assign(new Error(''), { name: 'UnknownError' }))).toBe('UnknownError');
    expect(await describeStorageError('text')).toBe('text');
  });
});
