/**
 * The training slice, the Training card's state: the form (algorithm, task, preset, seed, steps), the run in the
 * worker as its progress events report it, the runs overlaid on the charts, the stored runs (with the resume
 * offer after a reload), the evaluation table and the critic's value of the playground's state. The worker owns
 * the training state (TrainingApi); this slice only mirrors what it reports.
 */
import type { TaskId } from '../envs/types';
import type { Calls, TrainingApi } from '../worker/api';
import {
  ALGO_LABELS,
  isResumable,
  type EvalRow,
  type RunMeta,
  type StorageView,
  type TrainAlgo,
  type TrainEvent,
  type TrainMetrics,
  type TrainPreset,
  type TrainReply,
} from '../worker/training-protocol';
import type { ChartRun } from './chart-data';
import type { SliceApi } from './store';
import { describeError } from '../util/errors';

export interface TrainForm {
  algo: TrainAlgo;
  taskId: TaskId;
  preset: TrainPreset;
  seed: number;
  /** Total env steps; null: the preset's. */
  steps: number | null;
}

/** What the buttons act on: a request in flight is shown as its verb. */
export type TrainPhase = 'idle' | 'starting' | 'running' | 'pausing' | 'paused' | 'stopping' | 'stopped' | 'done' | 'error';

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
}

export interface TrainingActions {
  /** Connects the slice to the worker's training part (undefined: none, training is not available). */
  attach(client: Calls<TrainingApi> | undefined): void;
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
  dismissError(): void;
}

export type TrainingSlice = TrainingState & TrainingActions;

export function runLabel(meta: Pick<RunMeta, 'algo' | 'taskId' | 'seed'>): string {
  return `${ALGO_LABELS[meta.algo]} · ${meta.taskId} · seed ${meta.seed}`;
}

const NO_EVAL: EvalState = { status: 'idle', rows: [], skipped: [], message: null, runId: null };

const initial: TrainingState = {
  form: { algo: 'twosome', taskId: 'tomato-salad', preset: 'quick', seed: 1, steps: null },
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
};

/**
 * Progress reports are applied at most this often: a fast CPU trainer (PPO-MLP) reports dozens of updates a
 * second, and redrawing the panel and charts for each would keep the main thread busy.
 */
export const FLUSH_MS = 250;

export function createTrainingSlice({ get, set, app }: SliceApi<'training'>): TrainingSlice {
  let client: Calls<TrainingApi> | null = null;
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
      set({ error: event.message, ...(event.run && run?.id === event.run.id ? { run: event.run, phase: 'error' as const } : {}) });
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
    return [...overlays, { id: run.id, algo: run.algo, label: runLabel(run), metrics }];
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

  const need = (): Calls<TrainingApi> => {
    if (!client) throw new Error('training is not available: the worker did not start');
    return client;
  };

  return {
    ...initial,

    attach(next) {
      client = next ?? null;
      if (client) void get().refreshStorage().then(() => set({ offers: (get().storage?.runs ?? []).filter((r) => isResumable(r) && (r.status === 'running' || r.status === 'paused')) }));
    },

    setForm(patch) {
      set({ form: { ...get().form, ...patch } });
    },

    async start() {
      const { form, phase } = get();
      if (phase === 'starting' || phase === 'running') return;
      set({ overlays: retire(), phase: 'starting', error: null, run: null, metrics: [], critic: null, evaluation: NO_EVAL });
      try {
        const reply = await need().start({ algo: form.algo, taskId: form.taskId, preset: form.preset, seed: form.seed, ...(form.steps ? { steps: form.steps } : {}) }, onEvent);
        if (reply.status === 'ok' && reply.run.algo === 'saycan') {
          // SayCan is finished when start resolves: it goes straight onto the charts as a reference line.
          set({ overlays: [...get().overlays, { id: reply.run.id, algo: 'saycan', label: runLabel(reply.run), metrics: reply.metrics }] });
        }
        apply(reply, 'idle');
      } catch (error) {
        set({ error: describeError(error), phase: 'idle' });
      }
      void get().refreshStorage();
    },

    async pause() {
      if (get().phase !== 'running') return;
      set({ phase: 'pausing' });
      try {
        apply(await need().pause(), 'paused');
      } catch (error) {
        set({ error: describeError(error), phase: 'error' });
      }
    },

    async resume(runId) {
      const current = get().run;
      const fromStore = runId !== undefined && runId !== current?.id;
      if (fromStore) set({ overlays: retire().filter((o) => o.id !== runId), run: null, metrics: [], critic: null, evaluation: NO_EVAL });
      set({ phase: 'starting', error: null, offers: get().offers.filter((o) => o.id !== runId) });
      try {
        // The reply carries every stored update's metrics: the charts continue where the run stopped.
        apply(await need().resume(runId ?? current?.id ?? null, onEvent), fromStore ? 'idle' : 'paused');
      } catch (error) {
        set({ error: describeError(error), phase: 'idle' });
      }
    },

    async stop() {
      const phase = get().phase;
      if (phase !== 'running' && phase !== 'paused') return;
      set({ phase: 'stopping' });
      try {
        apply(await need().stop(), 'stopped');
      } catch (error) {
        set({ error: describeError(error), phase: 'error' });
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
        set({ error: describeError(error), phase: 'error' });
      }
    },

    async deleteRun(runId) {
      try {
        const reply = await need().deleteRun(runId);
        if (reply.status === 'error') set({ error: reply.message });
        else {
          set({ offers: get().offers.filter((o) => o.id !== runId), overlays: get().overlays.filter((o) => o.id !== runId) });
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
        const reply = await need().runMetrics(runId);
        if (reply.status === 'error') set({ error: reply.message });
        else set({ overlays: [...get().overlays, { id: runId, algo: reply.run.algo, label: runLabel(reply.run), metrics: reply.metrics }] });
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
  };
}
