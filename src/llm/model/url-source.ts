/**
 * A ModelSource over HTTP(S): `<base>/<file>` (a Hugging Face `.../resolve/main/` URL or any CORS-enabled
 * host). Only https, http on localhost, or the page's own origin is accepted, and only files inside the base:
 * a name from the model's index that resolves elsewhere (another host, "../") is refused, never fetched.
 * Every read is bounded: a Content-Length over the file's limit is refused before the body is read, a body
 * that runs over is stopped, and a server that sends nothing for the idle timeout is given up on. Transient
 * failures (network errors, stalls, HTTP 5xx and 429) are retried with backoff; a 404 is "no such file",
 * which lets the loader try ndarray-cache.json after tensor-cache.json.
 */
import { isContainedModelPath } from '../../util/model-path';
import { defaultIdleTimeoutMs, fetchWithIdleTimeout, readBodyCapped, StalledError } from '../../util/http-body';
import { ModelFormatError } from './errors';
import { outsideModelError, overLimitDetail, type ModelSource, type ReadLimit } from './weights';

export class ModelUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelUrlError';
  }
}

export function checkModelUrl(url: string): URL {
  // In the browser a relative URL (the shipped micro model, "./models/micro/") resolves against the page.
  const page = (globalThis as { location?: { href: string; origin: string } }).location;
  let parsed: URL;
  try {
    parsed = new URL(url, page?.href);
  } catch {
    throw new ModelUrlError(
      `"${url}" is not a URL; give a model directory, "micro", or an https:// URL of an MLC model`,
    );
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  const sameOrigin = page !== undefined && parsed.origin === page.origin;
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && local) && !sameOrigin) {
    throw new ModelUrlError(
      `${url}: only https:// URLs (or http://localhost, or this page's own origin) are accepted for models`,
    );
  }
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed;
}

/** `file` under `root`, or undefined when it would resolve outside it. */
export function urlInside(root: URL, file: string): string | undefined {
  if (!isContainedModelPath(file)) return undefined;
  const url = new URL(file, root);
  return url.origin === root.origin && url.href.startsWith(root.href) && url.href !== root.href ? url.href : undefined;
}

export interface UrlSourceOptions {
  retries?: number;
  /** First retry delay, doubled per retry (default 500 ms). */
  backoffMs?: number;
  /** Give up on an attempt when no bytes arrive for this long (default 30 s; TWOSOME_IDLE_TIMEOUT_S). */
  idleTimeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/** Reads beyond any caller's limit are still capped (the largest shard a real model has is ~2 GB). */
const UNLIMITED: ReadLimit = { maxBytes: 2 ** 31 - 1, what: 'a model file' };

export function urlSource(base: string, options: UrlSourceOptions = {}): ModelSource {
  const root = checkModelUrl(base);
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 500;
  const idleMs = options.idleTimeoutMs ?? defaultIdleTimeoutMs();
  const doFetch = options.fetchImpl ?? fetch;
  const source: ModelSource = {
    describe: (file) => new URL(file, root).href,
    async read(file, limit = UNLIMITED) {
      const url = urlInside(root, file);
      if (!url) throw outsideModelError(source, file);
      const tooLarge = (size: number | undefined) =>
        new ModelFormatError(
          url,
          size === undefined
            ? `the server sends more than ${limit.maxBytes} bytes, the limit for ${limit.what}`
            : overLimitDetail(size, limit),
        );
      let lastError = '';
      let attempts = 0;
      for (let attempt = 0; attempt <= retries; attempt++) {
        attempts++;
        if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
        try {
          const { response, abort, release } = await fetchWithIdleTimeout(doFetch, url, {}, idleMs);
          try {
            if (response.status === 404) {
              await response.body?.cancel().catch(() => undefined);
              return undefined;
            }
            const body = { maxBytes: limit.maxBytes, idleMs, abort, tooLarge };
            if (response.ok) return await readBodyCapped(response, body);
            await response.body?.cancel().catch(() => undefined);
          } finally {
            release();
          }
          lastError = `HTTP ${response.status}`;
          if (response.status < 500 && response.status !== 429) break; // a client error will not heal by retrying
        } catch (error) {
          if (error instanceof ModelFormatError) throw error;
          lastError = error instanceof StalledError ? error.message : (error as Error).message;
        }
      }
      const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
      const advice = 'check the URL and your connection, then try again';
      throw new ModelUrlError(`${url}: download failed${tries} (${lastError}); ${advice}`);
    },
  };
  return source;
}
