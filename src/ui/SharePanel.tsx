/**
 * The Adapter card: which LoRA adapter the probabilities come from, loading one (files, a URL, a drop on the
 * page), removing it, sharing it as a link (precision, length, probability error, copy), and the adapters
 * kept in this browser (Use, Delete).
 */
import { useEffect, useState, type ChangeEvent, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { SavedAdapterMeta, SavedAdapterSource } from '../persist/adapter-store';
import { SHARE_LINK_MAX_CHARS, SHARE_PRECISIONS, type SharePrecision } from '../share';
import { appStore, useApp } from '../state/store';
import { latestEntry } from '../state/timeline';
import { formatBytes } from '../util/format';
import { describeError } from '../util/errors';
import { ConfirmDelete, DismissibleNotice, ErrorText, SelectField } from './parts';
import { useSlice } from './useSlice';

const PRECISION_TEXT: Record<SharePrecision, string> = {
  f32: 'f32 (exact)',
  f16: 'f16 (half size)',
  int8: 'int8 (quarter size)',
};

function formatError(p: number): string {
  if (p === 0) return '0';
  return p < 1e-4 ? p.toExponential(1) : `${(p * 100).toFixed(p < 1e-3 ? 3 : 2)} percentage points`;
}

/** Keeps the link current and picks up adapters set elsewhere (training) from the scores' adapter version. */
function useShareSync(): void {
  const { adapterLabel, adapterVersion, precision, setup, latest } = useApp(
    useShallow(({ share, playground: p }) => ({
      adapterLabel: share.adapter?.label ?? null,
      adapterVersion: share.adapter?.version ?? null,
      precision: share.precision,
      setup: `${p.modelId}|${p.taskId}|${p.seed}|${p.norm}`,
      latest: latestEntry(p),
    })),
  );
  const scoredWith = latest?.scores.status === 'ok' ? (latest.scores.scores.loraVersion ?? null) : undefined;
  // Probing f16/int8 runs the model twice: only per state when it measures anything.
  const stateKey = precision === 'f32' ? 0 : (latest?.stepId ?? 0);
  useEffect(() => {
    const share = appStore.getState().share;
    if (scoredWith !== undefined && scoredWith !== adapterVersion && share.loading === null) void share.syncAdapter();
  }, [scoredWith, adapterVersion]);
  useEffect(() => {
    void appStore.getState().share.refreshLink();
  }, [adapterLabel, adapterVersion, precision, setup, stateKey]);
}

/** Files dropped anywhere on the page load as an adapter. */
function useDropAdapter(): boolean {
  const [over, setOver] = useState(false);
  useEffect(() => {
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    const onOver = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      setOver(true);
    };
    const onLeave = (e: DragEvent) => {
      if (e.relatedTarget === null) setOver(false);
    };
    const onDrop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      setOver(false);
      const files = Array.from(e.dataTransfer?.files ?? []);
      if (files.length > 0) void appStore.getState().share.loadFiles(files);
    };
    window.addEventListener('dragover', onOver);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('drop', onDrop);
    };
  }, []);
  return over;
}

function CurrentAdapter() {
  const { adapter, busy, remove } = useApp(
    useShallow(({ share: s }) => ({
      adapter: s.adapter,
      busy: s.loading !== null,
      remove: s.remove,
    })),
  );
  if (!adapter) {
    return (
      <p className="card-note" data-testid="adapter-current" data-adapter="">
        No adapter: the probabilities are the frozen model's.
      </p>
    );
  }
  return (
    <div className="adapter-current" data-testid="adapter-current" data-adapter={adapter.label}>
      <p>
        <strong className="adapter-label">{adapter.label}</strong>
        <span className="card-hint">
          {' '}
          r {adapter.r} · alpha {adapter.alpha} · {adapter.targets.join(', ')} · {adapter.layers} layers ·{' '}
          {adapter.parameters.toLocaleString('en-US')} parameters
          {adapter.baseModel ? ` · base ${adapter.baseModel}` : ''}
        </span>
      </p>
      {adapter.warnings.map((w) => (
        <p key={w} className="card-note">
          Note: {w}
        </p>
      ))}
      <button
        type="button"
        className="button button--small"
        onClick={() => void remove()}
        disabled={busy}
        data-testid="adapter-remove"
      >
        Remove adapter
      </button>
    </div>
  );
}

function LoadAdapter() {
  const { loading, cancellable, error, loadFiles, loadUrl, cancelLoad, modelReady } = useApp(
    useShallow(({ share, playground }) => ({
      loading: share.loading,
      cancellable: share.cancellable,
      error: share.error,
      loadFiles: share.loadFiles,
      loadUrl: share.loadUrl,
      cancelLoad: share.cancelLoad,
      modelReady: playground.model.status === 'ready',
    })),
  );
  const [url, setUrl] = useState('');
  const onFiles = (e: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(e.target.files ?? []);
    e.target.value = ''; // picking the same file again must load it again
    if (files.length > 0) void loadFiles(files);
  };
  const onUrl = (e: FormEvent) => {
    e.preventDefault();
    if (url.trim()) void loadUrl(url);
  };
  return (
    <div className="adapter-load">
      <div className="adapter-load-row">
        <label className={`button button--small${loading || !modelReady ? ' button--disabled' : ''}`}>
          Load adapter…
          <input
            type="file"
            multiple
            accept=".zip,.safetensors,.json"
            className="visually-hidden"
            onChange={onFiles}
            disabled={loading !== null || !modelReady}
            data-testid="adapter-file"
          />
        </label>
        <span className="card-hint">
          adapter_model.safetensors + adapter_config.json, or a bundle .zip; or drop them on the page
        </span>
      </div>
      <form className="adapter-load-row" onSubmit={onUrl}>
        <input
          type="url"
          className="adapter-url"
          placeholder="https://huggingface.co/USER/REPO/resolve/main/adapter_model.safetensors"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          aria-label="Adapter URL (https)"
          data-testid="adapter-url"
        />
        <button
          type="submit"
          className="button button--small"
          disabled={loading !== null || !modelReady || !url.trim()}
          data-testid="adapter-url-load"
        >
          Load URL
        </button>
      </form>
      {loading && (
        <p className="card-note" data-testid="adapter-loading">
          Loading {loading}…{' '}
          {cancellable && (
            <button type="button" className="button button--small" onClick={cancelLoad} data-testid="adapter-cancel">
              Cancel
            </button>
          )}
        </p>
      )}
      {error && <ErrorText testId="adapter-error">{error}</ErrorText>}
    </div>
  );
}

/** Downloads the adapter in use as a bundle (a Blob URL, revoked once the download has started). */
async function saveBundle(): Promise<void> {
  try {
    const bundle = await appStore.getState().share.bundle();
    if (!bundle) return;
    const url = URL.createObjectURL(new Blob([bundle.bytes.slice().buffer], { type: 'application/zip' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = bundle.name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (error) {
    appStore.getState().share.showError(`Saving the bundle failed: ${describeError(error)}`);
  }
}

function ShareLink() {
  const { adapter, link, precision, copy, setPrecision, copyLink } = useSlice(
    'share',
    'adapter',
    'link',
    'precision',
    'copy',
    'setPrecision',
    'copyLink',
  );
  if (!adapter) return null;
  return (
    <div className="share-link">
      <div className="adapter-load-row">
        <SelectField<SharePrecision>
          label="Stored as"
          value={precision}
          options={SHARE_PRECISIONS}
          text={(p) => PRECISION_TEXT[p]}
          onChange={setPrecision}
          testId="share-precision"
        />
        <button
          type="button"
          className="button button--small button--primary"
          disabled={link.status !== 'ok'}
          onClick={() => void copyLink()}
          data-testid="copy-share-link"
        >
          Copy share link
        </button>
        <button
          type="button"
          className="button button--small"
          onClick={() => void saveBundle()}
          data-testid="save-bundle"
          title="The adapter and this setup as a twosome bundle: keep it, or host it and share ?adapter=URL"
        >
          Save bundle (.zip)
        </button>
        {copy.status === 'copied' && <span className="card-hint">Copied.</span>}
      </div>
      {copy.status === 'failed' && <ErrorText testId="share-copy-error">{copy.message}</ErrorText>}
      {link.status === 'building' && <p className="card-note">Building the link…</p>}
      {link.status === 'ok' && (
        <>
          <p className="card-note" data-testid="share-link-info">
            {link.chars.toLocaleString('en-US')} of {SHARE_LINK_MAX_CHARS.toLocaleString('en-US')} characters · largest
            weight change {link.maxAbsError === 0 ? '0' : link.maxAbsError.toExponential(1)} · largest probability
            change on this state:{' '}
            <span data-testid="share-prob-error">
              {link.probError === null ? (link.probNote ?? '…') : formatError(link.probError)}
            </span>
            {link.probError !== null && link.probNote ? ` (${link.probNote})` : ''}
          </p>
          <div
            className="share-link-text mono"
            data-testid="share-link"
            title="The share link: opens this task, seed, normalization and model with this adapter"
          >
            {link.url}
          </div>
        </>
      )}
      {link.status === 'too-big' && (
        <div className="card-note" data-testid="share-too-big">
          <p>{link.message}</p>
          <p>{link.help}</p>
        </div>
      )}
      {link.status === 'error' && <ErrorText>The link could not be built: {link.message}</ErrorText>}
    </div>
  );
}

const SOURCE_TEXT: Record<SavedAdapterSource, string> = { file: 'file', url: 'URL', link: 'share link' };

/**
 * Adapters loaded here, kept in this browser so that the one in use comes back after a reload: each with
 * Use and Delete (confirmed, as deleting cannot be undone; Remove adapter above only stops using one).
 */
function SavedAdapters() {
  const saved = useApp((s) => s.share.saved);
  if (saved.status === 'opening') return null;
  const total = saved.list.reduce((n, m) => n + m.bytes, 0);
  return (
    <div className="saved-adapters" data-testid="saved-adapters">
      <h3 className="saved-adapters-head">
        Saved adapters
        {saved.status === 'ready' && saved.caps && (
          <span className="card-hint" data-testid="saved-adapters-size">
            {' '}
            {saved.list.length} · {formatBytes(total)} (at most {saved.caps.maxAdapters},{' '}
            {formatBytes(saved.caps.maxBytes)}; the oldest go first)
          </span>
        )}
      </h3>
      {saved.status === 'unavailable' && <p className="card-note">Not kept after a reload here: {saved.error}</p>}
      {saved.status === 'ready' && saved.error && <ErrorText testId="saved-adapters-error">{saved.error}</ErrorText>}
      {saved.note && <p className="card-note">{saved.note}</p>}
      {saved.status === 'ready' && saved.list.length === 0 && (
        <p className="card-hint">None yet: adapters you load are kept here for your next visit.</p>
      )}
      {saved.list.length > 0 && (
        <ul className="run-list">
          {[...saved.list].reverse().map((m) => (
            <SavedAdapterRow key={m.id} meta={m} inUse={saved.inUse === m.id} />
          ))}
        </ul>
      )}
    </div>
  );
}

function SavedAdapterRow({ meta, inUse }: { meta: SavedAdapterMeta; inUse: boolean }) {
  const { busy, modelReady, applySaved, deleteSaved } = useApp(
    useShallow(({ share, playground }) => ({
      busy: share.loading !== null,
      modelReady: playground.model.status === 'ready',
      applySaved: share.applySaved,
      deleteSaved: share.deleteSaved,
    })),
  );
  const date = new Date(meta.savedAt);
  return (
    <li
      className="run-row"
      data-testid="saved-adapter"
      data-adapter={meta.label}
      data-in-use={inUse ? 'true' : 'false'}
    >
      <span className="run-name adapter-label">{meta.label}</span>
      {meta.damaged ? (
        <span className="error-text">Damaged entry ({meta.damaged}): it can only be deleted.</span>
      ) : (
        <span className="card-hint">
          {SOURCE_TEXT[meta.source]} · {meta.modelId} · {formatBytes(meta.bytes)} ·{' '}
          {Number.isNaN(date.getTime()) ? meta.savedAt : date.toLocaleString()}
          {inUse ? ' · in use' : ''}
        </span>
      )}
      <span className="row-actions">
        {!meta.damaged && !inUse && (
          <button
            type="button"
            className="button button--small"
            disabled={busy || !modelReady}
            onClick={() => void applySaved(meta.id)}
            aria-label={`Use ${meta.label}`}
          >
            Use
          </button>
        )}
        <ConfirmDelete
          question="Delete it from this browser?"
          name={meta.label}
          disabled={busy}
          onDelete={() => deleteSaved(meta.id)}
        />
      </span>
    </li>
  );
}

export function SharePanel() {
  useShareSync();
  const dropping = useDropAdapter();
  return (
    <section
      className={`card share-panel${dropping ? ' share-panel--drop' : ''}`}
      aria-label="Adapter"
      data-testid="share-panel"
    >
      <div className="card-head">
        <h2>Adapter</h2>
        <span className="card-hint">{dropping ? 'drop to load' : 'LoRA on the model'}</span>
      </div>
      <CurrentAdapter />
      <LoadAdapter />
      <ShareLink />
      <SavedAdapters />
    </section>
  );
}

/**
 * Why a link or ?adapter= URL the page was opened with could not be used (the setup was left as it was), or the
 * question a link asks before it switches to a model that is not downloaded.
 */
export function ShareNotice() {
  const {
    notice,
    pending,
    dismissNotice: dismiss,
    confirmPending,
    dismissPending,
  } = useSlice('share', 'notice', 'pending', 'dismissNotice', 'confirmPending', 'dismissPending');
  if (!notice && !pending) return null;
  return (
    <div className="notices">
      {pending && (
        <div className="notice notice--warning" role="alert" data-testid="share-confirm" data-model={pending.modelId}>
          <span>
            This link&apos;s adapter was made for another model: {pending.missing}. Download it and open the link&apos;s
            setup ({pending.taskId}, seed {pending.seed}) with the adapter? Until then nothing changes.
          </span>
          <button
            type="button"
            className="button button--small button--primary"
            onClick={() => void confirmPending()}
            data-testid="share-confirm-download"
          >
            Download and open
          </button>
          <button
            type="button"
            className="button button--small"
            onClick={dismissPending}
            data-testid="share-confirm-keep"
          >
            Keep this setup
          </button>
        </div>
      )}
      {notice && (
        <DismissibleNotice testId="share-error" onDismiss={dismiss}>
          {notice}
        </DismissibleNotice>
      )}
    </div>
  );
}
