/**
 * Runs stored in this browser (IndexedDB): how much space the site uses, each run's progress and status, and
 * per run: show it on the charts, resume it, delete it (after a confirmation; nothing is deleted otherwise).
 */
import { appStore } from '../state/store';
import { runLabel } from '../state/training';
import { isResumable, type RunMeta } from '../worker/training-protocol';
import { formatBytes } from '../util/format';
import { ConfirmDelete, ErrorText } from './parts';
import { useSlice } from './useSlice';

export function StoredRuns() {
  const {
    storage,
    storageError,
    refreshStorage: refresh,
  } = useSlice('training', 'storage', 'storageError', 'refreshStorage');
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
      {storageError && <ErrorText>Runs cannot be stored here: {storageError}</ErrorText>}
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
  const { overlays, run: current, phase } = useSlice('training', 'overlays', 'run', 'phase');
  const { toggleOverlay, resume, deleteRun } = appStore.getState().training;
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
        <ConfirmDelete
          question="Delete this run?"
          disabled={isCurrent && training}
          onDelete={() => deleteRun(run.id)}
        />
      </span>
    </li>
  );
}
