/**
 * UI state of sharing: the LoRA adapter the worker scores with (loaded from files, a URL, a share link, or
 * set by training), the share link for it, and the notice when an opened link cannot be used.
 *
 * Every load is all-or-nothing: files and links are decoded and validated first (src/share), the worker
 * checks the weights against its model before it swaps them in, and a link that needs another model rolls
 * that back when its adapter is refused. So a bad input leaves the setup, the adapter and the URL as they
 * were, and says what is wrong.
 */
import { create } from 'zustand';
import { decodeShareLink, encodeBundle, parseAdapterParam, SHARE_FRAGMENT_PREFIX, type AdapterWeights, type SharePrecision } from '../share';
import { adapterWeightsOf } from '../share/adapter';
import type { EnvClient } from '../worker/client';
import type { AdapterView } from '../worker/protocol';
import { fetchAdapter, readAdapterFiles, type FileLike, type LoadedAdapter } from './adapter-files';
import { findModel } from './models';
import { usePlayground } from './playground';
import { buildShareLink, probabilityError, TOO_BIG_HELP, type ShareLinkResult } from './share-link';
import { writeSetupToUrl, type Setup } from './url';

export type LinkState =
  | { status: 'none' }
  | { status: 'building' }
  | (Extract<ShareLinkResult, { status: 'ok' }> & { probError: number | null; probNote: string | null })
  | { status: 'too-big'; message: string; help: string }
  | { status: 'error'; message: string };

export interface ShareState {
  adapter: AdapterView | null;
  /** What is being loaded, for the panel ("adapter_model.safetensors"); null when idle. */
  loading: string | null;
  /** Why the last load from the panel failed. */
  error: string | null;
  /** Why a link or ?adapter= URL the page was opened with could not be used (one banner). */
  notice: string | null;
  precision: SharePrecision;
  link: LinkState;
  copy: { status: 'idle' } | { status: 'copied' } | { status: 'failed'; message: string };
}

export interface ShareActions {
  attach(client: EnvClient, pageUrl?: () => string): void;
  loadFiles(files: readonly FileLike[]): Promise<void>;
  loadUrl(url: string): Promise<void>;
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
  dismissNotice(): void;
}

export type ShareStore = ShareState & ShareActions;

let client: EnvClient | null = null;
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function setupOf(): Setup {
  const { taskId, seed, modelId, norm } = usePlayground.getState();
  return { taskId, seed, modelId, norm };
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

export const useShare = create<ShareStore>()((set, get) => {
  function need(): EnvClient {
    if (!client) throw new Error('the share panel has no worker client: call attach() first');
    return client;
  }

  /**
   * Puts a decoded adapter in use, with its setup when it carries one (a link or a bundle). On refusal the
   * model is switched back if it was switched, and the error propagates; the setup and adapter are as before.
   */
  async function apply(loaded: LoadedAdapter): Promise<void> {
    const worker = need();
    const before = setupOf();
    const target = loaded.setup;
    if (target && !findModel(target.modelId)) {
      throw new Error(`the adapter is for the model "${target.modelId}", which this page does not offer; open the Model panel to see the models it can run`);
    }
    const switchModel = target !== null && target.modelId !== before.modelId;
    if (switchModel) await usePlayground.getState().selectModel(target.modelId);
    let view: AdapterView;
    try {
      view = await worker.loadAdapterWeights(loaded.weights, loaded.label, loaded.baseModel ?? undefined, loaded.warnings);
    } catch (error) {
      if (switchModel) await usePlayground.getState().selectModel(before.modelId);
      throw error;
    }
    set({ adapter: view, error: null });
    if (target) {
      const setup: Setup = { taskId: target.taskId, seed: target.seed, modelId: target.modelId, norm: target.norm };
      await usePlayground.getState().open(setup);
      writeSetupToUrl(setup, 'replace');
    } else {
      await usePlayground.getState().refreshScores();
    }
  }

  /** Runs one load from the panel: `loading` while it runs, `error` when it fails. */
  function panelLoad(what: string, load: () => Promise<LoadedAdapter>): Promise<void> {
    const run = loadChain.then(async () => {
      set({ loading: what, error: null });
      try {
        await apply(await load());
        appliedFrom = null;
        clearShareFromUrl();
      } catch (error) {
        set({ error: describe(error) });
      } finally {
        set({ loading: null });
      }
    });
    loadChain = run;
    return run;
  }

  return {
    adapter: null,
    loading: null,
    error: null,
    notice: null,
    precision: 'f32',
    link: { status: 'none' },
    copy: { status: 'idle' },

    attach(next, page) {
      client = next;
      if (page) pageUrl = page;
      linkGeneration++;
      appliedFrom = null;
      set({ adapter: null, loading: null, error: null, notice: null, link: { status: 'none' }, copy: { status: 'idle' } });
    },

    loadFiles(files) {
      const names = files.map((f) => f.name).join(', ') || 'files';
      return panelLoad(names, () => readAdapterFiles(files));
    },

    loadUrl(url) {
      return panelLoad(url, () => fetchAdapter(url.trim(), pageUrl()));
    },

    async remove() {
      const run = loadChain.then(async () => {
        try {
          await need().setAdapter(null, '');
          set({ adapter: null, error: null, link: { status: 'none' } });
          appliedFrom = null;
          clearShareFromUrl();
          await usePlayground.getState().refreshScores();
        } catch (error) {
          set({ error: describe(error) });
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
        const last = usePlayground.getState().timeline.at(-1);
        const probeable = result.maxAbsError > 0 && roundTrip && last && !last.done;
        set({
          link: { ...result, probError: result.maxAbsError === 0 ? 0 : null, probNote: result.maxAbsError === 0 ? null : probeable ? 'measuring on the current state…' : 'measured on a live state: reset the episode to see it' },
        });
        if (!probeable) return;
        const worker = client;
        const error = await probabilityError(exact, roundTrip, (w) => worker.probeAdapter(last.stepId, w));
        const link = get().link;
        if (current() && link.status === 'ok') set({ link: { ...link, probError: error, probNote: null } });
      } catch (error) {
        const link = get().link;
        // The probe can fail when the episode moves on meanwhile: keep the link, drop the measurement.
        if (current() && link.status === 'ok') set({ link: { ...link, probNote: `not measured: ${describe(error)}` } });
        else if (current()) set({ link: { status: 'error', message: describe(error) } });
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
        set({ copy: { status: 'failed', message: `Could not copy (${describe(error)}): select the link below and copy it by hand.` } });
      }
    },

    async bundle() {
      if (!client) return null;
      const held = await client.currentAdapter();
      if (!held) return null;
      const { taskId, seed, modelId, norm } = setupOf();
      const bytes = encodeBundle({ modelId, task: taskId, normalization: norm, seed, adapter: held.adapter });
      // A file name from the label, without characters file systems refuse.
      const stem = held.label.replace(/\.(zip|safetensors)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'adapter';
      return { name: `${stem}.zip`, bytes };
    },

    async openFromLocation(location) {
      const run = loadChain.then(async () => {
        let what = 'share link';
        const source = location.hash.startsWith(SHARE_FRAGMENT_PREFIX) ? location.hash : new URLSearchParams(location.search).get('adapter');
        if (source === null || (source === appliedFrom && get().adapter !== null)) return;
        try {
          if (location.hash.startsWith(SHARE_FRAGMENT_PREFIX)) {
            const link = decodeShareLink(location.hash);
            await apply({
              weights: link.weights,
              label: `shared link (${link.precision})`,
              baseModel: null, // the link names its model id, which is loaded for it
              warnings: [],
              setup: { modelId: link.modelId, taskId: link.task, norm: link.normalization, seed: link.seed },
            });
            appliedFrom = source;
            return;
          }
          const url = parseAdapterParam(location.search, location.href);
          if (url === null) return;
          what = `adapter at ${url}`;
          set({ loading: url });
          await apply(await fetchAdapter(url, location.href));
          appliedFrom = source;
        } catch (error) {
          set({ notice: `This ${what} cannot be used, so the setup was left as it was. ${describe(error)}` });
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
      } catch (error) {
        set({ error: describe(error) });
      }
    },

    dismissNotice() {
      set({ notice: null });
    },
  };
});
