/**
 * The training slice, the Training card's state: the form (algorithm, task, preset, seed, steps), the run in the
 * worker as its progress events report it, the runs overlaid on the charts, the stored runs (with the resume
 * offer after a reload), the evaluation table and the critic's value of the playground's state. The worker owns
 * the training state (TrainingApi); this slice only mirrors what it reports.
 */
import type { TaskId } from '../envs/types';
import type { Calls, TrainingApi } from '../worker/api';
import type { CapabilityData } from '../worker/capability-protocol';
import {
  ALGO_LABELS,
  ALGO_NEEDS_MODEL,
  isResumable,
  type EvalRow,
  type RunMeta,
  type StorageView,
  type TrainAlgo,
  type TrainEvent,
  type TrainMetrics,
  type TrainPreset,
  type TrainReply,
  type TrainRequest,
  type EstimateReply,
} from '../worker/training-protocol';
import { getTask } from '../envs/registry';
import { presetConfig } from '../rl/config';
import type { ChartRun } from './chart-data';
import { modelProblem } from './models';
import type { PlaygroundSlice } from './playground';
import type { SliceApi } from './store';
import { describeError } from '../util/errors';
import { WorkerFailedError } from '../worker/link';

export interface TrainForm {
  algo: TrainAlgo;
  /** The task to train on: follows the header's task (its training task for an unseen variant) until changed here. */
  taskId: TaskId;
  preset: TrainPreset;
  seed: number;
  /** Total env steps; null: the preset's. */
  steps: number | null;
  /** SayCan's evaluation episodes. */
  episodes: number;
  /** TWOSOME's probe (issue 15): a fixed sample of a benchmark scored every `every` updates. */
  probe: ProbeForm;
}

export interface ProbeForm {
  on: boolean;
  /** A benchmark the Capability check card offers; its data comes from where that card reads it. */
  bench: string;
  size: number;
  every: number;
}

/** The probe's sample is chosen by this seed, whatever the run's: runs of any seed probe the same questions. */
export const PROBE_SEED = 0;

/**
 * What the buttons act on: a request in flight is shown as its verb. 'stored': the run shown is a stored one
 * (found on load, offered to resume), not in memory: its curves are drawn, Resume loads and continues it.
 */
export type TrainPhase =
  'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'stopped' | 'done' | 'error' | 'stored';

/** The expected time of the form's run (EstimateReply), for the form it was asked for (`key`). */
export interface EstimateState {
  key: string;
  status: 'measuring' | 'done';
  reply: EstimateReply | null;
}

export interface EvalState {
  status: 'idle' | 'running' | 'done' | 'error';
  rows: EvalRow[];
  skipped: { taskId: TaskId; reason: string }[];
  message: string | null;
  runId: string | null;
}

export interface TrainingState {
  form: TrainForm;
  phase: TrainPhase;
  run: RunMeta | null;
  /** The run's metrics, one per update (restored ones first after a resume). */
  metrics: TrainMetrics[];
  /** Other runs drawn on the charts (finished runs of this tab, stored runs the user picked). */
  overlays: ChartRun[];
  /** Unfinished stored runs found on load: offered to resume. */
  offers: RunMeta[];
  storage: StorageView | null;
  storageError: string | null;
  error: string | null;
  evaluation: EvalState;
  critic: { stepId: number; value: number; runId: string } | null;
  estimate: EstimateState | null;
}

export interface TrainingActions {
  /**
   * Connects the slice to the worker's training part (undefined: none, training is not available).
   * `restartWorker` starts a fresh playground worker (and reopens the playground in it) after workerStopped.
   */
  attach(client: Calls<TrainingApi> | undefined, options?: { restartWorker?: () => Promise<void> }): void;
  /** The playground worker died (training with it): the run shows as failed; start or resume starts a new one. */
  workerStopped(message: string): void;
  setForm(patch: Partial<TrainForm>): void;
  start(): Promise<void>;
  pause(): Promise<void>;
  resume(runId?: string): Promise<void>;
  stop(): Promise<void>;
  step(): Promise<void>;
  /** Deletes a stored run (the user's Delete or Discard). */
  deleteRun(runId: string): Promise<void>;
  refreshStorage(): Promise<void>;
  /** Draws a stored run on the charts, or removes it. */
  toggleOverlay(runId: string): Promise<void>;
  evaluate(tasks: TaskId[], episodes: number, greedy: boolean): Promise<void>;
  /** Asks the worker for the trained critic's value of the playground's state `stepId`. */
  fetchCriticValue(stepId: number): Promise<void>;
  /** Asks the worker for the form's expected time (once per form, model and stored runs; see estimateKey). */
  estimateTime(): Promise<void>;
  dismissError(): void;
}

export type TrainingSlice = TrainingState & TrainingActions;

export function runLabel(meta: Pick<RunMeta, 'algo' | 'taskId' | 'seed'>): string {
  return `${ALGO_LABELS[meta.algo]} · ${meta.taskId} · seed ${meta.seed}`;
}

/** A run on the charts. */
export function chartRun(run: RunMeta, metrics: readonly TrainMetrics[]): ChartRun {
  return { id: run.id, algo: run.algo, taskId: run.taskId, label: runLabel(run), metrics };
}

/** The worker's request for the form; with `probeData` (where the Capability check reads), its probe too. */
export function requestOf(form: TrainForm, probeData?: CapabilityData): TrainRequest {
  const { algo, taskId, preset, seed, steps, episodes, probe } = form;
  const probed =
    algo === 'twosome' && probe.on && probeData
      ? { probe: { bench: probe.bench, size: probe.size, every: probe.every, seed: PROBE_SEED, data: probeData } }
      : {};
  return {
    algo,
    taskId,
    preset,
    seed,
    ...(steps ? { steps } : {}),
    ...(algo === 'saycan' ? { episodes } : {}),
    ...probed,
  };
}

/** The run's total env steps when the form leaves them empty: its preset's (SayCan: none). */
export function presetSteps(form: Pick<TrainForm, 'algo' | 'taskId' | 'preset'>): number | null {
  if (form.algo === 'saycan') return null;
  return form.algo === 'twosome'
    ? presetConfig('twosome', form.taskId, form.preset).totalTimesteps
    : presetConfig('ppo-mlp', form.taskId, form.preset).totalTimesteps;
}

/** The playground's model id once it is loaded (TWOSOME measures on it), else null. */
export function readyModel(playground: Pick<PlaygroundSlice, 'model' | 'modelId'>): string | null {
  return playground.model.status === 'ready' ? playground.modelId : null;
}

/** What an estimate depends on: the form (not its seed), the model, and the stored runs (a rate is read from them). */
export function estimateKey(form: TrainForm, modelId: string | null, storage: StorageView | null): string {
  const runs = (storage?.runs ?? []).map((r) => `${r.id}:${r.updates}`).join(',');
  const model = form.algo === 'twosome' ? modelId : null;
  return JSON.stringify([form.algo, form.taskId, form.preset, form.steps, model, runs]);
}

const NO_EVAL: EvalState = { status: 'idle', rows: [], skipped: [], message: null, runId: null };

const initial: TrainingState = {
  form: {
    algo: 'twosome',
    taskId: 'tomato-salad',
    preset: 'quick',
    seed: 1,
    steps: null,
    episodes: 10,
    probe: { on: false, bench: 'arc-easy', size: 20, every: 1 },
  },
  phase: 'idle',
  run: null,
  metrics: [],
  overlays: [],
  offers: [],
  storage: null,
  storageError: null,
  error: null,
  evaluation: NO_EVAL,
  critic: null,
  estimate: null,
};

/** The training task of `taskId`: itself, or the task an unseen variant is evaluated against. */
export function trainingTaskOf(taskId: TaskId): TaskId {
  const task = getTask(taskId);
  return task.split === 'train' ? task.id : (task.variantOf ?? task.id);
}

/**
 * Progress reports are applied at most this often: a fast CPU trainer (PPO-MLP) reports dozens of updates a
 * second, and redrawing the panel and charts for each would keep the main thread busy.
 */
export const FLUSH_MS = 250;

export function createTrainingSlice({ get, set, app, subscribe }: SliceApi<'training'>): TrainingSlice {
  let client: Calls<TrainingApi> | null = null;
  let restartWorker: (() => Promise<void>) | null = null;
  /** The worker died: the next start or resume starts a fresh one first (the run continues from its store). */
  let workerDown = false;
  /** workerStopped showed the death (with what to do next): the requests it failed add nothing to it. */
  let deathShown = false;

  /** A fresh worker when the last one died (its run in memory is gone; stored runs stay). */
  const liveWorker = async () => {
    if (!workerDown || !restartWorker) return;
    await restartWorker();
    workerDown = false;
    deathShown = false;
  };

  // The form's task follows the header's (no run needs it then: a run keeps its own task in its meta).
  subscribe((state, before) => {
    const taskId = state.playground.taskId;
    if (taskId === before.playground.taskId) return;
    const next = trainingTaskOf(taskId);
    if (next !== get().form.taskId) set({ form: { ...get().form, taskId: next } });
  });
  let queued: TrainEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const events = queued;
    queued = [];
    if (events.length > 0) applyUpdates(events);
  };
  /** Update reports wait for the next flush; any other report flushes them first and applies at once. */
  const onEvent = (event: TrainEvent) => {
    if (event.type === 'update') {
      queued.push(event);
      timer ??= setTimeout(flush, FLUSH_MS);
      return;
    }
    flush();
    applyEvent(event);
  };

  /** Several update reports as one state change (one render). */
  const applyUpdates = (events: TrainEvent[]) => {
    let { run, metrics } = get();
    for (const event of events) {
      if (event.type !== 'update') continue;
      if (!run && get().phase === 'starting') run = event.run;
      if (!run || event.run.id !== run.id) continue;
      const last = metrics[metrics.length - 1];
      // Appended only in order: a duplicate (a resumed run's first report) is dropped.
      if (!last || event.metrics.update > last.update) metrics = [...metrics, event.metrics];
      run = event.run;
    }
    set({ run, metrics });
    // A TWOSOME update changed the playground's adapter: its probabilities are asked for again.
    if (run?.algo === 'twosome') void app().playground.refreshScores();
  };

  /** Reports of runs other than the one shown are ignored (a late event of a replaced run). */
  const applyEvent = (event: TrainEvent) => {
    const { run } = get();
    if (event.type === 'error') {
      set({
        error: event.message,
        ...(event.run && run?.id === event.run.id ? { run: event.run, phase: 'error' as const } : {}),
      });
      return;
    }
    // Reports may come before the start/resume reply: while starting, they name the run.
    if (!run && get().phase === 'starting') set({ run: event.run });
    else if (!run || event.run.id !== run.id) return;
    if (event.type === 'update') {
      applyUpdates([event]);
      return;
    }
    const phase = get().phase;
    // While a pause/stop request is in flight, 'running' reports of the update in progress do not undo it.
    if ((phase === 'pausing' || phase === 'stopping') && event.run.status === 'running') return;
    set({ run: event.run, phase: event.run.status });
  };

  /** Keeps the run being replaced on the charts (this tab's finished runs overlay the new one). */
  const retire = () => {
    const { run, metrics, overlays } = get();
    if (!run || metrics.length === 0 || overlays.some((o) => o.id === run.id)) return overlays;
    return [...overlays, chartRun(run, metrics)];
  };

  const apply = (reply: TrainReply, fallback: TrainPhase) => {
    flush();
    if (reply.status === 'error') {
      // A run named by an early report but refused in the end (e.g. SayCan failing) must not look alive.
      const status = get().run?.status;
      set({ error: reply.message, phase: status === undefined ? fallback : status === 'running' ? 'error' : status });
      return false;
    }
    // Updates reported while the reply was on its way are kept (they are newer than its list).
    const { run, metrics } = get();
    const same = run?.id === reply.run.id;
    const lastUpdate = reply.metrics.length ? reply.metrics[reply.metrics.length - 1].update : 0;
    const newer = same ? metrics.filter((m) => m.update > lastUpdate) : [];
    const meta = same && run && run.updates > reply.run.updates ? run : reply.run;
    set({ run: meta, metrics: [...reply.metrics, ...newer], phase: meta.status, error: null });
    // A resumed TWOSOME run put its adapter in the playground.
    if (meta.algo === 'twosome') void app().playground.refreshScores();
    return true;
  };

  /** A request that failed: its error, unless it failed because the worker died, which workerStopped said. */
  const failed = (error: unknown, phase: TrainPhase) => {
    if (error instanceof WorkerFailedError && deathShown) return;
    set({ error: describeError(error), phase });
  };

  /**
   * Why `algo` cannot start here, when it runs the language model and the page has none: no WebGPU (said as such,
   * not as "no model is loaded"), or the model failed to load or is not downloaded. null: it can start (a model
   * still loading is waited for by the worker).
   */
  const missingModel = async (algo: TrainAlgo): Promise<string | null> => {
    if (!ALGO_NEEDS_MODEL[algo]) return null;
    const name = ALGO_LABELS[algo];
    const gpu = await app().gpu.detect();
    if (gpu.status === 'missing') {
      return (
        `${name} runs the language model, which needs WebGPU, and this browser offers none here: ${gpu.detail} ` +
        'The notice at the top of the page says how to turn it on; PPO-MLP trains without WebGPU.'
      );
    }
    const model = app().playground.model;
    if (model.status === 'unavailable' || model.status === 'error') {
      const why = model.status === 'unavailable' ? model.reason : model.message;
      return `${name} runs the playground's model, which is not loaded: ${modelProblem(model.id, why)}`;
    }
    return null;
  };

  /**
   * After a reload: unfinished stored runs are offered to resume, and the latest is shown at once as it was
   * stored (its curves, updates and steps; phase 'stored') while nothing else is.
   */
  const showOffer = async () => {
    // Runs that were training, paused or failed when the page went away (a stopped run was ended by choice).
    const unfinished = (r: RunMeta) => isResumable(r) && r.status !== 'stopped';
    const offers = (get().storage?.runs ?? []).filter(unfinished);
    set({ offers });
    const latest = offers[offers.length - 1];
    if (!client || !latest || get().run !== null || get().phase !== 'idle') return;
    try {
      const reply = await client.runMetrics(latest.id);
      if (reply.status === 'ok' && get().run === null && get().phase === 'idle') {
        set({ run: reply.run, metrics: reply.metrics, phase: 'stored' });
      }
    } catch {
      // The offer is still there; only its curves are missing.
    }
  };

  const need = (): Calls<TrainingApi> => {
    if (!client) throw new Error('training is not available: the worker did not start');
    return client;
  };

  return {
    ...initial,

    attach(next, options = {}) {
      client = next ?? null;
      restartWorker = options.restartWorker ?? null;
      workerDown = false;
      deathShown = false;
      if (client) void get().refreshStorage().then(showOffer);
    },

    workerStopped(message) {
      flush();
      workerDown = true;
      const { run, phase } = get();
      // A run at rest (paused, stopped, done, failed) stays as it is shown: the store holds it as it was.
      if (phase !== 'starting' && phase !== 'running' && phase !== 'pausing' && phase !== 'stopping') return;
      // The worker's own reason may say to reload the page, which also works (the run is offered after it).
      const again = run
        ? 'Or resume training: it starts a new worker and continues from the last saved update.'
        : 'Or start training again: it starts a new worker.';
      set({ phase: run ? 'error' : 'idle', error: `Training stopped: ${message}.${restartWorker ? ` ${again}` : ''}` });
      deathShown = true;
    },

    setForm(patch) {
      set({ form: { ...get().form, ...patch } });
    },

    async start() {
      const { form, phase } = get();
      if (phase === 'starting' || phase === 'running') return;
      const missing = await missingModel(form.algo);
      if (missing) return set({ error: missing });
      set({
        overlays: retire(),
        phase: 'starting',
        error: null,
        run: null,
        metrics: [],
        critic: null,
        evaluation: NO_EVAL,
      });
      try {
        await liveWorker();
        const reply = await need().start(requestOf(form, app().capability.data()), onEvent);
        if (reply.status === 'ok' && reply.run.algo === 'saycan') {
          // SayCan is finished when start resolves: it goes straight onto the charts as a reference line.
          set({ overlays: [...get().overlays, chartRun(reply.run, reply.metrics)] });
        }
        apply(reply, 'idle');
      } catch (error) {
        failed(error, 'idle');
      }
      void get().refreshStorage();
    },

    async pause() {
      if (get().phase !== 'running') return;
      set({ phase: 'pausing' });
      try {
        apply(await need().pause(), 'paused');
      } catch (error) {
        failed(error, 'error');
      }
    },

    async resume(runId) {
      const current = get().run;
      const fromStore = runId !== undefined && runId !== current?.id;
      const wasStored = get().phase === 'stored';
      if (fromStore)
        set({
          overlays: retire().filter((o) => o.id !== runId),
          run: null,
          metrics: [],
          critic: null,
          evaluation: NO_EVAL,
        });
      const id = runId ?? current?.id ?? null;
      set({ phase: 'starting', error: null, offers: get().offers.filter((o) => o.id !== id) });
      try {
        await liveWorker();
        // The reply carries every stored update's metrics: the charts continue where the run stopped.
        // Files picked for the Capability check serve a resumed run whose probe reads picked files.
        const data = app().capability.data();
        const probeData = data.kind === 'files' && data.files.length > 0 ? data : undefined;
        const ok = apply(await need().resume(id, onEvent, probeData), fromStore ? 'idle' : 'paused');
        // A stored run that did not load is still only stored (shown, not in memory).
        if (!ok && wasStored && !fromStore) set({ phase: 'stored' });
      } catch (error) {
        failed(error, wasStored && !fromStore ? 'stored' : 'idle');
      }
    },

    async stop() {
      const phase = get().phase;
      if (phase !== 'running' && phase !== 'paused') return;
      set({ phase: 'stopping' });
      try {
        apply(await need().stop(), 'stopped');
      } catch (error) {
        failed(error, 'error');
      }
      void get().refreshStorage();
    },

    async step() {
      const phase = get().phase;
      if (phase !== 'paused' && phase !== 'stopped') return;
      set({ phase: 'running' });
      try {
        const reply = await need().singleUpdate();
        apply(reply, 'paused');
      } catch (error) {
        failed(error, 'error');
      }
    },

    async deleteRun(runId) {
      try {
        await liveWorker();
        const reply = await need().deleteRun(runId);
        if (reply.status === 'error') set({ error: reply.message });
        else {
          set({
            offers: get().offers.filter((o) => o.id !== runId),
            overlays: get().overlays.filter((o) => o.id !== runId),
          });
          if (get().run?.id === runId) set({ run: null, metrics: [], phase: 'idle' });
        }
      } catch (error) {
        set({ error: describeError(error) });
      }
      await get().refreshStorage();
    },

    async refreshStorage() {
      if (!client) return;
      try {
        const reply = await client.storage();
        if (reply.status === 'ok') set({ storage: reply.storage, storageError: null });
        else set({ storage: null, storageError: reply.reason });
      } catch (error) {
        set({ storageError: describeError(error) });
      }
    },

    async toggleOverlay(runId) {
      const { overlays } = get();
      if (overlays.some((o) => o.id === runId)) {
        set({ overlays: overlays.filter((o) => o.id !== runId) });
        return;
      }
      try {
        await liveWorker();
        const reply = await need().runMetrics(runId);
        if (reply.status === 'error') set({ error: reply.message });
        else set({ overlays: [...get().overlays, chartRun(reply.run, reply.metrics)] });
      } catch (error) {
        set({ error: describeError(error) });
      }
    },

    async evaluate(tasks, episodes, greedy) {
      set({ evaluation: { ...NO_EVAL, status: 'running' } });
      try {
        const reply = await need().evaluate(tasks, episodes, greedy);
        set({
          evaluation:
            reply.status === 'ok'
              ? { status: 'done', rows: reply.rows, skipped: reply.skipped, message: null, runId: reply.runId }
              : { ...NO_EVAL, status: 'error', message: reply.message },
        });
      } catch (error) {
        set({ evaluation: { ...NO_EVAL, status: 'error', message: describeError(error) } });
      }
    },

    async fetchCriticValue(stepId) {
      if (!client) return;
      try {
        const reply = await client.criticValue(stepId);
        set({ critic: reply.status === 'ok' ? { stepId, value: reply.value, runId: reply.runId } : null });
      } catch {
        // The value is an extra: without it the panel shows nothing (the worker's failure shows elsewhere).
        set({ critic: null });
      }
    },

    dismissError() {
      set({ error: null });
    },

    async estimateTime() {
      const modelId = readyModel(app().playground);
      const key = estimateKey(get().form, modelId, get().storage);
      const known = get().estimate;
      // TWOSOME is measured on the loaded model: asked again once it is (the key names it).
      if (!client || (known && known.key === key) || (get().form.algo === 'twosome' && modelId === null)) return;
      set({ estimate: { key, status: 'measuring', reply: null } });
      let reply: EstimateReply;
      try {
        reply = await client.estimate(requestOf(get().form));
      } catch (error) {
        reply = { status: 'unavailable', reason: describeError(error) };
      }
      if (get().estimate?.key === key) set({ estimate: { key, status: 'done', reply } });
    },
  };
}
