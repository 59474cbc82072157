/**
 * Runs stored in this browser (IndexedDB): how much space the site uses, each run's progress and status, and
 * per run: show it on the charts, resume it, delete it (after a confirmation; nothing is deleted otherwise).
 */
import { useState } from 'react';
import { runLabel, useTraining } from '../state/training';
import { isResumable, type RunMeta } from '../worker/training-protocol';
import { formatBytes } from '../util/format';

export function StoredRuns() {
  const storage = useTraining((s) => s.storage);
  const storageError = useTraining((s) => s.storageError);
  const refresh = useTraining((s) => s.refreshStorage);
  return (
    <details className="stored-runs" data-testid="stored-runs" onToggle={(e) => (e.currentTarget.open ? void refresh() : undefined)}>
      <summary>
        Stored runs
        {storage ? ` (${storage.runs.length}${storage.usage !== null ? `; this site uses ${formatBytes(storage.usage)}${storage.quota !== null ? ` of ${formatBytes(storage.quota)}` : ''}` : ''})` : ''}
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
  const overlays = useTraining((s) => s.overlays);
  const current = useTraining((s) => s.run);
  const phase = useTraining((s) => s.phase);
  const { toggleOverlay, resume, deleteRun } = useTraining.getState();
  const [confirming, setConfirming] = useState(false);
  const isCurrent = current?.id === run.id;
  const training = phase === 'running' || phase === 'starting' || phase === 'pausing' || phase === 'stopping';
  const shown = isCurrent || overlays.some((o) => o.id === run.id);
  return (
    <li className="run-row" data-testid="stored-run" data-run={run.id}>
      <span className="run-name">{runLabel(run)}</span>
      <span className="card-hint">
        {run.algo === 'saycan' ? 'evaluation' : `update ${run.updates}/${run.numUpdates}, ${run.globalStep.toLocaleString()} steps`} · {run.status}
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
          <button type="button" className="button button--small" disabled={training} onClick={() => void resume(run.id)}>
            Resume
          </button>
        )}
        {confirming ? (
          <span className="confirm">
            Delete this run?{' '}
            <button type="button" className="button button--small" onClick={() => void deleteRun(run.id).then(() => setConfirming(false))}>
              Delete
            </button>
            <button type="button" className="button button--small" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="button button--small" disabled={isCurrent && training} onClick={() => setConfirming(true)}>
            Delete…
          </button>
        )}
      </span>
    </li>
  );
}
