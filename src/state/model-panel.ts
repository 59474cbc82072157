/**
 * The models slice: the catalog (web-llm's records, loaded by the models worker) and the folders picked in this
 * page, which say what a model id names (models.ts: findModel), and the Model panel's state: the adapter the
 * workers see and the fit check of each model on it, the models in web-llm's caches, downloads in progress
 * (bytes only: the models worker does the work), the cache backend new downloads go to, and custom repos
 * entered in this page. Loading a model goes through the playground slice (selectModel), which loads it in the
 * playground worker.
 */
import type { WebLlmBackend } from '../llm/model/cache-source';
import { catalogConfig, estimateSizes, type CatalogRecord } from '../llm/model/catalog';
import { checkFit, type FitCheck } from '../llm/model/fit-check';
import type { Calls, ModelsApi } from '../worker/api';
import type { AdapterReply, CachedModelView, PickedFileSpec } from '../worker/protocol';
import { customModel, findModel, folderModel, isBuiltIn, type KnownModels, type ModelChoice } from './models';
import type { SliceApi } from './store';
import { describeError } from '../util/errors';
import { formatBytes } from '../util/format';
import { defaultIdleTimeoutMs } from '../util/http-body';

export type DownloadState =
  | { status: 'downloading'; bytesDone: number; bytesTotal: number }
  | { status: 'done'; bytesTotal: number }
  | { status: 'cancelled' }
  | { status: 'error'; message: string };

export interface ModelsState extends KnownModels {
  /** web-llm's Llama records; null while loading (empty after a failure: `catalogError` says why). */
  catalog: readonly CatalogRecord[] | null;
  catalogError: string | null;
  /** The Model panel is open. */
  open: boolean;
  /** Where downloads go: web-llm's AppConfig.cacheBackend (default its default, the Cache API). */
  downloadBackend: WebLlmBackend;
  /** A model to point at (a link named it but it is not cached). */
  focusId: string | null;
  adapter: AdapterReply | null;
  /** null until listed. */
  cached: CachedModelView[] | null;
  cacheError: string | null;
  /** By base URL. */
  downloads: Record<string, DownloadState>;
  /** Custom repo base URLs entered (or found in the cache), shown as rows. */
  custom: string[];
  /** Errors of the custom URL field and the folder picker. */
  customError: string | null;
  folderError: string | null;
}

export interface ModelsActions {
  /** Connects the slice to the models worker: asks for the adapter and loads the catalog. */
  attach(client: Calls<ModelsApi>): void;
  /** Loads the catalog with `load`; a failure leaves it empty and is kept in `catalogError`. */
  loadCatalog(load: () => Promise<readonly CatalogRecord[]>): Promise<void>;
  /** Settles when the latest catalog load has (at once when none was started). */
  catalogLoaded(): Promise<void>;
  /** The playground's cache check: a cached model loads; one that is not opens the panel at its row. */
  checkCached(choice: ModelChoice): Promise<{ ok: true } | { ok: false; reason: string }>;
  /**
   * Whether model `id` would have to be downloaded before it can load, changing nothing: what is missing
   * ("SmolLM2-135M-Instruct-q0f32-MLC is not downloaded (259 MiB)"), or null when it is here, built in, picked
   * from a folder, or cannot be told (no models worker: the load says what is missing).
   */
  missingDownload(id: string): Promise<string | null>;
  setOpen(open: boolean, focusId?: string | null): void;
  setDownloadBackend(backend: WebLlmBackend): void;
  refresh(): Promise<void>;
  /** Validates a custom repo URL and adds its row; returns its id, or null (customError says why). */
  addCustom(url: string): string | null;
  download(id: string): Promise<void>;
  cancel(id: string): void;
  remove(id: string): Promise<void>;
  /** Loads the model in the playground worker (it must be cached, or built in). */
  use(id: string): Promise<void>;
  useFolder(name: string, files: PickedFileSpec[]): Promise<void>;
}

export type ModelsSlice = ModelsState & ModelsActions;

/** The cached entry holding a model's files: a complete one first (a model may sit in both backends). */
export function cachedEntry(
  cached: readonly CachedModelView[] | null,
  choice: ModelChoice | undefined,
): CachedModelView | undefined {
  if (!cached || !choice || choice.source !== 'cache') return undefined;
  const entries = cached.filter((m) => m.baseUrl === choice.url);
  return entries.find((m) => m.complete) ?? entries[0];
}

/** Download size of a catalog record (weights as stored), from its architecture; undefined when unknown. */
const sizes = new Map<string, number | undefined>();
export function catalogDownloadBytes(record: CatalogRecord): number | undefined {
  if (!sizes.has(record.id)) {
    const config = catalogConfig(record);
    sizes.set(record.id, config ? estimateSizes(config).downloadBytes : undefined);
  }
  return sizes.get(record.id);
}

/** The fit check of a catalog record on this adapter (null while the adapter is unknown). */
const fits = new WeakMap<object, Map<string, FitCheck>>();
export function fitHere(record: CatalogRecord, adapter: AdapterReply | null): FitCheck | null {
  if (!adapter) return null;
  if (adapter.status !== 'ok') {
    return {
      verdict: 'no',
      reason: adapter.reason,
      neededBytes: undefined,
      budget: { bytes: undefined, source: '' },
      stepSeconds: undefined,
      precision: { path: 'f32', shaderF16: false, text: '' },
      warnings: [],
    };
  }
  let byId = fits.get(adapter);
  if (!byId) fits.set(adapter, (byId = new Map()));
  let fit = byId.get(record.id);
  if (!fit) byId.set(record.id, (fit = checkFit(record, adapter)));
  return fit;
}

export function createModelsSlice({ get, set, app }: SliceApi<'models'>): ModelsSlice {
  let client: Calls<ModelsApi> | null = null;
  let catalogLoad: Promise<void> = Promise.resolve();
  const choiceOf = (id: string) => findModel(get(), id);

  return {
    catalog: null,
    catalogError: null,
    folders: {},
    open: false,
    downloadBackend: 'cache',
    focusId: null,
    adapter: null,
    cached: null,
    cacheError: null,
    downloads: {},
    custom: [],
    customError: null,
    folderError: null,

    attach(next) {
      client = next;
      void next.adapter().then(
        (adapter) => set({ adapter }),
        (error) => set({ adapter: { status: 'missing', reason: describeError(error) } }),
      );
      void get()
        .loadCatalog(async () => {
          const reply = await next.catalog();
          if (reply.status === 'ok') return reply.records;
          throw new Error(`the model catalog (web-llm) could not be loaded: ${reply.reason}`);
        })
        .then(() => get().refresh());
    },

    loadCatalog(load) {
      catalogLoad = load().then(
        (catalog) => set({ catalog, catalogError: null }),
        (error: unknown) => set({ catalog: get().catalog ?? [], catalogError: describeError(error) }),
      );
      return catalogLoad;
    },

    catalogLoaded: () => catalogLoad,

    setDownloadBackend(backend) {
      set({ downloadBackend: backend });
    },

    setOpen(open, focusId) {
      set({ open, ...(focusId !== undefined ? { focusId } : {}) });
      if (open) void get().refresh();
    },

    async refresh() {
      if (!client) return;
      try {
        const reply = await client.listCached();
        if (reply.status !== 'ok') return set({ cached: [], cacheError: reply.reason });
        // Cached repos that are not catalog models show as custom rows.
        const custom = new Set(get().custom);
        for (const m of reply.models) if (m.ids.length === 0) custom.add(m.baseUrl);
        set({ cached: reply.models, cacheError: null, custom: [...custom] });
      } catch (error) {
        set({ cached: [], cacheError: describeError(error) });
      }
    },

    addCustom(url) {
      try {
        if (url.trim() === '')
          throw new Error('enter the URL of an MLC model repo, e.g. https://huggingface.co/mlc-ai/<repo>');
        const catalog = get().catalog ?? [];
        const choice = customModel(url, catalog);
        const known = catalog.find((r) => findModel(get(), r.id)?.url === choice.url);
        const id = known ? known.id : choice.id;
        if (!known && !get().custom.includes(choice.id)) set({ custom: [...get().custom, choice.id] });
        set({ customError: null, focusId: id });
        return id;
      } catch (error) {
        set({ customError: describeError(error) });
        return null;
      }
    },

    async download(id) {
      const choice = choiceOf(id);
      if (!client || !choice || choice.source !== 'cache') return;
      const base = choice.url;
      if (get().downloads[base]?.status === 'downloading') return;
      const put = (state: DownloadState) => set({ downloads: { ...get().downloads, [base]: state } });
      put({ status: 'downloading', bytesDone: 0, bytesTotal: 0 });
      try {
        // The idle timeout is read here: the worker has no localStorage, where the page's setting lives.
        const options = { backend: get().downloadBackend, idleTimeoutMs: defaultIdleTimeoutMs() };
        const reply = await client.download(base, options, (p) => {
          if (get().downloads[base]?.status === 'downloading')
            put({ status: 'downloading', bytesDone: p.bytesDone, bytesTotal: p.bytesTotal });
        });
        if (reply.status === 'done') put({ status: 'done', bytesTotal: reply.bytesTotal });
        else if (reply.status === 'cancelled') put({ status: 'cancelled' });
        else put({ status: 'error', message: `Downloading ${choice.label} failed: ${reply.message}` });
      } catch (error) {
        put({ status: 'error', message: `Downloading ${choice.label} failed: ${describeError(error)}` });
      }
      await get().refresh();
    },

    cancel(id) {
      const choice = choiceOf(id);
      if (client && choice) void client.cancel(choice.url).catch(() => {});
    },

    async remove(id) {
      const choice = choiceOf(id);
      if (!client || !choice || choice.source !== 'cache') return;
      try {
        await client.deleteCached(choice.url);
        const downloads = { ...get().downloads };
        delete downloads[choice.url];
        set({ downloads });
      } catch (error) {
        set({ cacheError: `Deleting ${choice.label} failed: ${describeError(error)}` });
      }
      await get().refresh();
    },

    async use(id) {
      if (!isBuiltIn(id) && !choiceOf(id)) return;
      set({ focusId: null });
      await app().playground.selectModel(id);
    },

    async useFolder(name, files) {
      if (files.length === 0) return set({ folderError: 'nothing was picked: pick the folder of an MLC model' });
      if (!files.some((f) => f.file.name === 'mlc-chat-config.json')) {
        return set({
          folderError: `the picked folder "${name}" has no mlc-chat-config.json: pick the folder of an MLC model (mlc-chat-config.json, tensor-cache.json, tokenizer.json, params_shard_*.bin)`,
        });
      }
      const choice = folderModel(name, files);
      set({ folderError: null, folders: { ...get().folders, [choice.id]: choice } });
      await app().playground.selectModel(choice.id);
    },

    async missingDownload(id) {
      const choice = choiceOf(id);
      if (!client || !choice || choice.source !== 'cache') return null;
      await get().refresh();
      const entry = cachedEntry(get().cached, choice);
      if (entry?.complete) return null;
      const record = (get().catalog ?? []).find((r) => r.id === choice.id);
      const bytes = record ? catalogDownloadBytes(record) : undefined;
      const size = bytes !== undefined ? ` (${formatBytes(bytes)} to download)` : '';
      return `${choice.label} is not downloaded${entry ? ' completely' : ''} in this browser${size}`;
    },

    async checkCached(choice) {
      await get().refresh();
      const entry = cachedEntry(get().cached, choice);
      if (entry?.complete) return { ok: true };
      if (!client) return { ok: true }; // no models worker: let the load say what is missing
      set({ open: true, focusId: choice.id });
      if (!(get().catalog ?? []).some((r) => r.id === choice.id) && !get().custom.includes(choice.id)) {
        set({ custom: [...get().custom, choice.id] });
      }
      const { cacheError } = get();
      const missing = `${choice.label} is not downloaded${entry ? ' completely' : ''}`;
      return {
        ok: false,
        reason: cacheError
          ? `${choice.label} cannot be read from the browser cache (${cacheError})`
          : `${missing}: download it in the Model panel (it is never downloaded without asking)`,
      };
    },
  };
}
