/**
 * The Model panel (a dialog opened from the header): the built-in micro model, every catalog model (download
 * size, GPU memory, features, context, whether this adapter can run it, whether it is cached), downloads with
 * progress and Cancel, deletion from the cache, a custom MLC repo URL, a picked folder, and the adapter.
 */
import { useEffect, useMemo, useRef, useState, type ChangeEvent } from 'react';
import { MODEL_CATALOG, type CatalogRecord } from '../llm/model/catalog';
import { canRunHere, cachedEntry, catalogDownloadBytes, useModelPanel, type DownloadState } from '../state/model-panel';
import { findModel } from '../state/models';
import { usePlayground } from '../state/playground';
import type { CachedModelView, PickedFileSpec } from '../worker/protocol';
import { formatBytes } from '../util/format';

export function ModelPanel() {
  const open = useModelPanel((s) => s.open);
  const setOpen = useModelPanel((s) => s.setOpen);
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
          <button type="button" className="icon-button" onClick={() => setOpen(false)} aria-label="Close the model panel" data-testid="model-panel-close">
            ×
          </button>
        </div>
        <AdapterLine />
        <CurrentModel />
        <CustomUrl />
        <FolderPicker />
        <CacheProblem />
        <ModelTable />
      </div>
    </div>
  );
}

function AdapterLine() {
  const adapter = useModelPanel((s) => s.adapter);
  return (
    <p className="card-note" data-testid="model-panel-adapter">
      {adapter === null
        ? 'Asking the worker for the WebGPU adapter…'
        : adapter.status === 'ok'
          ? `GPU: ${adapter.description} · max buffer ${formatBytes(adapter.limits.maxBufferSize)} · max storage binding ${formatBytes(adapter.limits.maxStorageBufferBindingSize)} · features: ${adapter.features.filter((f) => ['shader-f16', 'subgroups'].includes(f)).join(', ') || 'no shader-f16'}`
          : `No WebGPU here: ${adapter.reason}. Models can still be downloaded, not run.`}
    </p>
  );
}

/** The model in the worker: loading progress, or why it did not load (bad files, too large for this GPU…). */
function CurrentModel() {
  const model = usePlayground((s) => s.model);
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
      text = `${model.id}: ${model.reason}`;
      bad = true;
      break;
    case 'error':
      text = `${model.id}: ${model.message}`;
      bad = true;
      break;
  }
  return (
    <p className={bad ? 'error-text' : 'card-note'} role={bad ? 'alert' : undefined} data-testid="model-panel-status" data-state={model.status}>
      {text}
    </p>
  );
}

function CacheProblem() {
  const error = useModelPanel((s) => s.cacheError);
  if (!error) return null;
  return (
    <p className="error-text" role="alert" data-testid="cache-error">
      {error}
    </p>
  );
}

function CustomUrl() {
  const addCustom = useModelPanel((s) => s.addCustom);
  const error = useModelPanel((s) => s.customError);
  const [text, setText] = useState('');
  return (
    <form
      className="model-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (addCustom(text)) setText('');
      }}
    >
      <label className="field model-url">
        <span className="field-label">Custom MLC repo URL</span>
        <input
          type="text"
          inputMode="url"
          placeholder="https://huggingface.co/mlc-ai/<repo>"
          value={text}
          onChange={(e) => setText(e.target.value)}
          data-testid="custom-url"
          spellCheck={false}
        />
      </label>
      <button type="submit" className="button" data-testid="custom-url-add">
        Add
      </button>
      {error && (
        <p className="error-text" role="alert" data-testid="custom-url-error">
          {error}
        </p>
      )}
    </form>
  );
}

function FolderPicker() {
  const loadFolder = useModelPanel((s) => s.useFolder);
  const error = useModelPanel((s) => s.folderError);
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
      {error && (
        <p className="error-text" role="alert" data-testid="folder-error">
          {error}
        </p>
      )}
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
  const custom = useModelPanel((s) => s.custom);
  const focusId = useModelPanel((s) => s.focusId);
  const rows = useMemo<Row[]>(
    () => [
      { id: 'micro', label: 'micro (built-in)', builtIn: true },
      ...custom.map((id) => ({ id, label: findModel(id)?.label ?? id })),
      ...MODEL_CATALOG.map((record) => ({ id: record.id, label: record.id, record })),
    ],
    [custom],
  );
  const focused = useRef<HTMLTableRowElement>(null);
  useEffect(() => {
    // A block body: scrollIntoView returns a promise in newer browsers, and an effect may only return a cleanup.
    void focused.current?.scrollIntoView({ block: 'nearest' });
  }, [focusId]);
  return (
    <div className="model-table-wrap">
      <table className="model-table" data-testid="model-table">
        <thead>
          <tr>
            <th>Model</th>
            <th>Download</th>
            <th>GPU memory</th>
            <th>Needs</th>
            <th>Context</th>
            <th>Can run here</th>
            <th>Cached</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <ModelRow key={row.id} row={row} focused={row.id === focusId} rowRef={row.id === focusId ? focused : undefined} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ModelRow({ row, focused, rowRef }: { row: Row; focused: boolean; rowRef?: React.Ref<HTMLTableRowElement> }) {
  const adapter = useModelPanel((s) => s.adapter);
  const cached = useModelPanel((s) => s.cached);
  const downloads = useModelPanel((s) => s.downloads);
  const choice = findModel(row.id);
  const entry = cachedEntry(cached, choice);
  const download = choice ? downloads[choice.url] : undefined;
  const { record } = row;
  const can = record ? canRunHere(record, adapter) : null;
  const canText = row.builtIn
    ? adapter?.status === 'missing'
      ? `no: ${adapter.reason}`
      : 'yes'
    : record
      ? can === null
        ? '…'
        : can.ok
          ? 'yes'
          : `no: ${can.reason}`
      : 'checked when loaded';
  const cachedText = row.builtIn ? 'built in' : entry?.complete ? `yes (${formatBytes(entry.bytes)})` : entry ? `partly (${entry.shardsCached}/${entry.shardsTotal} shards)` : cached === null ? '…' : 'no';
  return (
    <tr
      ref={rowRef}
      className={focused ? 'model-row model-row--focus' : 'model-row'}
      data-testid="model-row"
      data-model-id={row.id}
      data-cached={String(Boolean(row.builtIn || entry?.complete))}
      data-can-run={row.builtIn ? String(adapter?.status !== 'missing') : record ? String(can?.ok ?? '') : 'unknown'}
    >
      <td className="model-name" title={choice?.description}>
        {row.label}
      </td>
      <td data-testid="model-size">{row.builtIn ? '115 KB' : record ? formatBytes(catalogDownloadBytes(record)) : entry?.totalBytes ? formatBytes(entry.totalBytes) : '?'}</td>
      <td data-testid="model-vram">{record ? `${Math.ceil(record.vramRequiredMB)} MB` : row.builtIn ? '< 1 MB' : '?'}</td>
      <td>{record ? record.requiredFeatures.join(', ') || '–' : '–'}</td>
      <td>{record ? record.contextWindow : row.builtIn ? 1024 : '?'}</td>
      <td data-testid="model-can-run" className={canText.startsWith('no') ? 'bad' : undefined}>
        {canText}
      </td>
      <td data-testid="model-cached">{cachedText}</td>
      <td className="model-actions">
        <RowActions id={row.id} builtIn={Boolean(row.builtIn)} entry={entry} download={download} canUse={row.builtIn || (entry?.complete ?? false)} blocked={can !== null && !can.ok} />
      </td>
    </tr>
  );
}

function RowActions({ id, builtIn, entry, download, canUse, blocked }: { id: string; builtIn: boolean; entry: CachedModelView | undefined; download: DownloadState | undefined; canUse: boolean; blocked: boolean }) {
  const panel = useModelPanel();
  const model = usePlayground((s) => s.model);
  const modelId = usePlayground((s) => s.modelId);
  const [confirming, setConfirming] = useState(false);
  const inUse = modelId === id && (model.status === 'ready' || model.status === 'loading');
  const downloading = download?.status === 'downloading';
  return (
    <div className="row-actions">
      {(download?.status === 'downloading' || download?.status === 'done') && <Progress download={download} />}
      {download?.status === 'error' && (
        <p className="error-text" role="alert" data-testid="download-error">
          {download.message}
        </p>
      )}
      {download?.status === 'cancelled' && <span className="card-hint" data-testid="download-cancelled">Download cancelled{entry ? ' (files so far are kept; Download continues)' : ''}.</span>}
      {canUse && (
        <button type="button" className="button button--small button--primary" disabled={inUse} onClick={() => void panel.use(id)} data-testid="model-use">
          {inUse ? (model.status === 'loading' ? 'Loading…' : 'In use') : 'Use'}
        </button>
      )}
      {!builtIn && !entry?.complete && !downloading && (
        <button
          type="button"
          className="button button--small"
          disabled={blocked}
          title={blocked ? 'this GPU cannot run it' : undefined}
          onClick={() => void panel.download(id)}
          data-testid="model-download"
        >
          {entry ? 'Resume download' : 'Download'}
        </button>
      )}
      {downloading && (
        <button type="button" className="button button--small" onClick={() => panel.cancel(id)} data-testid="model-cancel">
          Cancel
        </button>
      )}
      {!builtIn && entry && !downloading && !confirming && (
        <button type="button" className="button button--small" onClick={() => setConfirming(true)} data-testid="model-delete">
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
              void panel.remove(id);
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
  const pct = download.status === 'done' ? 100 : download.bytesTotal > 0 ? Math.min(100, Math.floor((100 * bytesDone) / download.bytesTotal)) : 0;
  return (
    <div className="download-progress">
      <progress max={100} value={pct} data-testid="download-progress" />
      <span className="mono" data-testid="download-text">
        {download.bytesTotal > 0 ? `${formatBytes(bytesDone)} of ${formatBytes(download.bytesTotal)} (${pct}%)` : 'starting…'}
      </span>
    </div>
  );
}
