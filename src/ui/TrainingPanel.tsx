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
import { ErrorText, Field, PhasePill, SelectField, Stat, NumberField, wholeNumber } from './parts';
import { TrainingCharts } from './TrainingCharts';
import { useSlice } from './useSlice';

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
        <TrainPhase />
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

function TrainPhase() {
  const phase = useApp((s) => s.training.phase);
  return (
    <PhasePill phase={phase} running={phase === 'running' || phase === 'starting'} testId="train-phase">
      {PHASE_TEXT[phase]}
    </PhasePill>
  );
}

function ResumeOffer() {
  const { offers, phase, resume, deleteRun: remove } = useSlice('training', 'offers', 'phase', 'resume', 'deleteRun');
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
  const { form, setForm, phase } = useSlice('training', 'form', 'setForm', 'phase');
  const busy = phase === 'running' || phase === 'starting' || phase === 'pausing' || phase === 'stopping';
  return (
    <div className="train-form">
      <SelectField<TrainAlgo>
        label="Algorithm"
        value={form.algo}
        options={TRAIN_ALGOS}
        text={(a) => ALGO_LABELS[a]}
        disabled={busy}
        onChange={(algo) => setForm({ algo })}
        testId="train-algo"
      />
      {/* Not "Task": the header's select owns that accessible name (tests find the header by label). */}
      <SelectField<TaskId>
        label="Train on"
        value={form.taskId}
        options={TRAIN_TASKS}
        text={(id) => getTask(id).title}
        disabled={busy}
        onChange={(taskId) => setForm({ taskId })}
        testId="train-task"
      />
      <SelectField<TrainPreset>
        label="Preset"
        value={form.preset}
        options={TRAIN_PRESETS}
        disabled={busy || form.algo === 'saycan'}
        onChange={(preset) => setForm({ preset })}
        testId="train-preset"
      />
      <NumberField
        label="Run seed"
        title="The run's seed: LoRA and critic init, action sampling, minibatch shuffles, env resets"
        min={0}
        step={1}
        value={form.seed}
        disabled={busy}
        onChange={(seed) => setForm({ seed })}
        testId="train-seed"
      />
      {form.algo === 'saycan' ? (
        <NumberField
          label="Episodes"
          title="SayCan trains nothing: it plays this many episodes with the base model"
          min={1}
          max={1000}
          step={1}
          value={form.episodes}
          disabled={busy}
          onChange={(episodes) => setForm({ episodes })}
          testId="train-episodes"
        />
      ) : (
        <Field label="Env steps" title="Total env steps of the run; empty: the preset's">
          <input
            type="number"
            min={1}
            step={1}
            placeholder={String(presetSteps(form) ?? '')}
            value={form.steps ?? ''}
            disabled={busy}
            onChange={(e) => setForm({ steps: e.target.value === '' ? null : wholeNumber(e.target.value, 1) })}
            data-testid="train-steps"
          />
        </Field>
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
  const { phase, run } = useSlice('training', 'phase', 'run');
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
  const { error, dismissError: dismiss } = useSlice('training', 'error', 'dismissError');
  if (!error) return null;
  return (
    <ErrorText testId="train-error">
      {error}{' '}
      <button type="button" className="button button--small" onClick={dismiss}>
        Dismiss
      </button>
    </ErrorText>
  );
}

function Progress() {
  const { run, metrics } = useSlice('training', 'run', 'metrics');
  const last = metrics[metrics.length - 1];
  const left = run ? secondsLeft(metrics, run.numUpdates) : null;
  return (
    <div className="train-progress">
      <progress max={Math.max(1, run?.numUpdates ?? 1)} value={run?.updates ?? 0} data-testid="train-progress" />
      <dl className="stat-grid train-stats">
        <Stat label="Updates" testId="train-updates">
          {run ? `${run.updates} / ${run.numUpdates}` : '–'}
        </Stat>
        <Stat label="Env steps" testId="env-steps">
          {run?.globalStep ?? 0}
        </Stat>
        <Stat label="Steps/s" testId="steps-per-second">
          {last ? last.timing.sps.toFixed(1) : '–'}
        </Stat>
        <Stat label="Time left" testId="time-left">
          {run && run.algo !== 'saycan' ? formatDuration(left) : '–'}
        </Stat>
        <Stat label="Return">{last?.episodicReturn != null ? last.episodicReturn.toFixed(3) : '–'}</Stat>
        <Stat label="Success">{last?.successRate != null ? `${Math.round(100 * last.successRate)}%` : '–'}</Stat>
        {last?.tokensPerSecond !== undefined && <Stat label="Tokens/s">{last.tokensPerSecond.toFixed(0)}</Stat>}
        {last?.gpuMemoryBytes != null && (
          <Stat label="GPU memory" title="planned peak of a policy pass">
            {formatBytes(last.gpuMemoryBytes)}
          </Stat>
        )}
      </dl>
    </div>
  );
}
