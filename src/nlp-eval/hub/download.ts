/**
 * Downloads one split of a Hugging Face dataset as the hub serves it to everyone: the Parquet files that its
 * dataset viewer converts every public dataset to, on the dataset's `refs/convert/parquet` branch, one folder
 * per config and split (`<config>/<split>/0000.parquet`, more files for large splits). Two kinds of request,
 * both under one endpoint (https://huggingface.co, or a mirror laid out the same way):
 *   listing  GET <endpoint>/api/datasets/<dataset>/tree/refs%2Fconvert%2Fparquet/<config>/<split>
 *            -> [{"type": "file", "path": "<config>/<split>/0000.parquet", "size": N, "oid": <git blob sha1>,
 *                 "lfs": {"oid": <sha256>, "size": N}}, ...]   (the hub's tree API)
 *   file     GET <endpoint>/datasets/<dataset>/resolve/refs%2Fconvert%2Fparquet/<path>
 * A dataset without configs has the config "default". Each file is checked against the listing: its size, then
 * its SHA-256 (the LFS oid) or, for a file kept in git itself, its git blob SHA-1. The listing and the files are
 * kept in the store under their URLs, like a model's files: a second run reads them from there without the
 * network, and a download cancelled or broken off resumes from the bytes it kept.
 */
import { defaultIdleTimeoutMs } from '../../util/http-body';
import { BenchDownloadError } from '../errors';
import type { BenchHome } from '../homes';
import { fetchFile, Held } from './fetch-file';
import { partialKey, type DatasetStore } from './store';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
const REVISION = encodeURIComponent('refs/convert/parquet');

export interface HubDownloadProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface HubDownloadOptions {
  store: DatasetStore;
  /** The hub (default https://huggingface.co): a mirror, or a local server in tests. */
  endpoint?: string;
  fetchImpl?: typeof fetch;
  signal?: AbortSignal;
  /** Abort an attempt that receives nothing for this long (default 30 s; TWOSOME_IDLE_TIMEOUT_S). */
  idleTimeoutMs?: number;
  /** Attempts without progress a file may fail (default 5). */
  retries?: number;
  /** First retry delay (default 500 ms). */
  backoffMs?: number;
  /** The largest file accepted (default 512 MiB; the benchmarks' files are a few MB). */
  maxFileBytes?: number;
  onProgress?(progress: HubDownloadProgress): void;
}

/** One file of the listing. */
export interface HubFile {
  url: string;
  size: number;
  /** SHA-256 (hex) for a file in LFS, else null. */
  sha256: string | null;
  /** git blob SHA-1 (hex) of a file kept in git, else null. */
  gitSha1: string | null;
}

/** A split's files with their bytes, in path order. */
export interface HubSplit {
  files: { url: string; bytes: Uint8Array }[];
  /** Files the store already had. */
  fromStore: number;
  /** Bytes received over the network. */
  bytesFetched: number;
}

/** The endpoint as a base URL without a trailing slash; a bad one is a one-line error. */
export function hubEndpoint(endpoint: string | undefined): string {
  const text = (endpoint ?? DEFAULT_HUB_ENDPOINT).trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new BenchDownloadError(`"${text}" is not a URL; give the hub's address, e.g. ${DEFAULT_HUB_ENDPOINT}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BenchDownloadError(`${text}: the hub's address must be http(s)://, e.g. ${DEFAULT_HUB_ENDPOINT}`);
  }
  return url.href.replace(/\/+$/, '');
}

const segments = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export function hubListingUrl(endpoint: string, hub: BenchHome['hub']): string {
  const config = hub.config ?? 'default';
  const folder = `${segments(config)}/${segments(hub.split)}`;
  return `${endpoint}/api/datasets/${segments(hub.dataset)}/tree/${REVISION}/${folder}`;
}

export function hubFileUrl(endpoint: string, dataset: string, path: string): string {
  return `${endpoint}/datasets/${segments(dataset)}/resolve/${REVISION}/${segments(path)}`;
}

const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

/** The listing's Parquet files under <config>/<split>/, checked; a malformed listing is a one-line error. */
export function parseListing(text: string, listingUrl: string, endpoint: string, hub: BenchHome['hub']): HubFile[] {
  const bad = (detail: string) =>
    new BenchDownloadError(`${listingUrl}: ${detail}; is the endpoint a Hugging Face hub?`);
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch {
    throw bad('the listing is not JSON');
  }
  if (!Array.isArray(entries)) throw bad('the listing is not a JSON array');
  const folder = `${hub.config ?? 'default'}/${hub.split}/`;
  const files: HubFile[] = [];
  for (const entry of entries as Record<string, unknown>[]) {
    if (typeof entry !== 'object' || entry === null || entry.type !== 'file') continue;
    const path = entry.path;
    if (typeof path !== 'string' || !path.endsWith('.parquet')) continue;
    if (!path.startsWith(folder) || path.split('/').some((s) => s === '..' || s === '')) {
      throw bad(`the listing names ${JSON.stringify(path)}, outside ${folder}`);
    }
    const lfs = entry.lfs as Record<string, unknown> | undefined;
    const size = lfs?.size ?? entry.size;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(`no size for ${path}`);
    const sha256 = typeof lfs?.oid === 'string' && HEX(64).test(lfs.oid) ? lfs.oid : null;
    const gitSha1 = !lfs && typeof entry.oid === 'string' && HEX(40).test(entry.oid) ? entry.oid : null;
    files.push({ url: hubFileUrl(endpoint, hub.dataset, path), size, sha256, gitSha1 });
  }
  if (files.length === 0) {
    throw new BenchDownloadError(
      `${listingUrl}: no Parquet files for ${hub.dataset} config "${hub.config ?? 'default'}" split "${hub.split}" ` +
        "(the hub's conversion may be missing); pick the benchmark's files from disk instead",
    );
  }
  return files.sort((a, b) => (a.url < b.url ? -1 : 1));
}

async function digestHex(algorithm: 'SHA-256' | 'SHA-1', bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(algorithm, bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Null when `bytes` is the listed file; else what is wrong. */
export async function checkFile(file: HubFile, bytes: Uint8Array): Promise<string | null> {
  if (bytes.length !== file.size) return `${bytes.length} bytes where the listing says ${file.size}`;
  if (file.sha256) {
    const actual = await digestHex('SHA-256', bytes);
    return actual === file.sha256 ? null : `SHA-256 ${actual} where the listing says ${file.sha256}`;
  }
  if (file.gitSha1) {
    const header = new TextEncoder().encode(`blob ${bytes.length}\0`);
    const blob = new Uint8Array(header.length + bytes.length);
    blob.set(header);
    blob.set(bytes, header.length);
    const actual = await digestHex('SHA-1', blob);
    return actual === file.gitSha1 ? null : `git SHA-1 ${actual} where the listing says ${file.gitSha1}`;
  }
  return null;
}

/** The split's files (listing first), from the store where it has them, else fetched and stored. */
export async function downloadHubSplit(hub: BenchHome['hub'], options: HubDownloadOptions): Promise<HubSplit> {
  const endpoint = hubEndpoint(options.endpoint);
  const { store } = options;
  const signal = options.signal ?? new AbortController().signal;
  const progress: HubDownloadProgress = { bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0 };
  const report = () => options.onProgress?.({ ...progress });
  let bytesFetched = 0;
  const fetchOptions = (size: number | undefined, counted: boolean) => ({
    fetchImpl: options.fetchImpl ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init)),
    signal,
    idleMs: options.idleTimeoutMs ?? defaultIdleTimeoutMs(),
    retries: options.retries ?? 5,
    backoffMs: options.backoffMs ?? 500,
    size,
    maxBytes: options.maxFileBytes ?? 512 * 1024 * 1024,
    onBytes: (delta: number) => {
      if (delta > 0) bytesFetched += delta;
      if (!counted) return;
      progress.bytesDone += delta;
      report();
    },
  });

  const listingUrl = hubListingUrl(endpoint, hub);
  let listingBytes = await store.get(listingUrl);
  const listingCached = listingBytes !== undefined;
  listingBytes ??= await fetchFile(listingUrl, new Held(), { ...fetchOptions(undefined, false), maxBytes: 1 << 20 });
  const listed = parseListing(new TextDecoder().decode(listingBytes), listingUrl, endpoint, hub);
  if (!listingCached) await put(store, listingUrl, listingBytes);
  progress.filesTotal = listed.length;
  progress.bytesTotal = listed.reduce((sum, f) => sum + f.size, 0);
  report();

  const files: HubSplit['files'] = [];
  let fromStore = 0;
  for (const file of listed) {
    if (signal.aborted) throw signal.reason;
    const stored = await store.get(file.url);
    if (stored && (await checkFile(file, stored)) === null) {
      fromStore++;
      progress.bytesDone += file.size;
    } else {
      try {
        files.push({ url: file.url, bytes: await fetchChecked(store, file, fetchOptions(file.size, true)) });
      } catch (error) {
        // A file gone or changed on the hub means the kept listing is stale: the next try lists again.
        if (error instanceof BenchDownloadError) await store.delete(listingUrl).catch(() => undefined);
        throw error;
      }
      progress.filesDone++;
      report();
      continue;
    }
    files.push({ url: file.url, bytes: stored });
    progress.filesDone++;
    report();
  }
  return { files, fromStore, bytesFetched };
}

async function put(store: DatasetStore, key: string, bytes: Uint8Array): Promise<void> {
  try {
    await store.put(key, bytes);
  } catch (error) {
    const name = (error as Error).name;
    const hint = name === 'QuotaExceededError' ? 'storage is full: free some space' : 'check the storage';
    throw new BenchDownloadError(`${key}: could not be stored (${(error as Error).message || name}); ${hint}`);
  }
}

/**
 * Fetches a listed file, resuming from the bytes a stopped download kept; checks it against the listing (a
 * mismatch is fetched once more from the start, then reported) and stores it. On a cancel or a failure the
 * bytes received are kept for the next try.
 */
async function fetchChecked(
  store: DatasetStore,
  file: HubFile,
  options: Parameters<typeof fetchFile>[2],
): Promise<Uint8Array> {
  const partial = partialKey(file.url);
  const held = new Held(await store.get(partial));
  if (held.length > 0) options.onBytes(held.length);
  for (let attempt = 0; ; attempt++) {
    let bytes: Uint8Array;
    try {
      bytes = await fetchFile(file.url, held, options);
    } catch (error) {
      if (held.length > 0) await store.put(partial, held.bytes()).catch(() => undefined);
      throw error;
    }
    const problem = await checkFile(file, bytes);
    if (problem === null) {
      await put(store, file.url, bytes);
      await store.delete(partial).catch(() => undefined);
      return bytes;
    }
    await store.delete(partial).catch(() => undefined);
    options.onBytes(-held.length);
    held.reset();
    if (attempt >= 1) {
      const hint = 'the hub may have replaced it: clear the downloaded benchmarks and retry';
      throw new BenchDownloadError(`${file.url}: ${problem} (twice); ${hint}`);
    }
  }
}
