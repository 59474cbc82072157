/**
 * A ModelSource over HTTP(S): `<base>/<file>` (a Hugging Face `.../resolve/main/` URL or any CORS-enabled
 * host). Only https, http on localhost, or the page's own origin is accepted. Transient failures are retried with backoff; a 404
 * is "no such file", which lets the loader try ndarray-cache.json after tensor-cache.json.
 */
import type { ModelSource } from './weights';

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
    throw new ModelUrlError(`"${url}" is not a URL; give a model directory, "micro", or an https:// URL of an MLC model`);
  }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  const sameOrigin = page !== undefined && parsed.origin === page.origin;
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && local) && !sameOrigin) {
    throw new ModelUrlError(`${url}: only https:// URLs (or http://localhost, or this page's own origin) are accepted for models`);
  }
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  return parsed;
}

export interface UrlSourceOptions {
  retries?: number;
  fetchImpl?: typeof fetch;
}

export function urlSource(base: string, options: UrlSourceOptions = {}): ModelSource {
  const root = checkModelUrl(base);
  const retries = options.retries ?? 3;
  const doFetch = options.fetchImpl ?? fetch;
  return {
    describe: (file) => new URL(file, root).href,
    async read(file) {
      const url = new URL(file, root).href;
      let lastError = '';
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        try {
          const response = await doFetch(url);
          if (response.status === 404) return undefined;
          if (response.ok) return new Uint8Array(await response.arrayBuffer());
          lastError = `HTTP ${response.status}`;
          if (response.status < 500 && response.status !== 429) break; // a client error will not heal by retrying
        } catch (error) {
          lastError = (error as Error).message;
        }
      }
      throw new ModelUrlError(`${url}: download failed (${lastError}); check the URL and your connection, then try again`);
    },
  };
}
