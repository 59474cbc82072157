/**
 * One file over HTTP, as the model downloader fetches a shard (llm/model/download.ts), for benchmark files:
 * - every wait has an idle timeout (util/http-body.ts): no response or no bytes for `idleMs` aborts the attempt;
 * - transient failures (network errors, stalls, HTTP 5xx, 429, 408) are retried with exponential backoff; an
 *   attempt that received bytes does not count against `retries`;
 * - a response that breaks off is resumed with a Range request from the bytes held (also bytes held from an
 *   earlier, cancelled download: `held`); a server that ignores Range (200) sends the whole file again;
 * - the size is checked against what the listing says, before (Content-Length) and while the body streams;
 * - `signal` cancels; the bytes received stay in `held`, for the caller to keep and resume from later.
 */
import { abortReason, sleep } from '../../llm/model/cancellable-sleep';
import { beforeStall, declaredLength, fetchWithIdleTimeout } from '../../util/http-body';
import { BenchDownloadError } from '../errors';

export interface FetchFileOptions {
  fetchImpl: typeof fetch;
  signal: AbortSignal;
  idleMs: number;
  /** Attempts without progress before giving up. */
  retries: number;
  /** First retry delay; doubles per failure up to 32x. */
  backoffMs: number;
  /** The size the listing gives, or undefined. */
  size?: number;
  /** The most bytes accepted where the size is not known. */
  maxBytes: number;
  /** Bytes arrived (negative: dropped for a restart). */
  onBytes(delta: number): void;
}

/** The bytes of a file as they arrive; what a cancelled download leaves for the next one. */
export class Held {
  private chunks: Uint8Array[] = [];
  length = 0;

  constructor(start?: Uint8Array) {
    if (start && start.length > 0) this.append(start);
  }

  append(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  reset(): void {
    this.chunks = [];
    this.length = 0;
  }

  bytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    this.chunks = [out];
    return out;
  }
}

/** "bytes 100-199/200" -> 100; null where absent or malformed. */
function rangeStart(header: string | null): number | null {
  const match = header ? /^bytes\s+(\d+)-\d+\/(?:\d+|\*)/i.exec(header.trim()) : null;
  return match ? Number(match[1]) : null;
}

function statusHint(status: number): string {
  if (status === 401 || status === 403) return '; the dataset may be gated or private (open it on the hub first)';
  if (status === 404 || status === 410) return '; check the dataset, config and split, or the endpoint (--data-url)';
  return '';
}

/** Fetches `url` into `held` (which may already hold its first bytes) until the file is whole. */
export async function fetchFile(url: string, held: Held, options: FetchFileOptions): Promise<Uint8Array> {
  const { signal, size } = options;
  const limit = size ?? options.maxBytes;
  let failures = 0;
  let attempts = 0;
  let best = held.length;
  let lastProblem = '';
  const restart = () => {
    options.onBytes(-held.length);
    held.reset();
  };
  if (size !== undefined && held.length > size) restart();

  while (failures <= options.retries) {
    if (signal.aborted) throw abortReason(signal);
    if (attempts > 0) await sleep(failures > 0 ? options.backoffMs * 2 ** Math.min(failures - 1, 5) : 0, signal);
    attempts++;
    if (size !== undefined && held.length === size) return held.bytes();
    const from = held.length;
    let attempt: Awaited<ReturnType<typeof fetchWithIdleTimeout>>;
    try {
      const headers: Record<string, string> = from > 0 ? { Range: `bytes=${from}-` } : {};
      attempt = await fetchWithIdleTimeout(options.fetchImpl, url, { signal, headers }, options.idleMs);
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      lastProblem = (error as Error).message || String(error);
      failures++;
      continue;
    }
    const { response } = attempt;
    try {
      const status = response.status;
      if (status === 206 && from > 0) {
        if (rangeStart(response.headers.get('content-range')) !== from) {
          await response.body?.cancel().catch(() => undefined);
          restart();
          lastProblem = `the server resumed at another byte than ${from}`;
          failures++;
          continue;
        }
      } else if (status === 200) {
        if (from > 0) restart(); // Range ignored: the body is the whole file
      } else if (status === 416 && from > 0) {
        // Nothing after what is held: it is the whole file when the listing gave no size to check it by.
        await response.body?.cancel().catch(() => undefined);
        if (size === undefined) return held.bytes();
        restart();
        lastProblem = 'the server refused to resume (HTTP 416)';
        failures++;
        continue;
      } else {
        await response.body?.cancel().catch(() => undefined);
        lastProblem = `HTTP ${status}`;
        if (status >= 500 || status === 429 || status === 408) {
          failures++;
          continue;
        }
        throw new BenchDownloadError(`${url}: download failed (HTTP ${status})${statusHint(status)}`);
      }
      const announced = declaredLength(response);
      if (announced !== undefined && held.length + announced > limit) {
        await response.body?.cancel().catch(() => undefined);
        throw tooLarge(url, held.length + announced, size, options.maxBytes);
      }
      if (response.body) {
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await beforeStall(reader.read(), options.idleMs, () => {
            attempt.abort();
            reader.cancel().catch(() => undefined);
          });
          if (done) break;
          if (held.length + value.length > limit) {
            await reader.cancel().catch(() => undefined);
            throw tooLarge(url, undefined, size, options.maxBytes);
          }
          held.append(value);
          options.onBytes(value.length);
        }
      }
    } catch (error) {
      if (error instanceof BenchDownloadError) throw error;
      if (signal.aborted) throw abortReason(signal);
      lastProblem = `the connection broke after ${held.length} bytes (${(error as Error).message || String(error)})`;
      if (held.length <= best) failures++;
      best = Math.max(best, held.length);
      continue;
    } finally {
      attempt.release();
    }
    if (size === undefined || held.length === size) return held.bytes();
    lastProblem = `the response ended after ${held.length} of ${size} bytes`;
    if (held.length <= best) failures++;
    best = Math.max(best, held.length);
  }
  const again = 'check the connection and run it again (what arrived is kept and resumed)';
  throw new BenchDownloadError(`${url}: download failed after ${attempts} attempts (${lastProblem}); ${again}`);
}

function tooLarge(url: string, announced: number | undefined, size: number | undefined, maxBytes: number): Error {
  const sends = announced !== undefined ? `announces ${announced} bytes` : 'sends more';
  const expected = size !== undefined ? `the listing says ${size}` : `the limit is ${maxBytes}`;
  return new BenchDownloadError(`${url}: the server ${sends} than expected (${expected}); is this the right file?`);
}
