/**
 * Waiting on a server without trusting it (browser and Node): every wait has an idle timeout (no bytes for
 * `idleMs`: the request is aborted and the caller may retry), and a body is read with its size checked before
 * the first byte (Content-Length) and while it streams (a body longer than announced, or endless, is stopped
 * at the cap). Node's fetch alone waits 300 s for headers and forever between body chunks.
 */
import { concatBytes } from './concat-bytes';

/** No response, or no bytes, within the idle timeout. */
export class StalledError extends Error {
  constructor(readonly idleMs: number) {
    super(`no data for ${formatSeconds(idleMs)} (the server stalled)`);
    this.name = 'StalledError';
  }
}

function formatSeconds(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${+(ms / 1000).toPrecision(3)} s`;
}

/** The name of the idle-timeout setting: an environment variable in Node, a localStorage key in a page. */
export const IDLE_TIMEOUT_SETTING = 'TWOSOME_IDLE_TIMEOUT_S';

/**
 * Default idle timeout: 30 s without a byte. Slow links still move bytes every few seconds; a server that
 * sends nothing for this long has stalled. TWOSOME_IDLE_TIMEOUT_S (seconds) overrides it: Node's environment,
 * or the page's localStorage (a developer setting; a worker has no localStorage, so the page passes its value
 * along with each request).
 */
export function defaultIdleTimeoutMs(): number {
  const host = globalThis as { process?: { env?: Record<string, string | undefined> }; localStorage?: Storage };
  let setting = host.process?.env?.[IDLE_TIMEOUT_SETTING];
  if (setting === undefined) {
    try {
      setting = host.localStorage?.getItem(IDLE_TIMEOUT_SETTING) ?? undefined;
    } catch {
      // a page whose storage is blocked: the default
    }
  }
  const seconds = setting === undefined ? NaN : Number(setting);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 30_000;
}

/** Settles like `promise`, or rejects with StalledError (after calling onStall) when it takes longer than idleMs. */
export function beforeStall<T>(promise: Promise<T>, idleMs: number, onStall: () => void): Promise<T> {
  if (!Number.isFinite(idleMs) || idleMs <= 0) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onStall();
      reject(new StalledError(idleMs));
    }, idleMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A response whose request can still be aborted (a stalled body), and must be released when read. */
export interface TimedResponse {
  response: Response;
  /** Aborts the request, body included (on a stall). */
  abort: () => void;
  /** Detaches the request from the caller's signal: call it once the body is read or given up. */
  release: () => void;
}

/**
 * fetch(url) whose wait for the response headers is bounded by idleMs; `signal` (the caller's cancel) still
 * applies, to the body as well, until release().
 */
export async function fetchWithIdleTimeout(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit & { signal?: AbortSignal },
  idleMs: number,
): Promise<TimedResponse> {
  const controller = new AbortController();
  const outer = init.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  // One listener per request on a signal shared by a whole download: removed when the request is done.
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const release = () => outer?.removeEventListener('abort', onOuterAbort);
  const abort = () => {
    release();
    controller.abort(new StalledError(idleMs));
  };
  try {
    const response = await beforeStall(fetchImpl(url, { ...init, signal: controller.signal }), idleMs, abort);
    return { response, abort, release };
  } catch (error) {
    release();
    throw error;
  }
}

/** The response's declared length, where it declares one and the body is not re-encoded (gzip) in transit. */
export function declaredLength(response: Response): number | undefined {
  const header = response.headers.get('content-length');
  if (header === null || response.headers.get('content-encoding')) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export interface CappedReadOptions {
  /** The most bytes accepted. */
  maxBytes: number;
  /** Abort when no chunk arrives for this long (0: never). */
  idleMs: number;
  /** Aborts the request (fetchWithIdleTimeout's abort), called on a stall. */
  abort?: () => void;
  /** The error for a body over maxBytes (size: the announced length, or undefined when the stream ran over). */
  tooLarge: (size: number | undefined) => Error;
  /** Each chunk's length as it arrives (progress). */
  onBytes?: (n: number) => void;
}

/**
 * The whole body, at most maxBytes: a Content-Length over the cap is refused before anything is read, a stream
 * that runs over is cancelled at the cap, and a stream that stalls is aborted (StalledError).
 */
export async function readBodyCapped(response: Response, options: CappedReadOptions): Promise<Uint8Array> {
  const announced = declaredLength(response);
  if (announced !== undefined && announced > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw options.tooLarge(announced);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await beforeStall(reader.read(), options.idleMs, () => {
      options.abort?.();
      reader.cancel().catch(() => undefined);
    });
    if (done) break;
    total += value.length;
    if (total > options.maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw options.tooLarge(undefined);
    }
    chunks.push(value);
    options.onBytes?.(value.length);
  }
  if (chunks.length === 1) return chunks[0];
  return concatBytes(chunks);
}
