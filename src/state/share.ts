/**
 * The share slice, the Adapter card's state: the LoRA adapter the worker scores with (loaded from files, a URL,
 * a share link, or set by training), the share link for it, and the notice when an opened link cannot be used.
 *
 * Every load is all-or-nothing: files and links are decoded and validated first (src/share), the worker
 * checks the weights against its model before it swaps them in, and a link that needs another model rolls
 * that back when its adapter is refused. So a bad input leaves the setup, the adapter and the URL as they
 * were, and says what is wrong.
 *
 * Adapters loaded here are also kept in this browser (src/persist/adapter-store), with a pointer to the one in
 * use: on the next page start `restoreSaved` puts it back through the same validation as a fresh load. The
 * pointer follows what the worker scores with: Remove, a model switch or training replacing the adapter
 * clears it (a trained adapter is kept as its run's checkpoint instead).
 */
import {
  IdbAdapterStore,
  type AdapterCaps,
  type AdapterStore,
  type SavedAdapterMeta,
  type SavedAdapterSource,
} from '../persist/adapter-store';
import {
  AdapterDownloadCancelled,
  encodeBundle,
  parseAdapterParam,
  SHARE_FRAGMENT_PREFIX,
  ShareLinkError,
  type AdapterWeights,
  type SharePrecision,
} from '../share';
import { adapterWeightsOf } from '../share/adapter';
import type { AgentApi, Calls } from '../worker/api';
import type { AdapterView } from '../worker/protocol';
import type { TaskId } from '../envs/types';
import { decodeLinkAdapter, fetchAdapter, readAdapterFiles, type FileLike, type LoadedAdapter } from './adapter-files';
import { findModel } from './models';
import { decodeSavedAdapter, droppedNote } from './saved-adapters';
import { buildShareLink, probabilityError, TOO_BIG_HELP, type ShareLinkResult } from './share-link';
import type { SliceApi } from './store';
import { latestEntry } from './timeline';
import { writeSetupToUrl, type Setup } from './url';
import { describeError } from '../util/errors';
import { browserEstimate, describeStorageError } from '../persist/storage-errors';

export type LinkState =
  | { status: 'none' }
  | { status: 'building' }
  | (Extract<ShareLinkResult, { status: 'ok' }> & { probError: number | null; probNote: string | null })
  | { status: 'too-big'; message: string; help: string }
  | { status: 'error'; message: string };

/** The adapters kept in this browser, as the Adapter card lists them. */
export interface SavedAdaptersState {
  /** 'opening': not read yet; 'unavailable': nothing can be kept here (why: `error`). */
  status: 'opening' | 'ready' | 'unavailable';
  /** Oldest first. */
  list: SavedAdapterMeta[];
  /** The entry the page is using (restored on the next start), or null. */
  inUse: string | null;
  caps: Readonly<AdapterCaps> | null;
  /** Why the last save or delete did not happen, or why nothing can be kept. */
  error: string | null;
  /** What the last save or delete did beyond the obvious (the oldest dropped; a deleted one still in use). */
  note: string | null;
}

/**
 * A link (or ?adapter= bundle) that names a model this browser has not downloaded: nothing is switched until the
 * user says so (confirmPending downloads the model, then applies the link; dismissPending leaves everything).
 */
export interface PendingLink {
  /** The model the adapter was made for, and what is missing ("... is not downloaded (259 MiB to download)"). */
  modelId: string;
  missing: string;
  taskId: TaskId;
  seed: number;
}

export interface ShareState {
  adapter: AdapterView | null;
  /** What is being loaded, for the panel ("adapter_model.safetensors"); null when idle. */
  loading: string | null;
  /** The load in progress is a download, which cancelLoad() stops. */
  cancellable: boolean;
  /** Why the last load from the panel failed. */
  error: string | null;
  /** Why a link or ?adapter= URL the page was opened with could not be used (one banner). */
  notice: string | null;
  /** A link waiting for the user's yes to download its model (the setup is unchanged meanwhile). */
  pending: PendingLink | null;
  precision: SharePrecision;
  link: LinkState;
  copy: { status: 'idle' } | { status: 'copied' } | { status: 'failed'; message: string };
  saved: SavedAdaptersState;
}

export interface ShareActions {
  /** `openStore` opens where loaded adapters are kept (IndexedDB by default; another database in tests). */
  attach(client: Calls<AgentApi>, pageUrl?: () => string, openStore?: () => Promise<AdapterStore>): void;
  loadFiles(files: readonly FileLike[]): Promise<void>;
  loadUrl(url: string): Promise<void>;
  /** Stops the download in progress (a URL from the panel or the address's ?adapter=); nothing changes. */
  cancelLoad(): void;
  remove(): Promise<void>;
  setPrecision(precision: SharePrecision): void;
  /** Rebuilds the link (the adapter, the setup or the state changed). */
  refreshLink(): Promise<void>;
  copyLink(clipboard?: Pick<Clipboard, 'writeText'> | null): Promise<void>;
  /** The adapter in use as a twosome bundle (.zip) with the current setup, for hosting or keeping; null without one. */
  bundle(): Promise<{ name: string; bytes: Uint8Array } | null>;
  /** Applies `#share=...` or `?adapter=...` of the page's address, if any; never throws. */
  openFromLocation(location: { href: string; hash: string; search: string }): Promise<void>;
  /** Picks up an adapter the worker got from elsewhere (training): called when scores name another one. */
  syncAdapter(): Promise<void>;
  /**
   * On page start, after openFromLocation: puts the saved adapter last in use back, when it was loaded for the
   * current model and no adapter is in use (the address named none, or named one that was refused). A failure
   * is said in the card; the entry stays.
   */
  restoreSaved(): Promise<void>;
  /** Puts a saved adapter in use (decoded and validated like a fresh load; a bundle's or link's setup with it). */
  applySaved(id: string): Promise<void>;
  /** Deletes a saved adapter from this browser (the adapter in use, if it is that one, stays for this visit). */
  deleteSaved(id: string): Promise<void>;
  dismissNotice(): void;
  /** Downloads the pending link's model, then applies the link (its setup and adapter). */
  confirmPending(): Promise<void>;
  /** Leaves the pending link unused: the setup stays as it is. */
  dismissPending(): void;
  /** Shows `message` as the card's error (a failure of the page's own part, e.g. saving the bundle). */
  showError(message: string): void;
}

export type ShareSlice = ShareState & ShareActions;

/** An adapter made for a model that is not downloaded here: loading it would switch to a model that cannot load. */
class ModelNotDownloaded extends Error {
  constructor(
    readonly modelId: string,
    readonly missing: string,
  ) {
    super(`${missing}; download it in the Model panel, then load the adapter again (it was made for that model)`);
    this.name = 'ModelNotDownloaded';
  }
}

const NO_SAVED: SavedAdaptersState = { status: 'opening', list: [], inUse: null, caps: null, error: null, note: null };

/** No adapter in use, nothing loading or pending, no link made, the saved list not open yet: a page's start. */
const UNATTACHED: Omit<ShareState, 'precision'> = {
  adapter: null,
  loading: null,
  cancellable: false,
  error: null,
  notice: null,
  pending: null,
  link: { status: 'none' },
  copy: { status: 'idle' },
  saved: NO_SAVED,
};

/**
 * The notice for a link or adapter URL that was not applied. The sentence names what failed, so a link's or
 * URL's own label ("share link: ...") is left out; a cancelled download names its URL.
 */
function refusal(what: string, error: unknown): string {
  const kept = 'The setup and the adapter in use are as they were.';
  if (error instanceof AdapterDownloadCancelled) {
    return `The ${what} ${error.url} was not loaded: its download was cancelled. ${kept}`;
  }
  const why = (error instanceof ShareLinkError ? error.detail : describeError(error)).replace(/\.$/, '');
  return `This ${what} cannot be used: ${why}. ${kept}`;
}

/**
 * Drops `?adapter=` from the address: the URL failed (or its download was cancelled), and a reload must not
 * start the same download again. The notice names the URL.
 */
function dropAdapterParam(): void {
  if (typeof window === 'undefined') return;
  const params = new URLSearchParams(window.location.search);
  if (!params.has('adapter')) return;
  params.delete('adapter');
  const query = params.toString();
  window.history.replaceState(
    null,
    '',
    `${window.location.pathname}${query ? `?${query}` : ''}${window.location.hash}`,
  );
}

/** Drops `#share=` and `?adapter=` from the address once the adapter is no longer the one they name. */
function clearShareFromUrl(): void {
  if (typeof window === 'undefined') return;
  const params = new URLSearchParams(window.location.search);
  const hadParam = params.has('adapter');
  params.delete('adapter');
  const hash = window.location.hash.startsWith(SHARE_FRAGMENT_PREFIX) ? '' : window.location.hash;
  if (!hadParam && hash === window.location.hash) return;
  const query = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}${hash}`);
}

export function createShareSlice({ get, set, app }: SliceApi<'share'>): ShareSlice {
  let client: Calls<AgentApi> | null = null;
  let pageUrl: () => string = () => (typeof window !== 'undefined' ? window.location.href : 'http://localhost/');
  /** Bumped by every link rebuild; an older rebuild's results are dropped. */
  let linkGeneration = 0;
  /**
   * The `#share=` / `?adapter=` the adapter in use came from: back/forward within the page keeps the address's
   * fragment, and must not apply the same link again over the setup the user navigated to.
   */
  let appliedFrom: string | null = null;
  /** One load at a time: a second waits for the first, so two loads never interleave their rollbacks. */
  let loadChain: Promise<unknown> = Promise.resolve();
  /** Cancels the download in progress (cancelLoad); null when none runs. */
  let cancelDownload: (() => void) | null = null;
  /** The decoded link behind `pending`, and where it came from. */
  let pendingLoad: { loaded: LoadedAdapter; source: string; from: 'link' | 'url'; what: string } | null = null;

  /** Runs `work` with `cancel` as what cancelLoad() does; `cancellable` is shown while it runs. */
  async function cancellableBy<T>(cancel: () => void, work: () => Promise<T>): Promise<T> {
    cancelDownload = cancel;
    set({ cancellable: true });
    try {
      return await work();
    } finally {
      if (cancelDownload === cancel) cancelDownload = null;
      set({ cancellable: false });
    }
  }

  /** Runs `fetch` with a signal cancelLoad() aborts. */
  function cancellable<T>(fetch: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    return cancellableBy(
      () => controller.abort(),
      () => fetch(controller.signal),
    );
  }
  /** Where loaded adapters are kept; null when this browser cannot keep them (see `saved.error`). */
  let adapterStore: Promise<AdapterStore | null> = Promise.resolve(null);
  /** Bumped by every attach: an older attach's store is closed and its results are dropped. */
  let storeGeneration = 0;
  /**
   * AdapterView.version of the adapter this slice last put in use. When the worker reports another version
   * (training set one, a model switch dropped it), the saved adapter is no longer in use.
   */
  let appliedVersion: number | null = null;

  function setupOf(): Setup {
    const { taskId, seed, modelId, norm } = app().playground;
    return { taskId, seed, modelId, norm };
  }

  function need(): Calls<AgentApi> {
    if (!client) throw new Error('the share panel has no worker client: call attach() first');
    return client;
  }

  /**
   * Puts a decoded adapter in use, with its setup when it carries one (a link or a bundle). On refusal the
   * model is switched back if it was switched, and the error propagates; the setup and adapter are as before.
   */
  async function apply(loaded: LoadedAdapter): Promise<AdapterView> {
    const worker = need();
    const before = setupOf();
    const target = loaded.setup;
    // A catalog id: web-llm's list may still be loading.
    if (target && !findModel(app().models, target.modelId)) await app().models.catalogLoaded();
    if (target && !findModel(app().models, target.modelId)) {
      throw new Error(
        `the adapter is for the model "${target.modelId}", which this page does not offer; open the Model panel to see the models it can run`,
      );
    }
    const switchModel = target !== null && target.modelId !== before.modelId;
    if (switchModel) {
      // Never switched to a model that is not here: it could not load, and the adapter would be on no model.
      const missing = await app().models.missingDownload(target.modelId);
      if (missing) throw new ModelNotDownloaded(target.modelId, missing);
      await app().playground.selectModel(target.modelId);
    }
    let view: AdapterView;
    try {
      // The worker checks that the model loaded is the one the link or bundle names.
      const baseModel = loaded.baseModel ?? undefined;
      view = await worker.loadAdapterWeights(loaded.weights, loaded.label, baseModel, loaded.warnings, target?.modelId);
    } catch (error) {
      if (switchModel) await app().playground.selectModel(before.modelId);
      throw error;
    }
    set({ adapter: view, error: null });
    appliedVersion = view.version;
    if (target) {
      const setup: Setup = { taskId: target.taskId, seed: target.seed, modelId: target.modelId, norm: target.norm };
      await app().playground.open(setup);
      writeSetupToUrl(setup, 'replace');
    } else {
      await app().playground.refreshScores();
    }
    return view;
  }

  /** Re-reads the list and the pointer into `saved` (with `patch`: a note or an error). */
  async function refreshSaved(store: AdapterStore, patch: Partial<SavedAdaptersState> = {}): Promise<void> {
    const generation = storeGeneration;
    try {
      const [list, inUse] = await Promise.all([store.list(), store.getInUse()]);
      if (generation === storeGeneration)
        set({ saved: { ...get().saved, status: 'ready', list, inUse, caps: store.caps, ...patch } });
    } catch (error) {
      const message = `Saved adapters cannot be read: ${describeError(error)}`;
      if (generation === storeGeneration) set({ saved: { ...get().saved, ...patch, error: message } });
    }
  }

  /**
   * Keeps an adapter just put in use from `source`, as the one in use. The load has succeeded either way:
   * when keeping it fails the card says so, and the pointer is cleared so no earlier adapter comes back.
   */
  async function remember(loaded: LoadedAdapter, source: SavedAdapterSource): Promise<void> {
    const store = await adapterStore;
    if (!store) return;
    try {
      const { dropped } = await store.put(
        { label: loaded.label, source, modelId: setupOf().modelId, payload: loaded.source },
        { use: true },
      );
      await refreshSaved(store, { error: null, note: droppedNote(dropped, store.caps) });
    } catch (error) {
      await store.setInUse(null).catch(() => {});
      const why = await describeStorageError(error, browserEstimate);
      const message = `"${loaded.label}" is in use but not kept for the next visit: ${why}`;
      await refreshSaved(store, { error: message, note: null });
    }
  }

  /** The saved adapter is no longer the one in use: the next start restores nothing. */
  async function forgetInUse(): Promise<void> {
    if (get().saved.inUse === null) return;
    const store = await adapterStore;
    if (!store) return;
    try {
      await store.setInUse(null);
      await refreshSaved(store);
    } catch (error) {
      set({ saved: { ...get().saved, error: `Saved adapters cannot be updated: ${describeError(error)}` } });
    }
  }

  /** Reads and decodes a saved entry; any failure names the entry and what to do. */
  async function loadSaved(id: string): Promise<LoadedAdapter> {
    const store = await adapterStore;
    if (!store) throw new Error(`saved adapters cannot be read in this browser: ${get().saved.error ?? 'no storage'}`);
    return decodeSavedAdapter(await store.get(id), id);
  }

  /**
   * Runs one load from the panel: `loading` while it runs, `error` when it fails; `after` (keeping it, or
   * pointing at the saved entry it came from) once it is in use.
   */
  function panelLoad(
    what: string,
    load: () => Promise<LoadedAdapter>,
    after: (loaded: LoadedAdapter) => Promise<void>,
  ): Promise<void> {
    const run = loadChain.then(async () => {
      set({ loading: what, error: null });
      try {
        const loaded = await load();
        await apply(loaded);
        appliedFrom = null;
        clearShareFromUrl();
        await after(loaded);
      } catch (error) {
        // A cancelled download is the user's choice, not a fault: nothing changed, nothing to say.
        set({ error: error instanceof AdapterDownloadCancelled ? null : describeError(error) });
      } finally {
        set({ loading: null });
      }
    });
    loadChain = run;
    return run;
  }

  return {
    ...UNATTACHED,
    precision: 'f32',

    attach(next, page, openStore = () => IdbAdapterStore.open()) {
      client = next;
      if (page) pageUrl = page;
      linkGeneration++;
      appliedFrom = null;
      appliedVersion = null;
      cancelDownload?.();
      pendingLoad = null;
      set(UNATTACHED); // the precision chosen stays
      const generation = ++storeGeneration;
      void adapterStore.then((old) => old?.close());
      adapterStore = openStore().then(
        async (store) => {
          await refreshSaved(store);
          return store;
        },
        (error: unknown) => {
          // Loading still works; only keeping adapters for the next visit does not.
          const message = describeError(error);
          if (generation === storeGeneration) set({ saved: { ...NO_SAVED, status: 'unavailable', error: message } });
          return null;
        },
      );
    },

    loadFiles(files) {
      const names = files.map((f) => f.name).join(', ') || 'files';
      return panelLoad(
        names,
        () => readAdapterFiles(files),
        (loaded) => remember(loaded, 'file'),
      );
    },

    loadUrl(url) {
      const load = () => cancellable((signal) => fetchAdapter(url.trim(), pageUrl(), { signal }));
      return panelLoad(url, load, (loaded) => remember(loaded, 'url'));
    },

    cancelLoad() {
      cancelDownload?.();
    },

    async remove() {
      const run = loadChain.then(async () => {
        try {
          await need().setAdapter(null, '');
          set({ adapter: null, error: null, link: { status: 'none' } });
          appliedFrom = null;
          appliedVersion = null;
          clearShareFromUrl();
          // Stops using it; the saved entry stays in the list (Delete removes it).
          await forgetInUse();
          await app().playground.refreshScores();
        } catch (error) {
          set({ error: describeError(error) });
        }
      });
      loadChain = run;
      await run;
    },

    setPrecision(precision) {
      if (precision === get().precision) return;
      set({ precision });
      void get().refreshLink();
    },

    async refreshLink() {
      const generation = ++linkGeneration;
      const current = () => generation === linkGeneration;
      if (!client || !get().adapter) {
        set({ link: { status: 'none' } });
        return;
      }
      set({ link: { status: 'building' }, copy: { status: 'idle' } });
      try {
        const held = await client.currentAdapter();
        if (!current()) return;
        if (!held) {
          set({ adapter: null, link: { status: 'none' } });
          return;
        }
        const exact: AdapterWeights = adapterWeightsOf(held.adapter, held.label);
        const { precision } = get();
        const { result, roundTrip } = buildShareLink(exact, setupOf(), precision, pageUrl());
        if (result.status === 'too-big') {
          set({ link: { status: 'too-big', message: result.message, help: TOO_BIG_HELP } });
          return;
        }
        const last = latestEntry(app().playground);
        const probeable = result.maxAbsError > 0 && roundTrip && last && !last.done;
        set({
          link: {
            ...result,
            probError: result.maxAbsError === 0 ? 0 : null,
            probNote:
              result.maxAbsError === 0
                ? null
                : probeable
                  ? 'measuring on the current state…'
                  : 'measured on a live state: reset the episode to see it',
          },
        });
        if (!probeable) return;
        const worker = client;
        const error = await probabilityError(exact, roundTrip, (w) => worker.probeAdapter(last.stepId, w));
        const link = get().link;
        if (current() && link.status === 'ok') set({ link: { ...link, probError: error, probNote: null } });
      } catch (error) {
        const link = get().link;
        // The probe can fail when the episode moves on meanwhile: keep the link, drop the measurement.
        const probNote = `not measured: ${describeError(error)}`;
        if (current() && link.status === 'ok') set({ link: { ...link, probNote } });
        else if (current()) set({ link: { status: 'error', message: describeError(error) } });
      }
    },

    async copyLink(clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : null) {
      const link = get().link;
      if (link.status !== 'ok') return;
      try {
        if (!clipboard) throw new Error('this page has no clipboard access');
        await clipboard.writeText(link.url);
        set({ copy: { status: 'copied' } });
      } catch (error) {
        const message = `Could not copy (${describeError(error)}): select the link below and copy it by hand.`;
        set({ copy: { status: 'failed', message } });
      }
    },

    async bundle() {
      if (!client) return null;
      const held = await client.currentAdapter();
      if (!held) return null;
      const { taskId, seed, modelId, norm } = setupOf();
      const bytes = encodeBundle({ modelId, task: taskId, normalization: norm, seed, adapter: held.adapter });
      // A file name from the label, without characters file systems refuse.
      const stem =
        held.label
          .replace(/\.(zip|safetensors)$/i, '')
          .replace(/[^A-Za-z0-9._-]+/g, '-')
          .replace(/^-+|-+$/g, '')
          .slice(0, 80) || 'adapter';
      return { name: `${stem}.zip`, bytes };
    },

    async openFromLocation(location) {
      const run = loadChain.then(async () => {
        const fromLink = location.hash.startsWith(SHARE_FRAGMENT_PREFIX);
        const what = fromLink ? 'share link' : 'adapter URL';
        const source = fromLink ? location.hash : new URLSearchParams(location.search).get('adapter');
        if (source === null || (source === appliedFrom && get().adapter !== null)) return;
        let loaded: LoadedAdapter | null = null;
        try {
          if (fromLink) {
            loaded = decodeLinkAdapter(location.hash);
            await apply(loaded);
            appliedFrom = source;
            await remember(loaded, 'link');
            return;
          }
          const url = parseAdapterParam(location.search, location.href);
          if (url === null) return;
          set({ loading: url });
          loaded = await cancellable((signal) => fetchAdapter(url, location.href, { signal }));
          await apply(loaded);
          appliedFrom = source;
          await remember(loaded, 'url');
        } catch (error) {
          if (error instanceof ModelNotDownloaded && loaded?.setup) {
            // Nothing switched: the user decides whether to download the model the link was made for.
            pendingLoad = { loaded, source, from: fromLink ? 'link' : 'url', what };
            const { taskId, seed } = loaded.setup;
            set({ pending: { modelId: error.modelId, missing: error.missing, taskId, seed } });
            return;
          }
          // A reload must not repeat a download that failed or was cancelled (the notice names the URL).
          if (!fromLink) dropAdapterParam();
          set({ notice: refusal(what, error) });
        } finally {
          set({ loading: null });
        }
      });
      loadChain = run;
      await run;
    },

    async syncAdapter() {
      if (!client) return;
      try {
        const adapter = await client.adapterInfo();
        set({ adapter });
        // Training replaced the adapter, or a model switch dropped it: the saved one is not in use any more.
        if (adapter === null || adapter.version !== appliedVersion) await forgetInUse();
      } catch (error) {
        set({ error: describeError(error) });
      }
    },

    async restoreSaved() {
      const run = loadChain.then(async () => {
        // A link or ?adapter= in the address that was applied wins. One that was refused changed nothing, as its
        // notice says: the adapter the page was last using comes back as on any start.
        if (get().adapter !== null) return;
        const store = await adapterStore;
        if (!store) return;
        const id = get().saved.inUse;
        if (id === null) return;
        const meta = get().saved.list.find((m) => m.id === id);
        if (!meta) {
          await forgetInUse(); // deleted in another tab: nothing to restore
          return;
        }
        // Loaded for another model: kept (and pointed at) for when that model is open again. Without a model
        // (no WebGPU, a failed download) nothing can be loaded: the pointer stays for the next start.
        if (!meta.damaged && meta.modelId !== setupOf().modelId) return;
        if (app().playground.model.status !== 'ready') return;
        set({ loading: meta.label, error: null });
        try {
          // The address holds the setup (the user may have changed it since): only the adapter comes back.
          await apply({ ...decodeSavedAdapter(await store.get(id), id), setup: null });
        } catch (error) {
          // Not deleted: the user decides (Use tries again; Delete removes it). Not pointed at either, so
          // the next start does not fail the same way again.
          const why = describeError(error).replace(/\.$/, '');
          set({
            error:
              `The saved adapter "${meta.label}" was not restored, so no adapter is in use: ${why}. ` +
              'It is still listed under Saved adapters.',
          });
          await forgetInUse();
        } finally {
          set({ loading: null });
        }
      });
      loadChain = run;
      await run;
    },

    applySaved(id) {
      const meta = get().saved.list.find((m) => m.id === id);
      return panelLoad(
        meta?.label ?? 'saved adapter',
        () => loadSaved(id),
        async () => {
          const store = await adapterStore;
          if (!store) return;
          try {
            await store.setInUse(id);
            await refreshSaved(store, { error: null, note: null });
          } catch (error) {
            const why = describeError(error);
            const message = `"${meta?.label ?? id}" is in use but will not come back after a reload: ${why}`;
            set({ saved: { ...get().saved, error: message } });
          }
        },
      );
    },

    async deleteSaved(id) {
      const run = loadChain.then(async () => {
        const store = await adapterStore;
        if (!store) return;
        const { list, inUse } = get().saved;
        const label = list.find((m) => m.id === id)?.label ?? id;
        try {
          await store.delete(id);
          const stillInUse = inUse === id && get().adapter !== null;
          await refreshSaved(store, {
            error: null,
            note: stillInUse
              ? `Deleted "${label}" from this browser: it stays in use on this page until it is removed or the page is closed.`
              : null,
          });
        } catch (error) {
          set({ saved: { ...get().saved, error: `"${label}" could not be deleted: ${describeError(error)}` } });
        }
      });
      loadChain = run;
      await run;
    },

    dismissNotice() {
      set({ notice: null });
    },

    async confirmPending() {
      const held = pendingLoad;
      if (!held) return;
      pendingLoad = null;
      set({ pending: null });
      const run = loadChain.then(async () => {
        const { loaded, source, from, what } = held;
        const modelId = loaded.setup!.modelId;
        const models = app().models;
        try {
          // The download shows at the model's row (progress, Cancel); the card's Cancel stops it too.
          models.setOpen(true, modelId);
          set({ loading: `${modelId}, then the ${what === 'share link' ? 'link' : 'adapter'}`, error: null });
          await cancellableBy(
            () => models.cancel(modelId),
            () => models.download(modelId),
          );
          const missing = await app().models.missingDownload(modelId);
          if (missing) throw new Error(`${missing}: its download did not complete (the Model panel says why)`);
          await apply(loaded);
          appliedFrom = source;
          await remember(loaded, from);
        } catch (error) {
          set({ notice: refusal(what, error) });
        } finally {
          set({ loading: null });
        }
      });
      loadChain = run;
      await run;
    },

    dismissPending() {
      pendingLoad = null;
      set({ pending: null });
    },

    showError(message) {
      set({ error: message });
    },
  };
}
