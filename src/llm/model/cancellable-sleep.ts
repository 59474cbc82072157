/**
 * The waits of a download that retries: a sleep that a cancel cuts short, and what a cancelled download throws.
 * Shared by the model downloader (download.ts) and the benchmark downloader (nlp-eval/hub/fetch-file.ts).
 */

/** What a cancelled download throws: the signal's reason, or an AbortError where it has none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The download was cancelled', 'AbortError');
}

/** Waits `ms`; rejects with abortReason(signal) as soon as `signal` aborts (or at once, if it has). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
