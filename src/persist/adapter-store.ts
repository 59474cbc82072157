/**
 * Adapters the user loaded (files, a URL, a drop, a `#share=` link), kept in IndexedDB (the `idb` wrapper) so
 * that the adapter in use comes back after a reload. Its own database, apart from the runs': an adapter set by
 * training is already kept as its run's checkpoint and is never stored here. Three object stores:
 *
 *   adapters  SavedAdapterMeta by id: what the list shows (label, source, model, size, date), no weights
 *   payloads  { id, payload }: the bytes the adapter was decoded from (the files as given, or the link's
 *             fragment), so that using it again decodes and validates it exactly as a fresh load did
 *   state     { key: 'inUse', id }: the saved adapter the page was last using, restored on the next start
 *
 * Nothing read back is trusted: `get` returns the record unchecked, `checkSavedAdapter` checks its structure,
 * and the caller then decodes the payload through the same validation as a fresh load (src/share) and the
 * worker checks the weights against its model. A damaged entry is listed as damaged, never dropped silently.
 *
 * `put` (with the eviction it causes) and `delete` (with the in-use pointer it may clear) each run in ONE
 * readwrite transaction, so a tab closed mid-write leaves the list, the payloads and the pointer as before
 * or as after, never a meta without its payload or a pointer to a deleted entry.
 *
 * Caps (SAVED_ADAPTER_CAPS): at most 16 adapters and 256 MiB in all. Only saving a new adapter drops
 * anything: the oldest entries go first, until the new one fits. An adapter larger than the byte cap alone
 * is refused with a message (it stays in use for the visit, it just is not kept).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { MiB, SHARE_LINK_MAX_CHARS } from '../share/limits';
import { SHARE_FRAGMENT_PREFIX } from '../share/link';

/** How the adapter reached the page. */
export type SavedAdapterSource = 'file' | 'url' | 'link';
export const SAVED_ADAPTER_SOURCES: readonly SavedAdapterSource[] = ['file', 'url', 'link'];

/** One file as given: its name (a file name, or the host/path of a URL) and its bytes. */
export interface PayloadFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * What an adapter was decoded from. Kept as given (not re-encoded) so that decoding it again yields the same
 * weights, warnings and base model, through the same checks.
 */
export type AdapterPayload =
  /** A twosome bundle (.zip) or adapter_model.safetensors, and the adapter_config.json given with it. */
  | { kind: 'files'; main: PayloadFile; config: PayloadFile | null }
  /** A share link's fragment ("#share=..."): decoded again with decodeShareLink. */
  | { kind: 'link'; fragment: string };

/** What the list shows; read without the weights. */
export interface SavedAdapterMeta {
  id: string;
  /** The file name or URL it was loaded from ("adapter_model.safetensors", "huggingface.co/x.zip"). */
  label: string;
  source: SavedAdapterSource;
  /** The model id in use when it was loaded (a bundle or link may have switched to it). */
  modelId: string;
  /** ISO time; strictly increasing over saves, so "oldest" is always well defined. */
  savedAt: string;
  /** The payload's size (bytes of the files, or characters of the fragment). */
  bytes: number;
  /** Set by `list` when the stored meta is malformed: what is wrong. Such an entry can only be deleted. */
  damaged?: string;
}

export interface SavedAdapter extends SavedAdapterMeta {
  payload: AdapterPayload;
}

export interface SavedAdapterInput {
  label: string;
  source: SavedAdapterSource;
  modelId: string;
  payload: AdapterPayload;
}

export interface PutResult {
  saved: SavedAdapterMeta;
  /** Older entries dropped to make room (oldest first). */
  dropped: SavedAdapterMeta[];
  /** True when an identical entry (label, source, model, bytes) was there already: it was refreshed instead. */
  replaced: boolean;
}

export interface AdapterCaps {
  maxAdapters: number;
  maxBytes: number;
}

/**
 * 16 adapters, 256 MiB: the paper's 7B q,v r = 8 adapter is 16.8 MB and the micro model's are KBs, so this
 * keeps a working set of several without taking a large share of the site's quota (runs live there too).
 */
export const SAVED_ADAPTER_CAPS: Readonly<AdapterCaps> = Object.freeze({ maxAdapters: 16, maxBytes: 256 * MiB });

const MAX_LABEL_CHARS = 2048;
const MAX_MODEL_ID_CHARS = 256;

/** What the Adapter card needs from storage (IndexedDB here). */
export interface AdapterStore {
  readonly caps: Readonly<AdapterCaps>;
  /** Every entry, oldest first; malformed ones carry `damaged`. */
  list(): Promise<SavedAdapterMeta[]>;
  /** The stored record (meta and payload) as read back, unchecked: pass it to checkSavedAdapter. */
  get(id: string): Promise<unknown>;
  /** Saves an adapter (dropping the oldest entries beyond the caps); `use` also makes it the one in use. */
  put(input: SavedAdapterInput, options?: { use?: boolean; now?: Date }): Promise<PutResult>;
  /** Deletes an entry (the user's Delete); clears the in-use pointer when it named it. */
  delete(id: string): Promise<void>;
  /** The saved adapter last in use, or null (unchecked: it may name an entry that is damaged). */
  getInUse(): Promise<string | null>;
  setInUse(id: string | null): Promise<void>;
  close(): void;
}

/** A stored record that cannot be used: says what is wrong and what to do. */
export class SavedAdapterError extends Error {
  constructor(label: string, problem: string) {
    super(`saved adapter ${label}: ${problem}; the stored copy is damaged: delete it and load the adapter again`);
    this.name = 'SavedAdapterError';
  }
}

interface AdaptersSchema extends DBSchema {
  adapters: { key: string; value: SavedAdapterMeta };
  payloads: { key: string; value: { id: string; payload: AdapterPayload } };
  state: { key: string; value: { key: 'inUse'; id: string | null } };
}

export const ADAPTERS_DB_NAME = 'twosome-web-adapters';
const DB_VERSION = 1;

/** Bytes (files) or characters (a link's fragment) the payload takes. */
export function payloadSize(payload: AdapterPayload): number {
  if (payload.kind === 'link') return payload.fragment.length;
  return payload.main.bytes.byteLength + (payload.config?.bytes.byteLength ?? 0);
}

/** "16.8 MiB", "256 MiB", "300 bytes": sizes in messages. */
export function sizeText(bytes: number): string {
  if (bytes < MiB) return `${bytes} bytes`;
  const mib = bytes / MiB;
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || value === undefined) return String(value);
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  return Array.isArray(value) ? 'a list' : typeof value;
}

/** Checks the meta fields; returns the problem, or null. */
function metaProblem(value: Record<string, unknown>): string | null {
  const { id, label, source, modelId, savedAt, bytes } = value;
  if (typeof id !== 'string' || id.length === 0) return `its id is ${shown(id)}, not text`;
  if (typeof label !== 'string' || label.length === 0 || label.length > MAX_LABEL_CHARS)
    return `its label is ${shown(label)}`;
  if (typeof source !== 'string' || !(SAVED_ADAPTER_SOURCES as readonly string[]).includes(source))
    return `its source is ${shown(source)}, not one of ${SAVED_ADAPTER_SOURCES.join(', ')}`;
  if (typeof modelId !== 'string' || modelId.length === 0 || modelId.length > MAX_MODEL_ID_CHARS)
    return `its model id is ${shown(modelId)}`;
  if (typeof savedAt !== 'string' || Number.isNaN(Date.parse(savedAt))) return `its date is ${shown(savedAt)}`;
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) return `its size is ${shown(bytes)}`;
  return null;
}

function fileProblem(value: unknown, what: string): string | null {
  if (!isRecord(value)) return `${what} is ${shown(value)}, not a file`;
  if (typeof value.name !== 'string' || value.name.length === 0 || value.name.length > MAX_LABEL_CHARS)
    return `${what}'s name is ${shown(value.name)}`;
  if (!(value.bytes instanceof Uint8Array)) return `${what}'s bytes are ${shown(value.bytes)}, not bytes`;
  return null;
}

function payloadProblem(value: unknown): string | null {
  if (!isRecord(value)) return `its payload is ${shown(value)}`;
  if (value.kind === 'link') {
    const { fragment } = value;
    if (typeof fragment !== 'string' || !fragment.startsWith(SHARE_FRAGMENT_PREFIX))
      return `its link is ${shown(fragment)}, not a "${SHARE_FRAGMENT_PREFIX}..." fragment`;
    return null;
  }
  if (value.kind === 'files')
    return (
      fileProblem(value.main, 'its adapter file') ??
      (value.config === null ? null : fileProblem(value.config, 'its adapter_config.json'))
    );
  return `its payload kind is ${shown(value.kind)}, not "files" or "link"`;
}

/**
 * A record read back by `get`, checked field by field (types, sizes, that the size matches the payload).
 * Throws SavedAdapterError naming the entry and what is wrong; the payload's bytes are NOT decoded here.
 */
export function checkSavedAdapter(value: unknown, id: string): SavedAdapter {
  if (value === undefined)
    throw new SavedAdapterError(JSON.stringify(id), 'it is not in this browser (deleted in another tab?)');
  if (!isRecord(value)) throw new SavedAdapterError(JSON.stringify(id), `the record is ${shown(value)}`);
  const label =
    typeof value.label === 'string' && value.label.length > 0
      ? JSON.stringify(value.label.slice(0, 200))
      : JSON.stringify(id);
  const problem =
    metaProblem(value) ??
    (value.id !== id ? `it is stored as ${shown(value.id)}, not ${JSON.stringify(id)}` : null) ??
    payloadProblem(value.payload);
  if (problem) throw new SavedAdapterError(label, problem);
  const saved = value as unknown as SavedAdapter;
  const size = payloadSize(saved.payload);
  if (size !== saved.bytes)
    throw new SavedAdapterError(label, `its payload has ${size} bytes but ${saved.bytes} were saved`);
  return saved;
}

function checkInput(input: SavedAdapterInput, caps: AdapterCaps): void {
  const { label, source, modelId, payload } = input;
  if (typeof label !== 'string' || label.length === 0 || label.length > MAX_LABEL_CHARS)
    throw new RangeError(
      `an adapter is saved under a label of 1 to ${MAX_LABEL_CHARS} characters, not ${shown(label)}`,
    );
  if (!SAVED_ADAPTER_SOURCES.includes(source))
    throw new RangeError(`unknown adapter source ${shown(source)} (use ${SAVED_ADAPTER_SOURCES.join(', ')})`);
  if (typeof modelId !== 'string' || modelId.length === 0 || modelId.length > MAX_MODEL_ID_CHARS)
    throw new RangeError(`${label}: the model id ${shown(modelId)} is not valid`);
  const problem = payloadProblem(payload);
  if (problem) throw new RangeError(`${label}: ${problem.replace(/^its /, 'the ')}`);
  if (payload.kind === 'link' && payload.fragment.length > SHARE_LINK_MAX_CHARS)
    throw new RangeError(
      `${label}: the link has ${payload.fragment.length} characters, over the link limit of ${SHARE_LINK_MAX_CHARS}`,
    );
  const size = payloadSize(payload);
  if (size > caps.maxBytes) {
    throw new RangeError(
      `${label} is ${sizeText(size)}, over the ${sizeText(caps.maxBytes)} kept for saved adapters, so it is not kept after a reload; use Save bundle (.zip) to keep it as a file`,
    );
  }
}

/** A copy whose buffer is exactly the bytes: a view's whole buffer would otherwise be cloned into the store. */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
    ? bytes
    : bytes.slice();
}

function ownPayload(payload: AdapterPayload): AdapterPayload {
  if (payload.kind === 'link') return { kind: 'link', fragment: payload.fragment };
  const file = (f: PayloadFile): PayloadFile => ({ name: f.name, bytes: ownBytes(f.bytes) });
  return { kind: 'files', main: file(payload.main), config: payload.config ? file(payload.config) : null };
}

function samePayload(a: AdapterPayload, b: unknown): boolean {
  if (!isRecord(b) || payloadProblem(b) !== null) return false;
  const other = b as AdapterPayload;
  if (a.kind === 'link') return other.kind === 'link' && other.fragment === a.fragment;
  if (other.kind !== 'files') return false;
  const same = (x: PayloadFile | null, y: PayloadFile | null) => {
    if (x === null || y === null) return x === y;
    if (x.name !== y.name || x.bytes.byteLength !== y.bytes.byteLength) return false;
    for (let i = 0; i < x.bytes.byteLength; i++) if (x.bytes[i] !== y.bytes[i]) return false;
    return true;
  };
  return same(a.main, other.main) && same(a.config, other.config);
}

function newId(): string {
  const random =
    typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function'
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
  return `adapter-${random}`;
}

/** A storage error in words the user can act on. */
function storageError(error: unknown): Error {
  if (error instanceof DOMException && error.name === 'QuotaExceededError') {
    return new Error(
      'the browser has no room left for it (storage quota reached): delete saved adapters or stored runs, then load it again',
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function byAge(a: SavedAdapterMeta, b: SavedAdapterMeta): number {
  return a.savedAt < b.savedAt ? -1 : a.savedAt > b.savedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class IdbAdapterStore implements AdapterStore {
  private constructor(
    private readonly db: IDBPDatabase<AdaptersSchema>,
    readonly caps: Readonly<AdapterCaps>,
  ) {}

  /** Opens (creating on first use) the adapters database (tests load fake-indexeddb/auto first). */
  static async open(name = ADAPTERS_DB_NAME, caps: Partial<AdapterCaps> = {}): Promise<IdbAdapterStore> {
    if (typeof indexedDB === 'undefined')
      throw new Error('this browser has no IndexedDB (private mode?): loaded adapters are not kept after a reload');
    const limits = { ...SAVED_ADAPTER_CAPS, ...caps };
    if (
      !Number.isSafeInteger(limits.maxAdapters) ||
      limits.maxAdapters < 1 ||
      !Number.isSafeInteger(limits.maxBytes) ||
      limits.maxBytes < 1
    ) {
      throw new RangeError(`adapter store caps must be positive integers, not ${JSON.stringify(limits)}`);
    }
    const db = await openDB<AdaptersSchema>(name, DB_VERSION, {
      upgrade(db) {
        db.createObjectStore('adapters', { keyPath: 'id' });
        db.createObjectStore('payloads', { keyPath: 'id' });
        db.createObjectStore('state', { keyPath: 'key' });
      },
    });
    return new IdbAdapterStore(db, Object.freeze(limits));
  }

  async list(): Promise<SavedAdapterMeta[]> {
    const tx = this.db.transaction('adapters', 'readonly');
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
    return keys.map((key, i) => this.readMeta(String(key), values[i])).sort(byAge);
  }

  /** A meta as read back: checked, or marked damaged (shown with its problem; it can be deleted). */
  private readMeta(key: string, value: unknown): SavedAdapterMeta {
    const problem = isRecord(value) ? metaProblem(value) : `the record is ${shown(value)}`;
    if (problem === null) {
      const v = value as unknown as SavedAdapterMeta;
      return { id: v.id, label: v.label, source: v.source, modelId: v.modelId, savedAt: v.savedAt, bytes: v.bytes };
    }
    const label =
      isRecord(value) && typeof value.label === 'string' && value.label.length > 0
        ? value.label.slice(0, 200)
        : `entry ${key}`;
    return { id: key, label, source: 'file', modelId: '?', savedAt: '', bytes: 0, damaged: problem };
  }

  async get(id: string): Promise<unknown> {
    const tx = this.db.transaction(['adapters', 'payloads'], 'readonly');
    const [meta, row] = await Promise.all([
      tx.objectStore('adapters').get(id),
      tx.objectStore('payloads').get(id),
      tx.done,
    ]);
    if (meta === undefined) return undefined;
    return isRecord(meta) ? { ...meta, payload: isRecord(row) ? row.payload : row } : meta;
  }

  async put(input: SavedAdapterInput, options: { use?: boolean; now?: Date } = {}): Promise<PutResult> {
    checkInput(input, this.caps);
    const payload = ownPayload(input.payload);
    const bytes = payloadSize(payload);
    const tx = this.db.transaction(['adapters', 'payloads', 'state'], 'readwrite');
    const done = tx.done;
    done.catch(() => {}); // observed below; an abort must not surface as an unhandled rejection
    const writes: Promise<unknown>[] = [];
    try {
      // Only IndexedDB requests of this transaction are awaited here, so it stays open until the writes.
      const adapters = tx.objectStore('adapters');
      const keys = await adapters.getAllKeys();
      const all = (await adapters.getAll()).map((v, i) => this.readMeta(String(keys[i]), v)).sort(byAge);
      // The same adapter loaded again (a reload of a ?adapter= page, the same file picked twice) refreshes its
      // entry instead of filling the list with copies.
      let previous: SavedAdapterMeta | undefined;
      for (const m of all) {
        if (
          m.damaged ||
          m.label !== input.label ||
          m.source !== input.source ||
          m.modelId !== input.modelId ||
          m.bytes !== bytes
        )
          continue;
        const row = await tx.objectStore('payloads').get(m.id);
        if (samePayload(payload, row?.payload)) previous = m;
      }
      const newest = all.at(-1)?.savedAt;
      let time = (options.now ?? new Date()).getTime();
      if (newest && Date.parse(newest) >= time) time = Date.parse(newest) + 1;
      const saved: SavedAdapterMeta = {
        id: previous?.id ?? newId(),
        label: input.label,
        source: input.source,
        modelId: input.modelId,
        savedAt: new Date(time).toISOString(),
        bytes,
      };

      // Oldest first, until the new entry fits both caps.
      const kept = all.filter((m) => m.id !== saved.id);
      const dropped: SavedAdapterMeta[] = [];
      let total = kept.reduce((n, m) => n + m.bytes, 0) + bytes;
      while (kept.length > 0 && (kept.length + 1 > this.caps.maxAdapters || total > this.caps.maxBytes)) {
        const old = kept.shift()!;
        dropped.push(old);
        total -= old.bytes;
      }
      const state = tx.objectStore('state');
      const inUse = (await state.get('inUse'))?.id ?? null;
      for (const old of dropped) {
        writes.push(adapters.delete(old.id), tx.objectStore('payloads').delete(old.id));
      }
      writes.push(adapters.put(saved), tx.objectStore('payloads').put({ id: saved.id, payload }));
      if (options.use) writes.push(state.put({ key: 'inUse', id: saved.id }));
      else if (inUse !== null && dropped.some((d) => d.id === inUse))
        writes.push(state.put({ key: 'inUse', id: null }));
      await Promise.all([...writes, done]);
      return { saved, dropped, replaced: previous !== undefined };
    } catch (error) {
      for (const w of writes) w.catch(() => {});
      try {
        tx.abort();
      } catch {
        // already finished (it failed by itself)
      }
      throw storageError(error);
    }
  }

  async delete(id: string): Promise<void> {
    const tx = this.db.transaction(['adapters', 'payloads', 'state'], 'readwrite');
    const state = tx.objectStore('state');
    const inUse = (await state.get('inUse'))?.id ?? null;
    await Promise.all([
      tx.objectStore('adapters').delete(id),
      tx.objectStore('payloads').delete(id),
      ...(inUse === id ? [state.put({ key: 'inUse', id: null })] : []),
      tx.done,
    ]);
  }

  async getInUse(): Promise<string | null> {
    const row: unknown = await this.db.get('state', 'inUse');
    return isRecord(row) && typeof row.id === 'string' ? row.id : null;
  }

  async setInUse(id: string | null): Promise<void> {
    await this.db.put('state', { key: 'inUse', id });
  }

  close(): void {
    this.db.close();
  }
}
