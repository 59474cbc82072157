/**
 * Downloads an MLC model (browser and Node; fetch-based, the fetch is injectable) into a pluggable store:
 * mlc-chat-config.json, tensor-cache.json (older conversions: ndarray-cache.json), tokenizer.json and every
 * params_shard_<i>.bin the index lists, keyed by full URL (`<base><file>`, web-llm's Cache API keys).
 *
 * - Files already in the store are not fetched again (so a cancelled or failed download continues where it
 *   stopped, file by file); the index is validated (a Llama model this engine can run) before any shard is
 *   fetched, and the shards' total is checked against the caller's size limit.
 * - Up to `parallel` files at a time (default 4, as web-llm).
 * - Transient failures (network errors, HTTP 5xx, 429, 408) are retried with exponential backoff. A response
 *   that breaks off mid-way is resumed with an HTTP Range request from the bytes already received; when the
 *   server ignores Range (answers 200) the file is fetched whole again. An attempt that made progress does
 *   not count against `retries`.
 * - Every shard is checked against its tensor-cache record: exact size, and md5sum where given (a mismatch
 *   is fetched once more from scratch, then reported). Errors name the URL and say what to do.
 * - An AbortSignal cancels: requests in flight stop, files already completed stay in the store.
 * - Progress: {bytesDone, bytesTotal, filesDone, filesTotal}; bytesDone can step back when a file has to be
 *   fetched again from the start.
 */
import { abortReason, sleep } from './cancellable-sleep';
import { parseLlamaConfigText, type LlamaConfig } from './config';
import { ModelFormatError } from './errors';
import { md5Hex } from './md5';
import { checkLlamaTensors, checkShardBytes, parseTensorCacheText, type TensorCache } from './tensor-cache';
import { checkModelUrl, ModelUrlError, urlInside } from './url-source';
import { defaultIdleTimeoutMs, beforeStall, declaredLength, fetchWithIdleTimeout } from '../../util/http-body';
import { MODEL_FILE_LIMITS, outsideModelError, overLimitDetail, type ModelSource, type ReadLimit } from './weights';
import { formatBytes } from '../../util/format';

/** Where downloaded files go, keyed by full URL. */
export interface ModelStore {
  has(url: string): Promise<boolean>;
  get(url: string): Promise<Uint8Array | undefined>;
  put(url: string, bytes: Uint8Array): Promise<void>;
}

/** A store in memory (tests, or a model used once). */
export function memoryStore(): ModelStore & { readonly files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    has: async (url) => files.has(url),
    get: async (url) => files.get(url),
    put: async (url, bytes) => {
      files.set(url, bytes);
    },
  };
}

/** A ModelSource over a store's files under `baseUrl` (for readModelIndex, LlamaEngine.load). */
export function storeSource(store: ModelStore, baseUrl: string, label = ''): ModelSource {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const source: ModelSource = {
    describe: (file) => `${new URL(file, base).href}${label}`,
    read: async (file) => {
      const url = urlInside(base, file);
      if (!url) throw outsideModelError(source, file);
      return store.get(url);
    },
  };
  return source;
}

export interface DownloadProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface DownloadOptions {
  store: ModelStore;
  fetchImpl?: typeof fetch;
  /** Files fetched at once (default 4). */
  parallel?: number;
  /** Attempts without progress a file may fail before the download gives up (default 5). */
  retries?: number;
  /** First retry delay; doubles per failure up to 32x (default 500 ms). */
  backoffMs?: number;
  /** An attempt that receives no bytes for this long is aborted and retried (default 30 s; TWOSOME_IDLE_TIMEOUT_S). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Smallest interval between progress events while bytes flow (default 100 ms; file completions always report). */
  progressIntervalMs?: number;
  /** Refuse a model whose shards (tensor-cache.json nbytes) sum to more than this many bytes. */
  maxBytes?: number;
  /** Check shards' md5sum (default true; ~1 s per 100 MB in JS). */
  verifyMd5?: boolean;
  /** Read back and check (size, md5) shards the store already has; bad ones are fetched again (default false). */
  verifyStored?: boolean;
  /** Validate mlc-chat-config.json and the index as a Llama model this engine runs (default true). */
  requireLlama?: boolean;
}

export interface DownloadResult {
  baseUrl: string;
  /** undefined when requireLlama is false. */
  config: LlamaConfig | undefined;
  cache: TensorCache;
  cacheFile: 'tensor-cache.json' | 'ndarray-cache.json';
  /** File names, relative to baseUrl. */
  files: string[];
  bytesTotal: number;
  /** Bytes received over the network in this call (restarts included). */
  bytesFetched: number;
  /** Files the store already had. */
  filesFromStore: number;
  /** Responses that continued a partial file with HTTP Range. */
  rangeResumes: number;
  /** Files fetched again from the start (server ignored Range, md5 mismatch). */
  restarts: number;
}

/** A download that cannot proceed for a reason other than the network or the files (size limit, storage). */
export class ModelDownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelDownloadError';
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Bytes of a file as they arrive (known size: one allocation; unknown: doubling). */
class Sink {
  private buffer: Uint8Array;
  length = 0;
  constructor(expected: number | undefined) {
    this.buffer = new Uint8Array(expected ?? 64 * 1024);
  }
  append(chunk: Uint8Array): void {
    if (this.length + chunk.length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + chunk.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk, this.length);
    this.length += chunk.length;
  }
  reset(): void {
    this.length = 0;
  }
  bytes(): Uint8Array {
    return this.length === this.buffer.length ? this.buffer : this.buffer.slice(0, this.length);
  }
}

interface Want {
  nbytes?: number;
  /** For a file of unknown size: the most bytes accepted (checked on Content-Length and while streaming). */
  limit?: ReadLimit;
  md5?: string;
  /** 404 means "no such file" (undefined) rather than an error. */
  optional?: boolean;
  /** What the file is, for the 404 message. */
  what: string;
}

interface Context {
  fetchImpl: typeof fetch;
  signal: AbortSignal;
  retries: number;
  backoffMs: number;
  /** An attempt that receives nothing for this long is aborted (and retried). */
  idleMs: number;
  verifyMd5: boolean;
  stats: { bytesFetched: number; rangeResumes: number; restarts: number };
  /** Bytes arrived (negative: discarded for a restart). */
  onBytes: (delta: number) => void;
  /** The size the server announced, where the expected size was not known. */
  onAnnounce: (bytes: number) => void;
}

/** Content-Range "bytes 100-199/200" -> start 100, total 200; a 416 sends "bytes <star>/200" -> total 200. */
function parseContentRange(header: string | null): { start: number | undefined; total: number | undefined } {
  const match = header ? /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)/i.exec(header.trim()) : null;
  if (!match) return { start: undefined, total: undefined };
  return {
    start: match[1] !== undefined ? Number(match[1]) : undefined,
    total: match[2] !== '*' ? Number(match[2]) : undefined,
  };
}

function statusHint(status: number): string {
  if (status === 401 || status === 403)
    return '; the repository may be private or gated (log in on huggingface.co and accept its terms, or use another model)';
  if (status === 404 || status === 410) return '; check the model id or URL';
  return '';
}

async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to release
  }
}

/**
 * Fetches one file with retries, Range resume and the size/md5 checks of `want`. Returns undefined for a 404
 * when `want.optional`.
 */
async function fetchFile(ctx: Context, url: string, want: Want): Promise<Uint8Array | undefined> {
  // Each attempt's request stays attached to the download's signal until the next attempt or the end.
  const current = { release: () => {} };
  try {
    return await fetchFileAttempts(ctx, url, want, current);
  } finally {
    current.release();
  }
}

async function fetchFileAttempts(
  ctx: Context,
  url: string,
  want: Want,
  current: { release(): void },
): Promise<Uint8Array | undefined> {
  const sink = new Sink(want.nbytes);
  const { signal } = ctx;
  let failures = 0;
  let attempts = 0;
  let md5Failures = 0;
  let lastProblem = '';
  let serverSize: number | undefined;
  /** Most bytes held at once: an attempt that gets no further than this made no progress. */
  let best = 0;
  let completeBy416 = false;
  const restart = () => {
    if (sink.length > 0) {
      ctx.onBytes(-sink.length);
      ctx.stats.restarts++;
    }
    sink.reset();
  };
  const truncated = (got: number) =>
    new ModelFormatError(
      url,
      `truncated on the server: it sends ${got} bytes but tensor-cache.json says ${want.nbytes}; the repository's file is incomplete or belongs to another conversion; try again later or pick another model`,
    );

  while (failures <= ctx.retries && attempts < 100 + ctx.retries) {
    if (signal.aborted) throw abortReason(signal);
    if (attempts > 0)
      await sleep(failures > 0 ? ctx.backoffMs * 2 ** Math.min(failures - 1, 5) : ctx.backoffMs / 4, signal);
    attempts++;
    const resumeFrom = sink.length;
    current.release();
    let response: Response;
    let abortAttempt: () => void;
    try {
      const headers: Record<string, string> = resumeFrom > 0 ? { Range: `bytes=${resumeFrom}-` } : {};
      const attempt = await fetchWithIdleTimeout(ctx.fetchImpl, url, { signal, headers }, ctx.idleMs);
      ({ response, abort: abortAttempt } = attempt);
      current.release = attempt.release;
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      lastProblem = (error as Error).message || String(error);
      failures++;
      continue;
    }

    const status = response.status;
    if (status === 404 || status === 410) {
      await discard(response);
      if (want.optional) return undefined;
      throw new ModelUrlError(
        `${url}: not found (HTTP ${status}), but the model needs it (${want.what})${statusHint(status)}`,
      );
    }
    if (status === 416 && resumeFrom > 0) {
      // Nothing past what we have: the server's file is no longer than resumeFrom.
      const { total } = parseContentRange(response.headers.get('content-range'));
      await discard(response);
      if (want.nbytes === undefined && (total === undefined || total === resumeFrom)) {
        completeBy416 = true; // it was complete
        break;
      }
      if (want.nbytes !== undefined && total !== undefined && total < want.nbytes) throw truncated(total);
      restart();
      lastProblem = 'the server refused to resume (HTTP 416)';
      failures++;
      continue;
    }
    if (status === 206 && resumeFrom > 0) {
      const { start } = parseContentRange(response.headers.get('content-range'));
      if (start !== resumeFrom) {
        await discard(response);
        restart();
        lastProblem = `the server resumed at byte ${start ?? '?'} instead of ${resumeFrom}`;
        failures++;
        continue;
      }
      ctx.stats.rangeResumes++;
    } else if (status === 200 || status === 206) {
      if (resumeFrom > 0) restart(); // the server ignored Range: the body is the whole file
    } else {
      await discard(response);
      lastProblem = `HTTP ${status}`;
      if (status >= 500 || status === 429 || status === 408) {
        failures++;
        continue;
      }
      throw new ModelUrlError(`${url}: download failed (HTTP ${status})${statusHint(status)}`);
    }

    // A Content-Length that cannot be right is refused before the body is read: a shard announced at 5 GB
    // where the index says 93 KB, a tokenizer.json over its limit.
    const announced = declaredLength(response);
    if (announced !== undefined && want.nbytes !== undefined && sink.length + announced > want.nbytes) {
      await discard(response);
      const detail =
        `size mismatch: the server announces ${sink.length + announced} bytes (Content-Length) ` +
        `but tensor-cache.json says ${want.nbytes}; the file does not belong to this tensor-cache.json ` +
        '(a newer upload?); download the whole model again';
      throw new ModelFormatError(url, detail);
    }
    if (announced !== undefined && want.limit !== undefined && announced > want.limit.maxBytes) {
      await discard(response);
      throw new ModelFormatError(url, overLimitDetail(announced, want.limit));
    }
    const unsized = want.nbytes === undefined && sink.length === 0;
    if (unsized && announced !== undefined && announced > 0) ctx.onAnnounce(announced);

    const progressed = () => {
      const moved = sink.length > best;
      best = Math.max(best, sink.length);
      return moved;
    };
    try {
      if (response.body) {
        const reader = response.body.getReader();
        for (;;) {
          const { done, value } = await beforeStall(reader.read(), ctx.idleMs, () => {
            abortAttempt();
            reader.cancel().catch(() => undefined);
          });
          if (done) break;
          if (want.nbytes !== undefined && sink.length + value.length > want.nbytes) {
            await reader.cancel().catch(() => undefined);
            throw new ModelFormatError(
              url,
              `size mismatch: the server sends more than the ${want.nbytes} bytes tensor-cache.json says; the file does not belong to this tensor-cache.json (a newer upload?); download the whole model again`,
            );
          }
          if (want.limit !== undefined && sink.length + value.length > want.limit.maxBytes) {
            await reader.cancel().catch(() => undefined);
            const { maxBytes, what } = want.limit;
            throw new ModelFormatError(url, `the server sends more than ${maxBytes} bytes, the limit for ${what}`);
          }
          sink.append(value);
          ctx.stats.bytesFetched += value.length;
          ctx.onBytes(value.length);
        }
      }
    } catch (error) {
      if (error instanceof ModelFormatError) throw error;
      if (signal.aborted) throw abortReason(signal);
      lastProblem = `the connection broke after ${sink.length}${want.nbytes !== undefined ? ` of ${want.nbytes}` : ''} bytes (${(error as Error).message || String(error)})`;
      if (!progressed()) failures++;
      continue;
    }

    if (want.nbytes !== undefined && sink.length < want.nbytes) {
      lastProblem = `the response ended after ${sink.length} of ${want.nbytes} bytes`;
      if (status === 200) serverSize = sink.length;
      if (!progressed()) failures++;
      continue; // resume with Range
    }
    if (want.md5 !== undefined && ctx.verifyMd5) {
      const actual = md5Hex(sink.bytes());
      if (actual !== want.md5) {
        md5Failures++;
        if (md5Failures >= 2) {
          throw new ModelFormatError(
            url,
            `md5 mismatch (twice): got ${actual}, tensor-cache.json says ${want.md5}; the file on the server does not match its index; try again later or pick another model`,
          );
        }
        restart();
        lastProblem = 'md5 mismatch';
        continue;
      }
    }
    return sink.bytes();
  }
  if (completeBy416) return sink.bytes();
  if (
    want.nbytes !== undefined &&
    serverSize !== undefined &&
    serverSize < want.nbytes &&
    lastProblem.startsWith('the response ended')
  )
    throw truncated(serverSize);
  throw new ModelUrlError(
    `${url}: download failed after ${attempts} attempts (${lastProblem}); check your connection and run the download again (completed files are kept)`,
  );
}

const TOKENIZER = 'tokenizer.json';
const TOKENIZER_NEED = 'this engine tokenizes with tokenizer.json';
const CONFIG = 'mlc-chat-config.json';

/** Downloads the model at `baseUrl` (a directory URL: `.../resolve/main/`) into `options.store`. */
export async function downloadModel(baseUrl: string, options: DownloadOptions): Promise<DownloadResult> {
  const base = checkModelUrl(baseUrl);
  const url = (file: string) => new URL(file, base).href;
  const { store } = options;
  const parallel = Math.max(1, Math.min(16, Math.floor(options.parallel ?? 4)));
  const userSignal = options.signal;
  if (userSignal?.aborted) throw abortReason(userSignal);
  const inner = new AbortController();
  const onUserAbort = () => inner.abort(userSignal ? abortReason(userSignal) : undefined);
  userSignal?.addEventListener('abort', onUserAbort, { once: true });

  const progress: DownloadProgress = { bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 3 };
  const interval = options.progressIntervalMs ?? 100;
  let lastReport = 0;
  const report = (force: boolean) => {
    if (!options.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < interval) return;
    lastReport = now;
    options.onProgress({ ...progress });
  };
  const stats = { bytesFetched: 0, rangeResumes: 0, restarts: 0 };
  /** `counted`: bytes go into the progress (not for the config and index, fetched before the totals are known). */
  const ctx = (announce: (bytes: number) => void, counted = true): Context => ({
    fetchImpl: options.fetchImpl ?? ((input, init) => fetch(input, init)),
    signal: inner.signal,
    retries: options.retries ?? 5,
    backoffMs: options.backoffMs ?? 500,
    idleMs: options.idleTimeoutMs ?? defaultIdleTimeoutMs(),
    verifyMd5: options.verifyMd5 ?? true,
    stats,
    onBytes: (delta) => {
      if (!counted) return;
      progress.bytesDone += delta;
      report(false);
    },
    onAnnounce: announce,
  });
  const put = async (file: string, bytes: Uint8Array) => {
    try {
      await store.put(url(file), bytes);
    } catch (error) {
      const name = (error as Error).name;
      const hint =
        name === 'QuotaExceededError'
          ? 'storage is full: free space or delete cached models, then try again'
          : 'check the storage and try again';
      throw new ModelDownloadError(`${url(file)}: could not be stored (${(error as Error).message || name}); ${hint}`);
    }
  };

  let filesFromStore = 0;
  const decoder = new TextDecoder();
  /** A small JSON file: from the store, or fetched (stored later, after the checks). */
  const smallFile = async (
    file: string,
    optional: boolean,
    what: string,
  ): Promise<{ bytes: Uint8Array; stored: boolean } | undefined> => {
    const have = await store.get(url(file));
    if (have) {
      filesFromStore++;
      return { bytes: have, stored: true };
    }
    const bytes = await fetchFile(
      ctx(() => undefined, false),
      url(file),
      { optional, what, limit: MODEL_FILE_LIMITS[file as keyof typeof MODEL_FILE_LIMITS] },
    );
    return bytes ? { bytes, stored: false } : undefined;
  };

  try {
    const config = await smallFile(CONFIG, false, "the model's architecture and quantization");
    let cacheFile: 'tensor-cache.json' | 'ndarray-cache.json' = 'tensor-cache.json';
    let index = await smallFile(cacheFile, true, 'the index of the weight shards');
    if (!index) {
      cacheFile = 'ndarray-cache.json';
      index = await smallFile(cacheFile, true, 'the index of the weight shards');
    }
    if (!index)
      throw new ModelUrlError(
        `${url('tensor-cache.json')}: not found (nor ${url('ndarray-cache.json')}); is ${base.href} an MLC model directory?`,
      );

    let llama: LlamaConfig | undefined;
    const cache = parseTensorCacheText(decoder.decode(index.bytes), url(cacheFile));
    if (options.requireLlama ?? true) {
      llama = parseLlamaConfigText(decoder.decode(config!.bytes), url(CONFIG));
      checkLlamaTensors(cache, llama, url(cacheFile));
    }
    for (const shard of cache.shards) {
      // A dataPath such as "../x" or "https://elsewhere/x" would fetch (and store) outside the model.
      if (!url(shard.dataPath).startsWith(base.href) || url(shard.dataPath) === base.href) {
        throw new ModelFormatError(
          url(cacheFile),
          `shard dataPath ${JSON.stringify(shard.dataPath)} points outside the model directory; the index is not a valid MLC tensor cache`,
        );
      }
    }
    const shardBytes = cache.shards.reduce((sum, s) => sum + s.nbytes, 0);
    if (options.maxBytes !== undefined && shardBytes > options.maxBytes) {
      throw new ModelDownloadError(
        `${base.href}: the model's shards total ${formatBytes(shardBytes)} (tensor-cache.json), over the limit of ${formatBytes(options.maxBytes)}; pick a smaller model or free space`,
      );
    }
    if (!config!.stored) await put(CONFIG, config!.bytes);
    if (!index.stored) await put(cacheFile, index.bytes);

    progress.bytesTotal = config!.bytes.length + index.bytes.length + shardBytes;
    progress.bytesDone = config!.bytes.length + index.bytes.length;
    progress.filesTotal = 3 + cache.shards.length;
    progress.filesDone = 2;
    report(true);

    interface Task {
      file: string;
      nbytes?: number;
      md5?: string;
    }
    const tasks: Task[] = [
      { file: TOKENIZER },
      ...cache.shards.map((s) => ({ file: s.dataPath, nbytes: s.nbytes, md5: s.md5sum })),
    ];
    let next = 0;
    let firstError: unknown;

    const runTask = async (task: Task) => {
      const key = url(task.file);
      if (await store.has(key)) {
        let good = true;
        if (options.verifyStored && task.nbytes !== undefined) {
          const bytes = await store.get(key);
          const shard = cache.shards.find((s) => s.dataPath === task.file)!;
          try {
            checkShardBytes(shard, bytes ?? new Uint8Array(0), key, options.verifyMd5 ?? true);
          } catch {
            good = false;
          }
        }
        if (good) {
          const size = task.nbytes ?? (await store.get(key))?.length ?? 0;
          if (task.nbytes === undefined) progress.bytesTotal += size;
          progress.bytesDone += size;
          progress.filesDone++;
          filesFromStore++;
          report(true);
          return;
        }
      }
      let announced = 0;
      const bytes = await fetchFile(
        ctx((n) => {
          announced = n;
          progress.bytesTotal += n;
        }),
        key,
        {
          nbytes: task.nbytes,
          md5: task.md5,
          limit: task.nbytes === undefined ? MODEL_FILE_LIMITS[TOKENIZER] : undefined,
          what: task.file === TOKENIZER ? TOKENIZER_NEED : 'a weight shard listed in the tensor cache',
        },
      );
      if (!bytes) throw new ModelUrlError(`${key}: not found`);
      if (task.nbytes === undefined) progress.bytesTotal += bytes.length - announced;
      await put(task.file, bytes);
      progress.filesDone++;
      report(true);
    };

    const worker = async () => {
      while (next < tasks.length && !inner.signal.aborted) {
        const task = tasks[next++];
        try {
          await runTask(task);
        } catch (error) {
          if (firstError === undefined && !(inner.signal.aborted && isAbortError(error))) firstError = error;
          inner.abort(error);
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, tasks.length) }, worker));
    if (userSignal?.aborted) throw abortReason(userSignal);
    if (firstError !== undefined) throw firstError;
    report(true);
    return {
      baseUrl: base.href,
      config: llama,
      cache,
      cacheFile,
      files: [CONFIG, cacheFile, TOKENIZER, ...cache.shards.map((s) => s.dataPath)],
      bytesTotal: progress.bytesTotal,
      bytesFetched: stats.bytesFetched,
      filesFromStore,
      rangeResumes: stats.rangeResumes,
      restarts: stats.restarts,
    };
  } catch (error) {
    if (userSignal?.aborted) throw abortReason(userSignal);
    throw error;
  } finally {
    userSignal?.removeEventListener('abort', onUserAbort);
  }
}
