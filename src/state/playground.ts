/**
 * The playground slice: the setup (task, seed, model, normalization), the episode's timeline (every state
 * reached, with its prompt, scene and the model's scores; timeline.ts) and the agent controls (auto-play). The
 * slice never owns environment or model state; it asks the worker (AgentApi, through a Calls<AgentApi>) and
 * shows what comes back. Nothing here waits on the GPU before showing a state: scores arrive later and fill in.
 */
import type { TaskId } from '../envs/types';
import type { AgentApi, Calls } from '../worker/api';
import type { ModelStatus, Normalization, PolicyMode, ResetReply, StepReply } from '../worker/protocol';
import { DEFAULT_MODEL, findModel, modelSpec, type ModelChoice } from './models';
import type { SliceApi } from './store';
import { entryFrom, latestEntry, type ChosenBy, type ScoresState, type TimelineEntry } from './timeline';
import { DEFAULT_NORM, DEFAULT_SEED, DEFAULT_TASK, writeSetupToUrl, type Setup } from './url';
import { describeError } from '../util/errors';
import { defaultIdleTimeoutMs } from '../util/http-body';

export type Phase = 'idle' | 'loading' | 'ready' | 'error';

export const SPEEDS = [0.5, 1, 2, 4, 8] as const;
export const DEFAULT_SPEED = 2;

/**
 * Whether a model read from the browser cache is there (all its files); when not, why (and the caller may
 * offer the download: the playground never downloads by itself). By default the models slice's checkCached.
 */
export type CacheCheck = (choice: ModelChoice) => Promise<{ ok: true } | { ok: false; reason: string }>;

/** Whether this page can run a model at all (the worker has WebGPU exactly when the page has it). */
export type GpuCheck = () => Promise<{ ok: true } | { ok: false; reason: string }>;

export interface PlaygroundState {
  taskId: TaskId;
  seed: number;
  modelId: string;
  norm: Normalization;
  /** Messages about the setup (e.g. an unknown task in the URL); shown until dismissed. */
  notices: string[];
  phase: Phase;
  /** A call to the worker is in flight (actions are ignored meanwhile). */
  busy: boolean;
  error: string | null;
  /**
   * Every state of this episode, oldest first; the last one is the latest (the one stepping continues from).
   * The latest state, the counters and the history are read off it (timeline.ts).
   */
  timeline: TimelineEntry[];
  /** The state shown: an index into timeline, or null to follow the latest. Past states are read-only. */
  viewIndex: number | null;
  model: ModelStatus;
  /** Auto-play is on: the agent steps by itself (it pauses at an episode's end and resumes on reset). */
  autoPlay: boolean;
  /** Auto-play speed in steps per second. */
  speed: number;
}

export interface PlaygroundActions {
  /** Connects the slice to the worker's agent; call once before anything else. */
  attach(client: Calls<AgentApi>, options?: { gpuCheck?: GpuCheck; cacheCheck?: CacheCheck }): void;
  /** Sets the whole setup (e.g. from the URL), starts an episode and loads the model; writes nothing to the URL. */
  open(setup: Setup, notices?: string[]): Promise<void>;
  /** The user picked a task: update the URL (new history entry) and start an episode. */
  selectTask(taskId: TaskId): Promise<void>;
  /** The user changed the seed: update the URL and start an episode. */
  selectSeed(seed: number): Promise<void>;
  /**
   * The user picked a model: update the URL and load it (the episode goes on; its states are re-scored).
   * Picking the current model again retries a load that failed or waited for a download.
   */
  selectModel(modelId: string): Promise<void>;
  /** The user picked a normalization: shown at once (the worker returns all three) and kept in the URL. */
  selectNorm(norm: Normalization): void;
  /** Starts a new episode of the current task and seed. */
  reset(): Promise<void>;
  /** Takes the offered action at `index`; ignored while busy, after done, or for an index not offered. */
  takeAction(index: number): Promise<void>;
  /** Lets the model choose (sample from its policy, or argmax) and takes that action. */
  policyStep(mode: PolicyMode, options?: { auto?: boolean }): Promise<void>;
  setAutoPlay(on: boolean): void;
  setSpeed(stepsPerSecond: number): void;
  /** Shows a past state (read-only), or the latest with null. */
  viewStep(index: number | null): void;
  dismissNotice(index: number): void;
  /** Asks again for the latest state's scores (e.g. the worker's LoRA adapter changed). */
  refreshScores(): Promise<void>;
}

export type PlaygroundSlice = PlaygroundState & PlaygroundActions;

function pageBase(): string {
  return typeof document !== 'undefined' ? document.baseURI : 'http://localhost/';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createPlaygroundSlice({ get, set, app, subscribe }: SliceApi<'playground'>): PlaygroundSlice {
  let client: Calls<AgentApi> | null = null;
  /** Incremented by every reset; replies to calls made before the latest reset are dropped. */
  let epoch = 0;
  /** Incremented by every model request; status reports of an older request are dropped. */
  let modelRequest = 0;
  let autoPlayRunning = false;

  const pageGpuCheck: GpuCheck = async () => {
    const gpu = await app().gpu.detect();
    return gpu.status === 'missing' ? { ok: false, reason: gpu.detail } : { ok: true };
  };
  let gpuCheck: GpuCheck = pageGpuCheck;
  const modelsCacheCheck: CacheCheck = (choice) => app().models.checkCached(choice);
  let cacheCheck: CacheCheck = modelsCacheCheck;

  function setup(): Setup {
    const { taskId, seed, modelId, norm } = get();
    return { taskId, seed, modelId, norm };
  }

  function updateEntry(stepId: number, update: (entry: TimelineEntry) => TimelineEntry): void {
    const timeline = get().timeline;
    const i = timeline.findIndex((e) => e.stepId === stepId);
    if (i < 0) return;
    const next = timeline.slice();
    next[i] = update(timeline[i]);
    set({ timeline: next });
  }

  function isLatest(stepId: number): boolean {
    return latestEntry(get())?.stepId === stepId;
  }

  /** Asks the worker for the scores of state `stepId` and files them with that state. */
  async function fetchScores(stepId: number): Promise<void> {
    if (!client) return;
    const entry = get().timeline.find((e) => e.stepId === stepId);
    if (!entry || entry.done) return;
    if (entry.scores.status !== 'pending') updateEntry(stepId, (e) => ({ ...e, scores: { status: 'pending' } }));
    let scores: ScoresState;
    try {
      const reply = await client.scores(stepId);
      // A model is loading (e.g. the user switched models): the latest state is scored again once it is in.
      const loading = get().model.status === 'loading';
      if ((reply.status === 'unavailable' || reply.status === 'stale') && loading && isLatest(stepId)) return;
      if (reply.status === 'stale') {
        // The worker moved on (a later step or reset); keep what this state had, unless it was nothing.
        const notScored: ScoresState = { status: 'unavailable', reason: 'not scored' };
        updateEntry(stepId, (e) => (e.scores.status === 'pending' ? { ...e, scores: notScored } : e));
        return;
      }
      scores = reply;
    } catch (error) {
      scores = { status: 'error', message: describeError(error) };
    }
    updateEntry(stepId, (e) => ({ ...e, scores }));
  }

  /** Re-scores the latest state when it has no scores of the current model. */
  function rescoreLatest(): void {
    // Past states left waiting while the model loaded will not be scored now: say so.
    const waiting = (e: TimelineEntry, i: number, all: readonly TimelineEntry[]) =>
      i < all.length - 1 && e.scores.status === 'pending';
    if (get().timeline.some(waiting)) {
      set({
        timeline: get().timeline.map((e, i, all) =>
          waiting(e, i, all) ? { ...e, scores: { status: 'unavailable', reason: 'not scored' } } : e,
        ),
      });
    }
    const { model } = get();
    const last = latestEntry(get());
    if (!last || last.done) return;
    const current = model.status === 'ready' ? model.info.id : null;
    if (last.scores.status === 'ok' && last.scores.scores.modelId === current) return;
    if (last.scores.status === 'pending' && model.status !== 'ready') return; // still waiting for the model
    void fetchScores(last.stepId);
  }

  /** Loads the chosen model in the worker unless it is loaded; WebGPU missing on the page means no model. */
  async function ensureModel(): Promise<void> {
    if (!client) return;
    const { modelId, model } = get();
    const ready = model.status === 'ready' && model.info.id === modelId;
    if (ready || (model.status === 'loading' && model.id === modelId)) return;
    const known = app().models;
    const choice = findModel(known, modelId) ?? findModel(known, DEFAULT_MODEL);
    if (!choice) return;
    const request = ++modelRequest;
    set({ model: { status: 'loading', id: choice.id, label: choice.label, bytesDone: 0, bytes: 0 } });
    const gpu = await gpuCheck();
    if (request !== modelRequest) return;
    if (!gpu.ok) {
      const reason = `Probabilities need WebGPU, which is not available here. ${gpu.reason}`;
      set({ model: { status: 'unavailable', id: choice.id, reason } });
      markLatestUnscored();
      return;
    }
    if (choice.source === 'cache') {
      let cached: Awaited<ReturnType<CacheCheck>>;
      try {
        cached = await cacheCheck(choice);
      } catch (error) {
        cached = { ok: false, reason: describeError(error) };
      }
      if (request !== modelRequest) return;
      if (!cached.ok) {
        set({ model: { status: 'unavailable', id: choice.id, reason: cached.reason } });
        markLatestUnscored();
        return;
      }
    }
    let status: ModelStatus;
    try {
      // The idle timeout is read here: the worker has no localStorage, where the page's setting lives.
      const spec = { ...modelSpec(choice, pageBase()), idleTimeoutMs: defaultIdleTimeoutMs() };
      status = await client.loadModel(spec, (s) => {
        if (request === modelRequest && s.status === 'loading') set({ model: s });
      });
    } catch (error) {
      status = { status: 'error', id: choice.id, message: describeError(error) };
    }
    if (request !== modelRequest) return;
    set({ model: status });
    if (status.status === 'ready') rescoreLatest();
    else markLatestUnscored();
  }

  /** Without a model, the latest state shows why it has no probabilities instead of waiting. */
  function markLatestUnscored(): void {
    const { model } = get();
    const last = latestEntry(get());
    if (!last || last.scores.status !== 'pending') return;
    const scores: ScoresState =
      model.status === 'unavailable'
        ? { status: 'unavailable', reason: model.reason }
        : model.status === 'error'
          ? { status: 'error', message: model.message }
          : { status: 'pending' };
    if (scores.status !== 'pending') updateEntry(last.stepId, (e) => ({ ...e, scores }));
  }

  /** After a reset or step reply: score the new state if a model is (or is being) loaded. */
  function afterNewState(stepId: number): void {
    const { model } = get();
    if (model.status === 'ready' || model.status === 'loading') void fetchScores(stepId);
    else markLatestUnscored();
  }

  async function startEpisode(): Promise<void> {
    if (!client) throw new Error('the playground has no worker client: call attach() first');
    const myEpoch = ++epoch;
    const { taskId, seed } = get();
    set({ phase: get().timeline.length > 0 ? 'ready' : 'loading', busy: true, error: null });
    let reply: ResetReply;
    try {
      reply = await client.reset(taskId, seed);
    } catch (error) {
      if (myEpoch === epoch) set({ phase: 'error', busy: false, error: describeError(error) });
      return;
    }
    if (myEpoch !== epoch) return;
    set({ phase: 'ready', busy: false, timeline: [entryFrom(reply, null)], viewIndex: null });
    afterNewState(reply.stepId);
    if (get().autoPlay) kickAutoPlay();
  }

  /** Files a step reply: the action taken from the latest state and the new latest state. */
  function applyStep(reply: StepReply, by: ChosenBy, prob: number | undefined, follow: boolean): void {
    const before = get();
    const last = latestEntry(before);
    const timeline = before.timeline.slice();
    const taken = { index: reply.result.action, by, ...(prob !== undefined ? { prob } : {}) };
    if (last) timeline[timeline.length - 1] = { ...last, taken };
    timeline.push(entryFrom(reply, last));
    set({ busy: false, timeline, viewIndex: follow ? null : before.viewIndex });
    afterNewState(reply.stepId);
  }

  /** Waits until the latest state's scores are no longer pending (or the episode changes). */
  function settledScores(): Promise<ScoresState | null> {
    const read = () => latestEntry(get())?.scores ?? null;
    const now = read();
    if (!now || now.status !== 'pending') return Promise.resolve(now);
    const myEpoch = epoch;
    return new Promise((resolve) => {
      const unsubscribe = subscribe(() => {
        const s = read();
        if (myEpoch !== epoch || !s || s.status !== 'pending' || !get().autoPlay) {
          unsubscribe();
          resolve(myEpoch === epoch ? s : null);
        }
      });
    });
  }

  /** Runs auto-play until it is turned off or the episode ends; never two loops at once. */
  function kickAutoPlay(): void {
    if (autoPlayRunning) return;
    autoPlayRunning = true;
    void (async () => {
      try {
        for (;;) {
          const s = get();
          if (!s.autoPlay || latestEntry(s)?.done || s.phase !== 'ready') return;
          const scores = await settledScores();
          if (!get().autoPlay) return;
          if (!scores) continue; // the episode changed underneath: look again
          if (scores.status !== 'ok') {
            const error =
              scores.status === 'unavailable'
                ? scores.reason
                : scores.status === 'error'
                  ? scores.message
                  : 'auto-play stopped: no scores';
            set({ autoPlay: false, error });
            return;
          }
          const started = performance.now();
          await get().policyStep('sample', { auto: true });
          if (get().error) {
            set({ autoPlay: false });
            return;
          }
          const wait = 1000 / get().speed - (performance.now() - started);
          if (wait > 0) await sleep(wait);
        }
      } finally {
        autoPlayRunning = false;
      }
    })();
  }

  return {
    taskId: DEFAULT_TASK,
    seed: DEFAULT_SEED,
    modelId: DEFAULT_MODEL,
    norm: DEFAULT_NORM,
    notices: [],
    phase: 'idle',
    busy: false,
    error: null,
    timeline: [],
    viewIndex: null,
    model: { status: 'none' },
    autoPlay: false,
    speed: DEFAULT_SPEED,

    attach(next, options = {}) {
      client = next;
      gpuCheck = options.gpuCheck ?? pageGpuCheck;
      cacheCheck = options.cacheCheck ?? modelsCacheCheck;
      modelRequest++;
      set({ model: { status: 'none' } });
    },

    async open(next, notices = []) {
      set({ taskId: next.taskId, seed: next.seed, modelId: next.modelId, norm: next.norm, notices });
      // The model request goes first, so the worker scores the new episode as soon as the model is in.
      const model = ensureModel();
      await startEpisode();
      await model;
    },

    async selectTask(taskId) {
      if (taskId === get().taskId) return;
      set({ taskId, notices: [] });
      writeSetupToUrl(setup(), 'push');
      await startEpisode();
    },

    async selectSeed(seed) {
      if (seed === get().seed) return;
      set({ seed });
      writeSetupToUrl(setup(), 'replace');
      await startEpisode();
    },

    async selectModel(modelId) {
      if (!findModel(app().models, modelId)) return;
      if (modelId !== get().modelId) {
        set({ modelId });
        writeSetupToUrl(setup(), 'replace');
      }
      await ensureModel();
    },

    selectNorm(norm) {
      if (norm === get().norm) return;
      set({ norm });
      writeSetupToUrl(setup(), 'replace');
    },

    reset: startEpisode,

    async takeAction(index) {
      const state = get();
      const last = latestEntry(state);
      if (!client || state.busy || !last || last.done) return;
      if (!Number.isInteger(index) || index < 0 || index >= last.observation.actions.length) return;
      const myEpoch = epoch;
      set({ busy: true, error: null });
      let reply: StepReply;
      try {
        reply = await client.step(index);
      } catch (error) {
        if (myEpoch === epoch) set({ busy: false, error: describeError(error) });
        return;
      }
      if (myEpoch !== epoch) return;
      applyStep(reply, 'you', undefined, true);
    },

    async policyStep(mode, options = {}) {
      const state = get();
      const last = latestEntry(state);
      if (!client || state.busy || !last || last.done || last.scores.status !== 'ok') return;
      const myEpoch = epoch;
      set({ busy: true, error: null });
      try {
        const reply = await client.policyStep(last.stepId, mode, state.norm);
        if (myEpoch !== epoch) return;
        applyStep(reply, mode, reply.choice.prob, !options.auto);
      } catch (error) {
        if (myEpoch === epoch) set({ busy: false, error: describeError(error) });
      }
    },

    setAutoPlay(on) {
      if (on === get().autoPlay) return;
      set({ autoPlay: on });
      if (on) kickAutoPlay();
    },

    setSpeed(stepsPerSecond) {
      if (Number.isFinite(stepsPerSecond) && stepsPerSecond > 0) set({ speed: stepsPerSecond });
    },

    viewStep(index) {
      const n = get().timeline.length;
      if (index === null || n === 0) return set({ viewIndex: null });
      const i = Math.max(0, Math.min(n - 1, Math.round(index)));
      set({ viewIndex: i === n - 1 ? null : i });
    },

    dismissNotice(index) {
      set({ notices: get().notices.filter((_, i) => i !== index) });
    },

    async refreshScores() {
      const last = latestEntry(get());
      if (last && !last.done) await fetchScores(last.stepId);
    },
  };
}
