/**
 * Runs stored in this browser (IndexedDB): how much space the site uses, each run's progress and status, and
 * per run: show it on the charts, resume it, delete it (after a confirmation; nothing is deleted otherwise).
 */
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { appStore, useApp } from '../state/store';
import { runLabel } from '../state/training';
import { isResumable, type RunMeta } from '../worker/training-protocol';
import { formatBytes } from '../util/format';

export function StoredRuns() {
  const { storage, storageError, refresh } = useApp(
    useShallow(({ training: s }) => ({
      storage: s.storage,
      storageError: s.storageError,
      refresh: s.refreshStorage,
    })),
  );
  return (
    <details
      className="stored-runs"
      data-testid="stored-runs"
      onToggle={(e) => (e.currentTarget.open ? void refresh() : undefined)}
    >
      <summary>
        Stored runs
        {storage
          ? ` (${storage.runs.length}${storage.usage !== null ? `; this site uses ${formatBytes(storage.usage)}${storage.quota !== null ? ` of ${formatBytes(storage.quota)}` : ''}` : ''})`
          : ''}
      </summary>
      {storageError && (
        <p className="error-text" role="alert">
          Runs cannot be stored here: {storageError}
        </p>
      )}
      {storage && storage.runs.length === 0 && <p className="card-hint">No runs stored yet.</p>}
      {storage && storage.runs.length > 0 && (
        <ul className="run-list">
          {[...storage.runs].reverse().map((r) => (
            <RunRow key={r.id} run={r} />
          ))}
        </ul>
      )}
    </details>
  );
}

function RunRow({ run }: { run: RunMeta }) {
  const { overlays, current, phase } = useApp(
    useShallow(({ training: s }) => ({
      overlays: s.overlays,
      current: s.run,
      phase: s.phase,
    })),
  );
  const { toggleOverlay, resume, deleteRun } = appStore.getState().training;
  const [confirming, setConfirming] = useState(false);
  const isCurrent = current?.id === run.id;
  const training = phase === 'running' || phase === 'starting' || phase === 'pausing' || phase === 'stopping';
  const shown = isCurrent || overlays.some((o) => o.id === run.id);
  return (
    <li className="run-row" data-testid="stored-run" data-run={run.id}>
      <span className="run-name">{runLabel(run)}</span>
      <span className="card-hint">
        {run.algo === 'saycan'
          ? 'evaluation'
          : `update ${run.updates}/${run.numUpdates}, ${run.globalStep.toLocaleString()} steps`}{' '}
        · {run.status}
        {run.modelId ? ` · ${run.modelId}` : ''} · {new Date(run.startedAt).toLocaleString()}
      </span>
      {run.message && <span className="error-text">{run.message}</span>}
      <span className="row-actions">
        {!isCurrent && (
          <button type="button" className="button button--small" onClick={() => void toggleOverlay(run.id)}>
            {shown ? 'Hide' : 'Show'}
          </button>
        )}
        {!isCurrent && isResumable(run) && (
          <button
            type="button"
            className="button button--small"
            disabled={training}
            onClick={() => void resume(run.id)}
          >
            Resume
          </button>
        )}
        {confirming ? (
          <span className="confirm">
            Delete this run?{' '}
            <button
              type="button"
              className="button button--small"
              onClick={() => void deleteRun(run.id).then(() => setConfirming(false))}
            >
              Delete
            </button>
            <button type="button" className="button button--small" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button
            type="button"
            className="button button--small"
            disabled={isCurrent && training}
            onClick={() => setConfirming(true)}
          >
            Delete…
          </button>
        )}
      </span>
    </li>
  );
}
