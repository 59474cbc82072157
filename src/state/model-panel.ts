/**
 * State of the Model panel: the adapter the workers see, the models in the browser cache, downloads in
 * progress (bytes only: the models worker does the work) and custom repos entered in this page. Loading a
 * model goes through the playground store (selectModel), which loads it in the environment worker.
 */
import { create } from 'zustand';
import { canRun, catalogConfig, estimateSizes, MODEL_CATALOG, type CatalogRecord, type CanRunResult } from '../llm/model/catalog';
import type { ModelsClient } from '../worker/client';
import type { AdapterReply, CachedModelView, PickedFileSpec } from '../worker/protocol';
import { addFolderModel, customModel, findModel, isBuiltIn, type ModelChoice } from './models';
import { usePlayground } from './playground';
import { describeError } from '../util/errors';

export type DownloadState =
  | { status: 'downloading'; bytesDone: number; bytesTotal: number }
  | { status: 'done'; bytesTotal: number }
  | { status: 'cancelled' }
  | { status: 'error'; message: string };

export interface ModelPanelState {
  open: boolean;
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

export interface ModelPanelActions {
  attach(client: ModelsClient): void;
  setOpen(open: boolean, focusId?: string | null): void;
  refresh(): Promise<void>;
  /** Validates a custom repo URL and adds its row; returns its id, or null (customError says why). */
  addCustom(url: string): string | null;
  download(id: string): Promise<void>;
  cancel(id: string): void;
  remove(id: string): Promise<void>;
  /** Loads the model in the environment worker (it must be cached, or built in). */
  use(id: string): Promise<void>;
  useFolder(name: string, files: PickedFileSpec[]): Promise<void>;
}

let client: ModelsClient | null = null;

/** The cached entry holding a model's files. */
export function cachedEntry(cached: readonly CachedModelView[] | null, choice: ModelChoice | undefined): CachedModelView | undefined {
  if (!cached || !choice || choice.source !== 'cache') return undefined;
  return cached.find((m) => m.baseUrl === choice.url);
}

/** Download size of a catalog record (weights as stored), from its architecture. */
const sizes = new Map<string, number>();
export function catalogDownloadBytes(record: CatalogRecord): number {
  let n = sizes.get(record.id);
  if (n === undefined) {
    n = estimateSizes(catalogConfig(record)).downloadBytes;
    sizes.set(record.id, n);
  }
  return n;
}

/** Whether this adapter can run a catalog record (null while the adapter is unknown). */
export function canRunHere(record: CatalogRecord, adapter: AdapterReply | null): CanRunResult | null {
  if (!adapter) return null;
  if (adapter.status !== 'ok') return { ok: false, reason: adapter.reason, warnings: [] };
  return canRun(record, adapter.features, adapter.limits);
}

export const useModelPanel = create<ModelPanelState & ModelPanelActions>()((set, get) => {
  const choiceOf = (id: string) => findModel(id);

  return {
    open: false,
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
      void get().refresh();
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
        if (url.trim() === '') throw new Error('enter the URL of an MLC model repo, e.g. https://huggingface.co/mlc-ai/<repo>');
        const choice = customModel(url);
        const known = MODEL_CATALOG.find((r) => findModel(r.id)?.url === choice.url);
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
        const reply = await client.download(base, {}, (p) => {
          if (get().downloads[base]?.status === 'downloading') put({ status: 'downloading', bytesDone: p.bytesDone, bytesTotal: p.bytesTotal });
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
      await usePlayground.getState().selectModel(id);
    },

    async useFolder(name, files) {
      if (files.length === 0) return set({ folderError: 'nothing was picked: pick the folder of an MLC model' });
      if (!files.some((f) => f.file.name === 'mlc-chat-config.json')) {
        return set({ folderError: `the picked folder "${name}" has no mlc-chat-config.json: pick the folder of an MLC model (mlc-chat-config.json, tensor-cache.json, tokenizer.json, params_shard_*.bin)` });
      }
      set({ folderError: null });
      const choice = addFolderModel(name, files);
      await usePlayground.getState().selectModel(choice.id);
    },
  };
});

/** The playground's cache check: a cached model loads; one that is not opens the panel at its row. */
export async function checkCached(choice: ModelChoice): Promise<{ ok: true } | { ok: false; reason: string }> {
  const panel = useModelPanel.getState();
  await panel.refresh();
  const entry = cachedEntry(useModelPanel.getState().cached, choice);
  if (entry?.complete) return { ok: true };
  if (!client) return { ok: true }; // no models worker: let the load say what is missing
  useModelPanel.setState({ open: true, focusId: choice.id });
  if (!MODEL_CATALOG.some((r) => r.id === choice.id) && !useModelPanel.getState().custom.includes(choice.id)) {
    useModelPanel.setState({ custom: [...useModelPanel.getState().custom, choice.id] });
  }
  const cacheError = useModelPanel.getState().cacheError;
  return {
    ok: false,
    reason: cacheError
      ? `${choice.label} cannot be read from the browser cache (${cacheError})`
      : `${choice.label} is not downloaded${entry ? ' completely' : ''}: download it in the Model panel (it is never downloaded without asking)`,
  };
}
