import { getTask } from '../envs/registry';
import { usePlayground } from '../state/playground';
import { formatReward } from './format';

/** Counters, last reward, return and the done/success state of the current episode. */
export function EpisodeStats() {
  const s = usePlayground();
  const task = getTask(s.taskId);
  const overcooked = task.family === 'overcooked';
  const status = s.success ? 'success' : s.done ? 'ended' : s.phase === 'ready' ? 'running' : s.phase;
  const statusText =
    status === 'success'
      ? 'Success: task achieved'
      : status === 'ended'
        ? 'Episode over (horizon reached)'
        : status === 'running'
          ? 'In progress'
          : status === 'error'
            ? 'Error'
            : 'Loading…';
  return (
    <section className="card stats" aria-label="Episode">
      <div className="card-head">
        <h2>Episode</h2>
        <span
          className={`status-pill status-pill--${status}`}
          data-testid="episode-status"
          data-done={String(s.done)}
          data-success={String(s.success)}
        >
          {statusText}
        </span>
      </div>
      <dl className="stat-grid">
        <div>
          <dt>{overcooked ? 'Macro steps' : 'Steps'}</dt>
          <dd data-testid="steps">
            {overcooked ? s.steps : `${s.steps} / ${task.horizon}`}
          </dd>
        </div>
        {overcooked && (
          <div>
            <dt title="primitive environment steps (a macro action takes several)">Env steps</dt>
            <dd data-testid="primitive-steps">
              {s.primitiveSteps} / {task.horizon}
            </dd>
          </div>
        )}
        <div>
          <dt>Last reward</dt>
          <dd data-testid="last-reward">{formatReward(s.lastResult?.reward)}</dd>
        </div>
        <div>
          <dt>Return</dt>
          <dd data-testid="episode-return" title={`discounted with γ = ${task.discount}; best possible ${task.optimalReturn.toFixed(4)}`}>
            {formatReward(s.episodeReturn)}
          </dd>
        </div>
      </dl>
    </section>
  );
}

export function PromptCard() {
  const prompt = usePlayground((s) => s.observation?.prompt);
  return (
    <section className="card" aria-label="Prompt">
      <div className="card-head">
        <h2>Prompt</h2>
        <span className="card-hint">what the model reads</span>
      </div>
      <p className="prompt" data-testid="prompt">
        {prompt ?? ''}
      </p>
    </section>
  );
}

export function ActionsCard() {
  const actions = usePlayground((s) => s.observation?.actions);
  const done = usePlayground((s) => s.done);
  const phase = usePlayground((s) => s.phase);
  const takeAction = usePlayground((s) => s.takeAction);
  const reset = usePlayground((s) => s.reset);
  const error = usePlayground((s) => s.error);
  return (
    <section className="card" aria-label="Actions">
      <div className="card-head">
        <h2>Actions</h2>
        <span className="card-hint">keys 1–9 · r resets</span>
      </div>
      {done && (
        <p className="card-note" data-testid="done-note">
          The episode is over. Press Reset (or r) to start a new one.
        </p>
      )}
      <ol className="actions" data-testid="actions">
        {(actions ?? []).map((text, i) => (
          <li key={i}>
            <button
              type="button"
              className="action"
              onClick={() => void takeAction(i)}
              disabled={done || phase !== 'ready'}
              aria-keyshortcuts={i < 9 ? String(i + 1) : undefined}
            >
              <span className="action-text">{text}</span>
              {i < 9 && <kbd>{i + 1}</kbd>}
            </button>
          </li>
        ))}
      </ol>
      <div className="actions-foot">
        <button type="button" className="button-secondary" onClick={() => void reset()} aria-keyshortcuts="r">
          Reset
        </button>
      </div>
      {error && (
        <p className="error-text" role="alert" data-testid="error">
          {error}
        </p>
      )}
    </section>
  );
}

export function HistoryCard() {
  const history = usePlayground((s) => s.history);
  if (history.length === 0) return null;
  return (
    <section className="card" aria-label="History">
      <div className="card-head">
        <h2>History</h2>
        <span className="card-hint">{history.length} actions</span>
      </div>
      <ol className="history" data-testid="history">
        {[...history].reverse().map((h) => (
          <li key={h.step} title={h.prompt}>
            <span className="history-step">{h.step}</span>
            <span className="history-action">
              {h.actionText}
              {h.effect === false && <span className="history-tag">no effect</span>}
            </span>
            <span className={`history-reward ${h.reward > 0 ? 'pos' : h.reward < 0 ? 'neg' : ''}`}>{formatReward(h.reward)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
