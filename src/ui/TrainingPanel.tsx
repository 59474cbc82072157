/**
 * The Training panel: what to train (algorithm, task, preset, seed, steps; SayCan: episodes), its expected
 * time, Start / Pause / Resume / Stop / one update, progress (updates, env steps, steps/s, time left, tokens/s
 * and GPU memory for TWOSOME), the charts (with TWOSOME's probe of general abilities when the run has one), the
 * evaluation table and the stored runs. After a reload it offers to
 * resume an unfinished run and shows that run's curves until then.
 */
import { useEffect, useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { TASK_IDS, getTask } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { secondsLeft } from '../state/chart-data';
import { appStore, useApp } from '../state/store';
import { estimateKey, presetSteps, readyModel, runLabel, type EstimateState, type TrainPhase } from '../state/training';
import { ALGO_LABELS, TRAIN_ALGOS, TRAIN_PRESETS, type TrainAlgo, type TrainPreset } from '../worker/training-protocol';
import { EvalTable } from './EvalTable';
import { formatBytes } from '../util/format';
import { StoredRuns } from './StoredRuns';
import { ProbeChart } from './ProbeChart';
import { ProbeFields } from './ProbeFields';
import { TrainingCharts } from './TrainingCharts';

const TRAIN_TASKS = TASK_IDS.filter((id) => getTask(id).split === 'train');

const PHASE_TEXT: Record<TrainPhase, string> = {
  idle: 'no run',
  starting: 'starting…',
  running: 'training',
  pausing: 'pausing after this update…',
  paused: 'paused',
  stopping: 'stopping after this update…',
  stopped: 'stopped',
  done: 'complete',
  error: 'failed',
  stored: 'stored run',
};

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function TrainingPanel() {
  return (
    <section className="card training" aria-label="Training" data-testid="training-panel">
      <div className="card-head">
        <h2>Training</h2>
        <PhasePill />
      </div>
      <ResumeOffer />
      <TrainForm />
      <ExpectedTime />
      <TrainButtons />
      <TrainError />
      <Progress />
      <TrainingCharts />
      <ProbeChart />
      <EvalTable />
      <StoredRuns />
    </section>
  );
}

function PhasePill() {
  const phase = useApp((s) => s.training.phase);
  const pill =
    phase === 'running' || phase === 'starting'
      ? 'running'
      : phase === 'error'
        ? 'error'
        : phase === 'done'
          ? 'success'
          : 'ended';
  return (
    <span className={`status-pill status-pill--${pill}`} data-testid="train-phase" data-phase={phase}>
      {PHASE_TEXT[phase]}
    </span>
  );
}

function ResumeOffer() {
  const { offers, phase, resume, remove } = useApp(
    useShallow(({ training: s }) => ({
      offers: s.offers,
      phase: s.phase,
      resume: s.resume,
      remove: s.deleteRun,
    })),
  );
  if (offers.length === 0 || phase === 'running' || phase === 'starting') return null;
  const run = offers[offers.length - 1];
  return (
    <div className="notice notice--warning resume-offer" role="status" data-testid="resume-offer" data-run={run.id}>
      <span>
        An unfinished run was found: {runLabel(run)}, update {run.updates} of {run.numUpdates} (
        {run.globalStep.toLocaleString()} env steps)
        {run.status === 'error' && run.message ? `; it stopped because ${run.message}` : ''}. Resume it from its last
        saved update?
      </span>
      <button type="button" className="button button--small button--primary" onClick={() => void resume(run.id)}>
        Resume run
      </button>
      <button
        type="button"
        className="button button--small"
        title="Deletes this run from the browser's storage"
        onClick={() => void remove(run.id)}
      >
        Discard
      </button>
    </div>
  );
}

function TrainForm() {
  const { form, setForm, phase } = useApp(
    useShallow(({ training: s }) => ({
      form: s.form,
      setForm: s.setForm,
      phase: s.phase,
    })),
  );
  const busy = phase === 'running' || phase === 'starting' || phase === 'pausing' || phase === 'stopping';
  return (
    <div className="train-form">
      <label className="field field--compact">
        <span className="field-label">Algorithm</span>
        <select
          value={form.algo}
          disabled={busy}
          onChange={(e) => setForm({ algo: e.target.value as TrainAlgo })}
          data-testid="train-algo"
        >
          {TRAIN_ALGOS.map((a) => (
            <option key={a} value={a}>
              {ALGO_LABELS[a]}
            </option>
          ))}
        </select>
      </label>
      <label className="field field--compact">
        {/* Not "Task": the header's select owns that accessible name (tests find the header by label). */}
        <span className="field-label">Train on</span>
        <select
          value={form.taskId}
          disabled={busy}
          onChange={(e) => setForm({ taskId: e.target.value as TaskId })}
          data-testid="train-task"
        >
          {TRAIN_TASKS.map((id) => (
            <option key={id} value={id}>
              {getTask(id).title}
            </option>
          ))}
        </select>
      </label>
      <label className="field field--compact">
        <span className="field-label">Preset</span>
        <select
          value={form.preset}
          disabled={busy || form.algo === 'saycan'}
          onChange={(e) => setForm({ preset: e.target.value as TrainPreset })}
          data-testid="train-preset"
        >
          {TRAIN_PRESETS.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <label
        className="field field--compact"
        title="The run's seed: LoRA and critic init, action sampling, minibatch shuffles, env resets"
      >
        <span className="field-label">Run seed</span>
        <input
          type="number"
          min={0}
          step={1}
          value={form.seed}
          disabled={busy}
          onChange={(e) => setForm({ seed: Math.max(0, Math.trunc(Number(e.target.value) || 0)) })}
          data-testid="train-seed"
        />
      </label>
      {form.algo === 'saycan' ? (
        <label
          className="field field--compact"
          title="SayCan trains nothing: it plays this many episodes with the base model"
        >
          <span className="field-label">Episodes</span>
          <input
            type="number"
            min={1}
            max={1000}
            step={1}
            value={form.episodes}
            disabled={busy}
            onChange={(e) => {
              const episodes = Math.trunc(Number(e.target.value) || 1);
              setForm({ episodes: Math.min(1000, Math.max(1, episodes)) });
            }}
            data-testid="train-episodes"
          />
        </label>
      ) : (
        <label className="field field--compact" title="Total env steps of the run; empty: the preset's">
          <span className="field-label">Env steps</span>
          <input
            type="number"
            min={1}
            step={1}
            placeholder={String(presetSteps(form) ?? '')}
            value={form.steps ?? ''}
            disabled={busy}
            onChange={(e) => {
              const steps = e.target.value === '' ? null : Math.max(1, Math.trunc(Number(e.target.value) || 1));
              setForm({ steps });
            }}
            data-testid="train-steps"
          />
        </label>
      )}
      {form.algo === 'twosome' && <ProbeFields busy={busy} />}
    </div>
  );
}

/**
 * The form's expected time, before Start: asked of the worker whenever the form, the model or the stored runs
 * change while nothing trains (it measures on the loaded model, or reads the rate of a stored run like it).
 */
function ExpectedTime() {
  const { form, phase, storage, estimate, modelId } = useApp(
    useShallow((s) => ({
      form: s.training.form,
      phase: s.training.phase,
      storage: s.training.storage,
      estimate: s.training.estimate,
      modelId: readyModel(s.playground),
    })),
  );
  const training = phase === 'running' || phase === 'starting' || phase === 'pausing' || phase === 'stopping';
  const key = estimateKey(form, modelId, storage);
  // Measured once the Training card has been in view (not on every page load: it takes GPU time from the
  // playground's scoring).
  const [seen, setSeen] = useState(false);
  const ref = useRef<HTMLParagraphElement | null>(null);
  useEffect(() => {
    const element = ref.current?.closest('.training');
    if (seen || !element || typeof IntersectionObserver === 'undefined') return;
    // A tenth of the card in view: its top edge alone can show below the first screen.
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.intersectionRatio >= 0.1)) setSeen(true);
      },
      { threshold: 0.1 },
    );
    observer.observe(element);
    return () => observer.disconnect();
  });
  useEffect(() => {
    if (!seen || training || form.algo === 'saycan') return;
    // After typing settles: every new form is measured on the GPU (a few calls).
    const timer = setTimeout(() => void appStore.getState().training.estimateTime(), 400);
    return () => clearTimeout(timer);
  }, [seen, key, training, form.algo]);
  if (training || form.algo === 'saycan') return null;
  const waiting = form.algo === 'twosome' && modelId === null;
  const text = waiting
    ? 'Expected time: measured once the model has loaded'
    : estimateText(estimate?.key === key ? estimate : null);
  return (
    <p className="card-note" ref={ref} data-testid="train-estimate">
      {text}
    </p>
  );
}

/** The expected time in words: the total, its updates, and where the rate comes from. */
export function estimateText(estimate: EstimateState | null): string {
  if (!estimate || estimate.status === 'measuring' || !estimate.reply) return 'Expected time: measuring on this GPU…';
  const reply = estimate.reply;
  if (reply.status !== 'ok') return `Expected time: unknown (${reply.reason})`;
  const total = formatDuration(reply.secondsPerUpdate * reply.numUpdates);
  const seconds = reply.secondsPerUpdate;
  const per = seconds < 10 ? `${seconds.toFixed(seconds < 1 ? 2 : 1)} s` : formatDuration(seconds);
  const source =
    reply.source.kind === 'run'
      ? `at the rate of your run of ${new Date(reply.source.startedAt).toLocaleString()}`
      : reply.source.parts
        ? `measured just now: ${reply.source.parts}; an upper estimate`
        : 'measured just now on one update';
  return `Expected time: about ${total} (${reply.numUpdates} updates of ${per}, ${source})`;
}

function TrainButtons() {
  const { phase, run } = useApp(
    useShallow(({ training: s }) => ({
      phase: s.phase,
      run: s.run,
    })),
  );
  const { start, pause, resume, stop, step } = appStore.getState().training;
  const canContinue = run !== null && run.algo !== 'saycan' && run.updates < run.numUpdates;
  const idle =
    phase === 'idle' ||
    phase === 'done' ||
    phase === 'stopped' ||
    phase === 'error' ||
    phase === 'paused' ||
    phase === 'stored';
  return (
    <div className="toolbar train-buttons">
      {phase === 'running' || phase === 'pausing' ? (
        <button type="button" className="button" disabled={phase === 'pausing'} onClick={() => void pause()}>
          Pause training
        </button>
      ) : (
        <button type="button" className="button button--primary" disabled={!idle} onClick={() => void start()}>
          Start training
        </button>
      )}
      {(phase === 'paused' || phase === 'stopped' || phase === 'error') && canContinue && (
        <button type="button" className="button" onClick={() => void resume()}>
          Resume training
        </button>
      )}
      {(phase === 'paused' || phase === 'stopped') && canContinue && (
        <button
          type="button"
          className="button"
          onClick={() => void step()}
          title="One rollout and one PPO update, then paused again"
        >
          One update
        </button>
      )}
      {(phase === 'running' || phase === 'paused') && (
        <button
          type="button"
          className="button"
          onClick={() => void stop()}
          title="Ends the run after the update in progress; it stays stored"
        >
          Stop
        </button>
      )}
    </div>
  );
}

function TrainError() {
  const { error, dismiss } = useApp(
    useShallow(({ training: s }) => ({
      error: s.error,
      dismiss: s.dismissError,
    })),
  );
  if (!error) return null;
  return (
    <p className="error-text" role="alert" data-testid="train-error">
      {error}{' '}
      <button type="button" className="button button--small" onClick={dismiss}>
        Dismiss
      </button>
    </p>
  );
}

function Progress() {
  const { run, metrics } = useApp(
    useShallow(({ training: s }) => ({
      run: s.run,
      metrics: s.metrics,
    })),
  );
  const last = metrics[metrics.length - 1];
  const left = run ? secondsLeft(metrics, run.numUpdates) : null;
  return (
    <div className="train-progress">
      <progress max={Math.max(1, run?.numUpdates ?? 1)} value={run?.updates ?? 0} data-testid="train-progress" />
      <dl className="stat-grid train-stats">
        <div>
          <dt>Updates</dt>
          <dd data-testid="train-updates">{run ? `${run.updates} / ${run.numUpdates}` : '–'}</dd>
        </div>
        <div>
          <dt>Env steps</dt>
          <dd data-testid="env-steps">{run?.globalStep ?? 0}</dd>
        </div>
        <div>
          <dt>Steps/s</dt>
          <dd data-testid="steps-per-second">{last ? last.timing.sps.toFixed(1) : '–'}</dd>
        </div>
        <div>
          <dt>Time left</dt>
          <dd data-testid="time-left">{run && run.algo !== 'saycan' ? formatDuration(left) : '–'}</dd>
        </div>
        <div>
          <dt>Return</dt>
          <dd>{last?.episodicReturn != null ? last.episodicReturn.toFixed(3) : '–'}</dd>
        </div>
        <div>
          <dt>Success</dt>
          <dd>{last?.successRate != null ? `${Math.round(100 * last.successRate)}%` : '–'}</dd>
        </div>
        {last?.tokensPerSecond !== undefined && (
          <div>
            <dt>Tokens/s</dt>
            <dd>{last.tokensPerSecond.toFixed(0)}</dd>
          </div>
        )}
        {last?.gpuMemoryBytes != null && (
          <div>
            <dt>GPU memory</dt>
            <dd title="planned peak of a policy pass">{formatBytes(last.gpuMemoryBytes)}</dd>
          </div>
        )}
      </dl>
    </div>
  );
}
