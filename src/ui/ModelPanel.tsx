/**
 * The Model panel (a dialog opened from the header): the built-in micro model, every catalog model (web-llm's
 * Llama records: download size, web-llm's GPU memory figure, features, context, whether this adapter can run
 * it and why not, whether it is cached and in which web-llm backend), downloads with progress and Cancel into
 * the backend picked, deletion from the cache, a custom MLC repo URL, a picked folder, and the adapter.
 */
import { useEffect, useMemo, useRef, useState, type ChangeEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { WebLlmBackend } from '../llm/model/cache-source';
import type { CatalogRecord } from '../llm/model/catalog';
import { precisionNote } from '../llm/model/fit-check';
import { cachedEntry, catalogDownloadBytes, fitHere, type DownloadState } from '../state/model-panel';
import { findModel, modelProblem } from '../state/models';
import { useApp } from '../state/store';
import type { CachedModelView, PickedFileSpec } from '../worker/protocol';
import { formatBytes } from '../util/format';
import { ErrorText, Field, TableHead } from './parts';
import { useSlice } from './useSlice';

export function ModelPanel() {
  const { open, setOpen } = useSlice('models', 'open', 'setOpen');
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open, setOpen]);
  if (!open) return null;
  return (
    <div className="modal-backdrop" onClick={(e) => e.target === e.currentTarget && setOpen(false)}>
      <div className="modal model-panel" role="dialog" aria-modal="true" aria-label="Models" data-testid="model-panel">
        <div className="card-head">
          <h2>Models</h2>
          <button
            type="button"
            className="icon-button"
            onClick={() => setOpen(false)}
            aria-label="Close the model panel"
            data-testid="model-panel-close"
          >
            ×
          </button>
        </div>
        <AdapterLine />
        <CurrentModel />
        <CustomUrl />
        <FolderPicker />
        <BackendPicker />
        <CacheProblem />
        <ModelTable />
      </div>
    </div>
  );
}

function AdapterLine() {
  const adapter = useApp((s) => s.models.adapter);
  return (
    <>
      <p className="card-note" data-testid="model-panel-adapter">
        {adapter === null
          ? 'Asking the worker for the WebGPU adapter…'
          : adapter.status === 'ok'
            ? `GPU: ${adapter.description}${adapter.software ? ` (software: runs on ${adapter.cores ?? '?'} CPU cores)` : ''} · max buffer ${formatBytes(adapter.limits.maxBufferSize)} · max storage binding ${formatBytes(adapter.limits.maxStorageBufferBindingSize)} · features: ${adapter.features.filter((f) => ['shader-f16', 'subgroups'].includes(f)).join(', ') || 'no shader-f16'}`
            : `No WebGPU here: ${adapter.reason}. Models can still be downloaded, not run.`}
      </p>
      {adapter?.status === 'ok' && (
        <p className="card-hint" data-testid="model-panel-precision">
          {precisionNote(adapter.features, undefined, adapter.software).text}.
        </p>
      )}
    </>
  );
}

const BACKEND_LABELS: Record<WebLlmBackend, string> = { cache: 'Cache API', indexeddb: 'IndexedDB' };

/** Where downloads go: web-llm's two cache backends (AppConfig.cacheBackend); both are read. */
function BackendPicker() {
  const { downloadBackend: backend, setDownloadBackend: setBackend } = useSlice(
    'models',
    'downloadBackend',
    'setDownloadBackend',
  );
  return (
    <div className="model-form">
      <Field label="Store downloads in" className="field">
        <select
          value={backend}
          onChange={(e) => setBackend(e.target.value as WebLlmBackend)}
          data-testid="download-backend"
        >
          <option value="cache">Cache API (web-llm's default)</option>
          <option value="indexeddb">IndexedDB (web-llm's cacheBackend "indexeddb")</option>
        </select>
      </Field>
      <span className="card-hint">models in either are found, whichever web-llm app of this site stored them</span>
    </div>
  );
}

/** The model in the worker: loading progress, or why it did not load (bad files, too large for this GPU…). */
function CurrentModel() {
  const model = useApp((s) => s.playground.model);
  let text: string;
  let bad = false;
  switch (model.status) {
    case 'none':
      text = 'No model loaded yet.';
      break;
    case 'loading':
      text = `Loading ${model.id}${model.bytes > 0 ? ` (${formatBytes(model.bytesDone)} of ${formatBytes(model.bytes)})` : ''}…`;
      break;
    case 'ready':
      text = `In use: ${model.info.label} (${model.info.layers} layers, ${model.info.quantization}, ${formatBytes(model.info.bytes)}).`;
      break;
    case 'unavailable':
      text = modelProblem(model.id, model.reason);
      bad = true;
      break;
    case 'error':
      text = modelProblem(model.id, model.message);
      bad = true;
      break;
  }
  return (
    <p
      className={bad ? 'error-text' : 'card-note'}
      role={bad ? 'alert' : undefined}
      data-testid="model-panel-status"
      data-state={model.status}
    >
      {text}
    </p>
  );
}

function CacheProblem() {
  const error = useApp((s) => s.models.cacheError);
  return error ? <ErrorText testId="cache-error">{error}</ErrorText> : null;
}

function CustomUrl() {
  const { addCustom, customError: error } = useSlice('models', 'addCustom', 'customError');
  const [text, setText] = useState('');
  return (
    <form
      className="model-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (addCustom(text)) setText('');
      }}
    >
      <Field label="Custom MLC repo URL" className="field model-url">
        <input
          type="text"
          inputMode="url"
          placeholder="https://huggingface.co/mlc-ai/<repo>"
          value={text}
          onChange={(e) => setText(e.target.value)}
          data-testid="custom-url"
          spellCheck={false}
        />
      </Field>
      <button type="submit" className="button" data-testid="custom-url-add">
        Add
      </button>
      {error && <ErrorText testId="custom-url-error">{error}</ErrorText>}
    </form>
  );
}

function FolderPicker() {
  const { useFolder: loadFolder, folderError: error } = useSlice('models', 'useFolder', 'folderError');
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // React does not know webkitdirectory: set it on the element.
    ref.current?.setAttribute('webkitdirectory', '');
    ref.current?.setAttribute('directory', '');
  }, []);
  const onChange = (e: ChangeEvent<HTMLInputElement>) => {
    const list = Array.from(e.target.files ?? []);
    const files: PickedFileSpec[] = list.map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    const name = files[0]?.path.split('/')[0] ?? '';
    e.target.value = '';
    void loadFolder(list.length > 0 && files[0].path.includes('/') ? name : 'picked files', files);
  };
  return (
    <div className="model-form">
      <label className="button">
        Load from folder…
        <input ref={ref} type="file" multiple hidden onChange={onChange} data-testid="folder-input" />
      </label>
      <span className="card-hint">an MLC model folder on this computer (read in place, not cached)</span>
      {error && <ErrorText testId="folder-error">{error}</ErrorText>}
    </div>
  );
}

interface Row {
  id: string;
  label: string;
  record?: CatalogRecord;
  builtIn?: boolean;
}

function ModelTable() {
  const { custom, focusId, catalog, catalogError, folders } = useSlice(
    'models',
    'custom',
    'focusId',
    'catalog',
    'catalogError',
    'folders',
  );
  const rows = useMemo<Row[]>(
    () => [
      { id: 'micro', label: 'micro (built-in)', builtIn: true },
      ...custom.map((id) => ({ id, label: findModel({ catalog, folders }, id)?.label ?? id })),
      ...(catalog ?? []).map((record) => ({ id: record.id, label: record.id, record })),
    ],
    [custom, catalog, folders],
  );
  const focused = useRef<HTMLTableRowElement>(null);
  useEffect(() => {
    // A block body: scrollIntoView returns a promise in newer browsers, and an effect may only return a cleanup.
    void focused.current?.scrollIntoView({ block: 'nearest' });
  }, [focusId]);
  return (
    <div className="model-table-wrap">
      <table className="model-table" data-testid="model-table">
        <TableHead columns={['Model', 'Download', 'GPU memory', 'Needs', 'Context', 'Can run here', 'Cached', '']} />
        <tbody>
          {rows.map((row) => (
            <ModelRow
              key={row.id}
              row={row}
              focused={row.id === focusId}
              rowRef={row.id === focusId ? focused : undefined}
            />
          ))}
        </tbody>
      </table>
      {catalog === null && (
        <p className="card-hint" data-testid="catalog-loading">
          Loading web-llm's model list…
        </p>
      )}
      {catalogError && <ErrorText testId="catalog-error">{catalogError}</ErrorText>}
    </div>
  );
}

function ModelRow({ row, focused, rowRef }: { row: Row; focused: boolean; rowRef?: React.Ref<HTMLTableRowElement> }) {
  const { adapter, cached, downloads, catalog, folders } = useSlice(
    'models',
    'adapter',
    'cached',
    'downloads',
    'catalog',
    'folders',
  );
  const choice = findModel({ catalog, folders }, row.id);
  const entry = cachedEntry(cached, choice);
  const download = choice ? downloads[choice.url] : undefined;
  const { record } = row;
  const fit = record ? fitHere(record, adapter) : null;
  const verdict = row.builtIn
    ? adapter?.status === 'missing'
      ? 'no'
      : 'yes'
    : fit
      ? fit.verdict
      : record
        ? ''
        : 'unknown';
  const canText = row.builtIn
    ? adapter?.status === 'missing'
      ? `no: ${adapter.reason}`
      : 'yes'
    : record
      ? fit === null
        ? '…'
        : fit.verdict === 'yes'
          ? 'yes'
          : `${fit.verdict}: ${fit.reason}`
      : 'checked when loaded';
  const where = entry ? `, ${BACKEND_LABELS[entry.backend]}` : '';
  const cachedText = row.builtIn
    ? 'built in'
    : entry?.complete
      ? `yes (${formatBytes(entry.bytes)}${where})`
      : entry
        ? `partly (${entry.shardsCached}/${entry.shardsTotal} shards${where})`
        : cached === null
          ? '…'
          : 'no';
  const downloadBytes = record ? catalogDownloadBytes(record) : undefined;
  return (
    <tr
      ref={rowRef}
      className={focused ? 'model-row model-row--focus' : 'model-row'}
      data-testid="model-row"
      data-model-id={row.id}
      data-cached={String(Boolean(row.builtIn || entry?.complete))}
      data-can-run={verdict}
    >
      <td className="model-name" title={choice?.description}>
        {row.label}
      </td>
      <td data-testid="model-size">
        {row.builtIn
          ? '115 KB'
          : downloadBytes !== undefined
            ? formatBytes(downloadBytes)
            : entry?.totalBytes
              ? formatBytes(entry.totalBytes)
              : '?'}
      </td>
      <td data-testid="model-vram">
        {record?.vramRequiredMB !== undefined ? `${Math.ceil(record.vramRequiredMB)} MB` : row.builtIn ? '< 1 MB' : '?'}
      </td>
      <td>{record ? record.requiredFeatures.join(', ') || '–' : '–'}</td>
      <td>{record ? (record.contextWindow ?? '?') : row.builtIn ? 1024 : '?'}</td>
      <td
        data-testid="model-can-run"
        className={verdict === 'no' ? 'bad' : undefined}
        title={fit ? [fit.precision.text, ...fit.warnings].join('\n') : undefined}
      >
        {canText}
        {fit && fit.warnings.length > 0 && (
          <span className="card-hint" data-testid="model-fit-notes">
            {' '}
            ({fit.warnings.join('; ')})
          </span>
        )}
      </td>
      <td data-testid="model-cached">{cachedText}</td>
      <td className="model-actions">
        <RowActions
          id={row.id}
          builtIn={Boolean(row.builtIn)}
          entry={entry}
          download={download}
          canUse={row.builtIn || (entry?.complete ?? false)}
          blocked={fit?.verdict === 'no'}
        />
      </td>
    </tr>
  );
}

function RowActions({
  id,
  builtIn,
  entry,
  download,
  canUse,
  blocked,
}: {
  id: string;
  builtIn: boolean;
  entry: CachedModelView | undefined;
  download: DownloadState | undefined;
  canUse: boolean;
  blocked: boolean;
}) {
  const {
    model,
    modelId,
    use,
    download: startDownload,
    cancel,
    remove,
  } = useApp(
    useShallow(({ playground, models }) => ({
      model: playground.model,
      modelId: playground.modelId,
      use: models.use,
      download: models.download,
      cancel: models.cancel,
      remove: models.remove,
    })),
  );
  const [confirming, setConfirming] = useState(false);
  const inUse = modelId === id && (model.status === 'ready' || model.status === 'loading');
  const downloading = download?.status === 'downloading';
  return (
    <div className="row-actions">
      {(download?.status === 'downloading' || download?.status === 'done') && <Progress download={download} />}
      {download?.status === 'error' && <ErrorText testId="download-error">{download.message}</ErrorText>}
      {download?.status === 'cancelled' && (
        <span className="card-hint" data-testid="download-cancelled">
          Download cancelled{entry ? ' (files so far are kept; Download continues)' : ''}.
        </span>
      )}
      {canUse && (
        <button
          type="button"
          className="button button--small button--primary"
          disabled={inUse}
          onClick={() => void use(id)}
          data-testid="model-use"
        >
          {inUse ? (model.status === 'loading' ? 'Loading…' : 'In use') : 'Use'}
        </button>
      )}
      {!builtIn && !entry?.complete && !downloading && (
        <button
          type="button"
          className="button button--small"
          disabled={blocked}
          title={blocked ? 'this GPU cannot run it' : undefined}
          onClick={() => void startDownload(id)}
          data-testid="model-download"
        >
          {entry ? 'Resume download' : 'Download'}
        </button>
      )}
      {downloading && (
        <button type="button" className="button button--small" onClick={() => cancel(id)} data-testid="model-cancel">
          Cancel
        </button>
      )}
      {!builtIn && entry && !downloading && !confirming && (
        <button
          type="button"
          className="button button--small"
          onClick={() => setConfirming(true)}
          data-testid="model-delete"
        >
          Delete
        </button>
      )}
      {confirming && (
        <span className="confirm">
          Delete {formatBytes(entry?.bytes ?? 0)} from the cache?{' '}
          <button
            type="button"
            className="button button--small"
            onClick={() => {
              setConfirming(false);
              void remove(id);
            }}
            data-testid="model-delete-confirm"
          >
            Delete
          </button>{' '}
          <button type="button" className="button button--small" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </span>
      )}
    </div>
  );
}

function Progress({ download }: { download: Extract<DownloadState, { status: 'downloading' | 'done' }> }) {
  const bytesDone = download.status === 'done' ? download.bytesTotal : download.bytesDone;
  const pct =
    download.status === 'done'
      ? 100
      : download.bytesTotal > 0
        ? Math.min(100, Math.floor((100 * bytesDone) / download.bytesTotal))
        : 0;
  return (
    <div className="download-progress">
      <progress max={100} value={pct} data-testid="download-progress" />
      <span className="mono" data-testid="download-text">
        {download.bytesTotal > 0
          ? `${formatBytes(bytesDone)} of ${formatBytes(download.bytesTotal)} (${pct}%)`
          : 'starting…'}
      </span>
    </div>
  );
}
