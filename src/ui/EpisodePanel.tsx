import { getTask } from '../envs/registry';
import { useShallow } from 'zustand/react/shallow';
import { findModel } from '../state/models';
import { useApp } from '../state/store';
import { episodeHistory, isViewingPast, shownEntry, type ChosenBy, type TimelineEntry } from '../state/timeline';
import type { ModelStatus, Normalization } from '../worker/protocol';
import { formatBytes, formatPercent, formatReward } from '../util/format';
import { ErrorText, SelectField, Stat } from './parts';
import { useSlice } from './useSlice';

/** Counters, last reward, return and the done/success state of the episode at the shown step. */
export function EpisodeStats() {
  const { entry, past, taskId, phase, latest } = useApp(
    useShallow(({ playground: s }) => ({
      entry: shownEntry(s),
      past: isViewingPast(s),
      taskId: s.taskId,
      phase: s.phase,
      latest: s.timeline.length - 1,
    })),
  );
  const task = getTask(taskId);
  // A macro action runs several primitive steps; the horizon counts primitive steps.
  const macro = task.macroActions;
  const done = entry?.done ?? false;
  const success = entry?.success ?? false;
  const status = success ? 'success' : done ? 'ended' : phase === 'ready' ? 'running' : phase;
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
  const steps = entry?.t ?? 0;
  return (
    <section className="card stats" aria-label="Episode">
      <div className="card-head">
        <h2>
          Episode
          {past && (
            <span className="card-head-note">
              {' '}
              · step {steps} of {latest}
            </span>
          )}
        </h2>
        <span
          className={`status-pill status-pill--${status}`}
          data-testid="episode-status"
          data-done={String(done)}
          data-success={String(success)}
        >
          {statusText}
        </span>
      </div>
      <dl className="stat-grid">
        <Stat label={macro ? 'Macro steps' : 'Steps'} testId="steps">
          {macro ? steps : `${steps} / ${task.horizon}`}
        </Stat>
        {macro && (
          <div>
            <dt title="primitive environment steps (a macro action takes several)">Env steps</dt>
            <dd data-testid="primitive-steps">
              {entry?.primitiveSteps ?? 0} / {task.horizon}
            </dd>
          </div>
        )}
        <Stat label="Last reward" testId="last-reward">
          {formatReward(entry?.result?.reward)}
        </Stat>
        <Stat
          label="Return"
          testId="episode-return"
          title={`discounted with γ = ${task.discount}; best possible ${task.optimalReturn.toFixed(4)}`}
        >
          {formatReward(entry ? entry.episodeReturn : null)}
        </Stat>
      </dl>
    </section>
  );
}

export function PromptCard() {
  const { prompt, past } = useApp(
    useShallow(({ playground: s }) => ({
      prompt: shownEntry(s)?.observation.prompt,
      past: isViewingPast(s),
    })),
  );
  return (
    <section className="card" aria-label="Prompt">
      <div className="card-head">
        <h2>Prompt</h2>
        <span className="card-hint">{past ? 'at the step shown (read-only)' : 'what the model reads'}</span>
      </div>
      <p className="prompt" data-testid="prompt">
        {prompt ?? ''}
      </p>
    </section>
  );
}

const NORM_LABELS: Record<Normalization, string> = {
  word: 'word (paper)',
  token: 'token',
  sum: 'sum (none)',
};

const NORM_HELP: Record<Normalization, string> = {
  word: "softmax of each action's log-probability divided by its number of words (TWOSOME's default)",
  token: "softmax of each action's log-probability divided by its number of tokens",
  sum: 'softmax of the summed log-probabilities (no normalization: long actions lose)',
};

function NormalizationSelect() {
  const { norm, selectNorm } = useSlice('playground', 'norm', 'selectNorm');
  return (
    <SelectField<Normalization>
      label="Normalization"
      title={NORM_HELP[norm]}
      value={norm}
      options={Object.keys(NORM_LABELS) as Normalization[]}
      text={(n) => NORM_LABELS[n]}
      onChange={selectNorm}
      testId="norm-select"
    />
  );
}

/** One line on what the probabilities are, or why there are none. */
function PolicyStatus({ entry, model }: { entry: TimelineEntry | null; model: ModelStatus }) {
  let state: string;
  let text: string;
  if (model.status === 'unavailable') {
    state = 'unavailable';
    text = model.reason;
  } else if (model.status === 'error') {
    state = 'error';
    text = model.message;
  } else if (model.status === 'loading' || model.status === 'none') {
    state = 'loading';
    const progress =
      model.status === 'loading' && model.bytes > 0
        ? ` (${formatBytes(model.bytesDone)} of ${formatBytes(model.bytes)})`
        : '';
    text = `Loading the model${model.status === 'loading' ? ` ${model.id}` : ''}${progress}…`;
  } else if (!entry || entry.scores.status === 'pending') {
    state = 'scoring';
    text = `Scoring with ${model.info.id}…`;
  } else if (entry.scores.status === 'ok') {
    const sc = entry.scores.scores;
    state = 'ready';
    text = `${sc.modelId} · ${sc.promptTokens} prompt tokens · scored in ${Math.round(sc.ms)} ms${model.info.software ? ' (software GPU)' : ''}`;
  } else if (entry.scores.status === 'none') {
    state = 'done';
    text = 'The episode is over: nothing left to score.';
  } else {
    state = entry.scores.status;
    text =
      entry.scores.status === 'unavailable'
        ? `No probabilities for this step (${entry.scores.reason}).`
        : entry.scores.message;
  }
  return (
    <p className={`card-hint policy-status policy-status--${state}`} data-testid="policy-status" data-state={state}>
      {text}
    </p>
  );
}

/**
 * Where the probabilities are: a model with random weights (the built-in micro model) and no adapter scores
 * actions at random, and the numbers look meaningful; say so, with the way to a real model.
 */
function RandomModelNote() {
  const { random, adapter, openModels } = useApp(
    useShallow((s) => ({
      random: findModel(s.models, s.playground.modelId)?.randomWeights === true,
      adapter: s.share.adapter !== null,
      openModels: s.models.setOpen,
    })),
  );
  if (!random || adapter) return null;
  return (
    <p className="card-note notice--warning" data-testid="random-model-note">
      This model has random weights: these probabilities mean nothing until an adapter is trained (Training) or loaded
      (Adapter). For a real model:{' '}
      <button type="button" className="button button--small" onClick={() => openModels(true)}>
        Models…
      </button>
    </p>
  );
}

const BY_TEXT: Record<ChosenBy, string> = { you: 'you chose', sample: 'sampled', greedy: 'greedy' };

export function ActionsCard() {
  const { entry, past, norm, model, busy, phase, takeAction, error } = useApp(
    useShallow(({ playground: s }) => ({
      entry: shownEntry(s),
      past: isViewingPast(s),
      norm: s.norm,
      model: s.model,
      busy: s.busy,
      phase: s.phase,
      takeAction: s.takeAction,
      error: s.error,
    })),
  );
  const actions = entry?.observation.actions ?? [];
  const scores =
    entry?.scores.status === 'ok' && entry.scores.scores.actions.length === actions.length ? entry.scores.scores : null;
  const probs = scores?.policy[norm] ?? null;
  let best = -1;
  if (probs) for (let i = 0; i < probs.length; i++) if (best < 0 || probs[i] > probs[best]) best = i;
  const done = entry?.done ?? false;
  return (
    <section className="card" aria-label="Actions">
      <div className="card-head">
        <h2>Actions</h2>
        <NormalizationSelect />
      </div>
      <PolicyStatus entry={entry} model={model} />
      <RandomModelNote />
      {done && !past && (
        <p className="card-note" data-testid="done-note">
          The episode is over. Press Reset (or r) to start a new one.
        </p>
      )}
      {past && (
        <p className="card-note">
          Step {entry?.t} of the episode, read-only: the action taken next is marked. Stepping goes on from the latest
          state.
        </p>
      )}
      <ol className="actions" data-testid="actions">
        {actions.map((text, i) => {
          const p = probs ? probs[i] : null;
          const sc = scores?.actions[i];
          const taken = entry?.taken?.index === i ? entry.taken.by : null;
          return (
            <li key={`${i}:${text}`}>
              <button
                type="button"
                className={`action${i === best ? ' action--best' : ''}${taken ? ' action--taken' : ''}`}
                onClick={() => void takeAction(i)}
                disabled={past || done || phase !== 'ready' || busy}
                aria-keyshortcuts={i < 9 ? String(i + 1) : undefined}
              >
                <span className="action-body">
                  <span className="action-text">{text}</span>
                  <span className="action-meta">
                    {sc
                      ? `${sc.nTokens} token${sc.nTokens === 1 ? '' : 's'} · ${sc.nWords} word${sc.nWords === 1 ? '' : 's'}`
                      : '\u00a0'}
                    {taken && <span className="action-tag">{BY_TEXT[taken]}</span>}
                  </span>
                </span>
                <span
                  className="action-prob"
                  data-testid="action-prob"
                  data-prob={p === null ? '' : String(p)}
                  title={sc && p !== null ? `log p = ${sc.logprob.toFixed(3)}; ${NORM_HELP[norm]}` : undefined}
                >
                  <span className="action-pct">{p === null ? '–' : formatPercent(p)}</span>
                  <span className="prob-bar" aria-hidden="true">
                    <span
                      className="prob-fill"
                      style={{ width: `${p === null ? 0 : Math.max(0, Math.min(1, p)) * 100}%` }}
                    />
                  </span>
                </span>
                {i < 9 && <kbd aria-hidden="true">{i + 1}</kbd>}
              </button>
            </li>
          );
        })}
      </ol>
      <p className="keys-hint">keys 1–9 choose · space steps · g greedy · p auto-play · r resets</p>
      {error && <ErrorText testId="error">{error}</ErrorText>}
    </section>
  );
}

export function HistoryCard() {
  const history = useApp((s) => episodeHistory(s.playground));
  if (history.length === 0) return null;
  return (
    <section className="card" aria-label="History">
      <div className="card-head">
        <h2>History</h2>
        <span className="card-hint">{history.length} actions</span>
      </div>
      <ol className="history" data-testid="history">
        {[...history].reverse().map((h) => (
          <li key={h.step} title={h.prompt} data-by={h.by}>
            <span className="history-step">{h.step}</span>
            <span className="history-action">
              <span className="history-text">{h.actionText}</span>
              {h.by !== 'you' && (
                <span className={`history-tag history-tag--${h.by}`}>
                  {BY_TEXT[h.by]}
                  {h.prob !== undefined ? ` ${formatPercent(h.prob)}` : ''}
                </span>
              )}
              {h.effect === false && <span className="history-tag">no effect</span>}
            </span>
            <span className={`history-reward ${h.reward > 0 ? 'pos' : h.reward < 0 ? 'neg' : ''}`}>
              {formatReward(h.reward)}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
