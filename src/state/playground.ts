/**
 * UI state of the playground: the setup (task, seed, model, normalization), the episode's timeline (every
 * state reached, with its prompt, scene and the model's scores) and the agent controls (auto-play). The
 * store never owns environment or model state; it asks the worker (through an Calls<AgentApi>) and shows what
 * comes back. Nothing here waits on the GPU before showing a state: scores arrive later and fill in.
 */
import { create } from 'zustand';
import type { Observation, RenderDescription, StepResult, TaskId } from '../envs/types';
import type { AgentApi, Calls } from '../worker/api';
import type { ModelStatus, Normalization, PolicyMode, ResetReply, ScoresView, StepReply } from '../worker/protocol';
import { detectGpu } from './gpu';
import { DEFAULT_MODEL, findModel, modelSpec, type ModelChoice } from './models';
import { DEFAULT_NORM, DEFAULT_SEED, DEFAULT_TASK, writeSetupToUrl, type Setup } from './url';
import { describeError } from '../util/errors';

/** Who chose an action: the user (a click or a number key), a sample from the policy, or its argmax. */
export type ChosenBy = 'you' | PolicyMode;

export interface HistoryEntry {
  /** 1-based step number within the episode. */
  step: number;
  /** The prompt the action was chosen from. */
  prompt: string;
  actionIndex: number;
  actionText: string;
  reward: number;
  primitiveSteps: number;
  /** VirtualHome reports whether the action changed anything (failed actions are silent no-ops). */
  effect?: boolean;
  by: ChosenBy;
  /** The policy's probability of the chosen action under the normalization used (policy steps only). */
  prob?: number;
}

/** The scores of one state, as far as they are known. */
export type ScoresState =
  | { status: 'pending' }
  | { status: 'ok'; scores: ScoresView }
  | { status: 'unavailable'; reason: string }
  | { status: 'error'; message: string }
  /** Not scored: the episode is over in this state. */
  | { status: 'none' };

/** One state of the episode: what was shown then, kept for scrubbing back. */
export interface TimelineEntry {
  /** Actions taken before this state (0: the reset). */
  t: number;
  stepId: number;
  observation: Observation;
  render: RenderDescription;
  /** The step that led here (null at t = 0). */
  result: StepResult | null;
  primitiveSteps: number;
  episodeReturn: number;
  done: boolean;
  success: boolean;
  scores: ScoresState;
  /** The action taken from this state, once it has been. */
  taken?: { index: number; by: ChosenBy };
}

export type Phase = 'idle' | 'loading' | 'ready' | 'error';

export const SPEEDS = [0.5, 1, 2, 4, 8] as const;
export const DEFAULT_SPEED = 2;

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

  /** The latest state (the one stepping continues from). */
  observation: Observation | null;
  render: RenderDescription | null;
  lastResult: StepResult | null;
  /** Actions taken in this episode. */
  steps: number;
  /** Primitive environment steps in this episode (Overcooked macros take several). */
  primitiveSteps: number;
  episodeReturn: number;
  done: boolean;
  success: boolean;
  history: HistoryEntry[];

  /** Every state of this episode, oldest first; the last one is the latest. */
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
  /** Connects the store to an environment host; call once before anything else. */
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

export type PlaygroundStore = PlaygroundState & PlaygroundActions;

const episodeStart = {
  lastResult: null,
  steps: 0,
  primitiveSteps: 0,
  episodeReturn: 0,
  done: false,
  success: false,
  history: [] as HistoryEntry[],
  timeline: [] as TimelineEntry[],
  viewIndex: null,
};

let client: Calls<AgentApi> | null = null;
/** Incremented by every reset; replies to calls made before the latest reset are dropped. */
let epoch = 0;
/** Incremented by every model request; status reports of an older request are dropped. */
let modelRequest = 0;
let autoPlayRunning = false;

/**
 * Whether a model read from the browser cache is there (all its files); when not, why (and the caller may
 * offer the download: the playground never downloads by itself). Without a check every model counts as there.
 */
export type CacheCheck = (choice: ModelChoice) => Promise<{ ok: true } | { ok: false; reason: string }>;
let cacheCheck: CacheCheck | null = null;

/** Whether this page can run a model at all (the worker has WebGPU exactly when the page has it). */
export type GpuCheck = () => Promise<{ ok: true } | { ok: false; reason: string }>;

const pageGpuCheck: GpuCheck = async () => {
  const gpu = await detectGpu();
  return gpu.status === 'missing' ? { ok: false, reason: gpu.detail } : { ok: true };
};
let gpuCheck: GpuCheck = pageGpuCheck;

function pageBase(): string {
  return typeof document !== 'undefined' ? document.baseURI : 'http://localhost/';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The state shown (the latest unless the user scrubbed back), or null before the first reset. */
export function shownEntry(s: Pick<PlaygroundState, 'timeline' | 'viewIndex'>): TimelineEntry | null {
  if (s.timeline.length === 0) return null;
  const i = s.viewIndex === null ? s.timeline.length - 1 : Math.min(s.viewIndex, s.timeline.length - 1);
  return s.timeline[i];
}

/** Whether the shown state is a past one (read-only). */
export function isViewingPast(s: Pick<PlaygroundState, 'timeline' | 'viewIndex'>): boolean {
  return s.viewIndex !== null && s.viewIndex < s.timeline.length - 1;
}

/** The latest state's scores, if they are in. */
export function latestScores(s: Pick<PlaygroundState, 'timeline'>): ScoresView | null {
  const last = s.timeline[s.timeline.length - 1];
  return last?.scores.status === 'ok' ? last.scores.scores : null;
}

export const usePlayground = create<PlaygroundStore>()((set, get) => {
  function setup(): Setup {
    const { taskId, seed, modelId, norm } = get();
    return { taskId, seed, modelId, norm };
  }

  function entryFrom(reply: ResetReply | StepReply, before: TimelineEntry | null): TimelineEntry {
    const result = reply.result;
    return {
      t: before ? before.t + 1 : 0,
      stepId: reply.stepId,
      observation: reply.observation,
      render: reply.render,
      result,
      primitiveSteps: (before?.primitiveSteps ?? 0) + (result?.primitiveSteps ?? 0),
      episodeReturn: result?.episodeReturn ?? 0,
      done: reply.done,
      success: result?.success ?? false,
      scores: reply.done ? { status: 'none' } : { status: 'pending' },
    };
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
    const { timeline } = get();
    return timeline.length > 0 && timeline[timeline.length - 1].stepId === stepId;
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
      if ((reply.status === 'unavailable' || reply.status === 'stale') && get().model.status === 'loading' && isLatest(stepId)) return;
      if (reply.status === 'stale') {
        // The worker moved on (a later step or reset); keep what this state had, unless it was nothing.
        updateEntry(stepId, (e) => (e.scores.status === 'pending' ? { ...e, scores: { status: 'unavailable', reason: 'not scored' } } : e));
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
    const waiting = get().timeline.some((e, i, all) => i < all.length - 1 && e.scores.status === 'pending');
    if (waiting) {
      set({
        timeline: get().timeline.map((e, i, all) =>
          i < all.length - 1 && e.scores.status === 'pending' ? { ...e, scores: { status: 'unavailable', reason: 'not scored' } } : e,
        ),
      });
    }
    const { timeline, model } = get();
    const last = timeline[timeline.length - 1];
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
    if ((model.status === 'ready' && model.info.id === modelId) || (model.status === 'loading' && model.id === modelId)) return;
    const choice = findModel(modelId) ?? findModel(DEFAULT_MODEL);
    if (!choice) return;
    const request = ++modelRequest;
    set({ model: { status: 'loading', id: choice.id, label: choice.label, bytesDone: 0, bytes: 0 } });
    const gpu = await gpuCheck();
    if (request !== modelRequest) return;
    if (!gpu.ok) {
      set({ model: { status: 'unavailable', id: choice.id, reason: `Probabilities need WebGPU, which is not available here. ${gpu.reason}` } });
      markLatestUnscored();
      return;
    }
    if (choice.source === 'cache' && cacheCheck) {
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
      status = await client.loadModel(modelSpec(choice, pageBase()), (s) => {
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
    const { timeline, model } = get();
    const last = timeline[timeline.length - 1];
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
    if (!client) throw new Error('the playground store has no environment client: call attach() first');
    const myEpoch = ++epoch;
    const { taskId, seed } = get();
    set({ phase: get().render ? 'ready' : 'loading', busy: true, error: null });
    let reply: ResetReply;
    try {
      reply = await client.reset(taskId, seed);
    } catch (error) {
      if (myEpoch === epoch) set({ phase: 'error', busy: false, error: describeError(error) });
      return;
    }
    if (myEpoch !== epoch) return;
    set({
      ...episodeStart,
      phase: 'ready',
      busy: false,
      observation: reply.observation,
      render: reply.render,
      done: reply.done,
      timeline: [entryFrom(reply, null)],
    });
    afterNewState(reply.stepId);
    if (get().autoPlay) kickAutoPlay();
  }

  /** Files a step reply: the new latest state, the counters and the history. */
  function applyStep(reply: StepReply, by: ChosenBy, prob: number | undefined, follow: boolean): void {
    const before = get();
    const { result } = reply;
    const last = before.timeline[before.timeline.length - 1];
    const timeline = before.timeline.slice();
    if (last) timeline[timeline.length - 1] = { ...last, taken: { index: result.action, by } };
    timeline.push(entryFrom(reply, last ?? null));
    set({
      busy: false,
      observation: reply.observation,
      render: reply.render,
      lastResult: result,
      steps: before.steps + 1,
      primitiveSteps: before.primitiveSteps + result.primitiveSteps,
      episodeReturn: result.episodeReturn,
      done: result.done,
      success: result.success,
      timeline,
      viewIndex: follow ? null : before.viewIndex,
      history: [
        ...before.history,
        {
          step: before.steps + 1,
          prompt: last?.observation.prompt ?? before.observation?.prompt ?? '',
          actionIndex: result.action,
          actionText: result.actionText,
          reward: result.reward,
          primitiveSteps: result.primitiveSteps,
          effect: reply.render.kind === 'virtualhome' ? reply.render.lastAction?.succeeded : undefined,
          by,
          prob,
        },
      ],
    });
    afterNewState(reply.stepId);
  }

  /** Waits until the latest state's scores are no longer pending (or the episode changes). */
  function settledScores(): Promise<ScoresState | null> {
    const read = () => {
      const last = get().timeline[get().timeline.length - 1];
      return last ? last.scores : null;
    };
    const now = read();
    if (!now || now.status !== 'pending') return Promise.resolve(now);
    const myEpoch = epoch;
    return new Promise((resolve) => {
      const unsubscribe = usePlayground.subscribe(() => {
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
          if (!s.autoPlay || s.done || s.phase !== 'ready') return;
          const scores = await settledScores();
          if (!get().autoPlay) return;
          if (!scores) continue; // the episode changed underneath: look again
          if (scores.status !== 'ok') {
            set({
              autoPlay: false,
              error:
                scores.status === 'unavailable' ? scores.reason : scores.status === 'error' ? scores.message : 'auto-play stopped: no scores',
            });
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
    observation: null,
    render: null,
    ...episodeStart,
    model: { status: 'none' },
    autoPlay: false,
    speed: DEFAULT_SPEED,

    attach(next, options = {}) {
      client = next;
      gpuCheck = options.gpuCheck ?? pageGpuCheck;
      cacheCheck = options.cacheCheck ?? null;
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
      if (!findModel(modelId)) return;
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
      if (!client || state.busy || state.done || !state.observation) return;
      if (!Number.isInteger(index) || index < 0 || index >= state.observation.actions.length) return;
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
      const last = state.timeline[state.timeline.length - 1];
      if (!client || state.busy || state.done || !last || last.scores.status !== 'ok') return;
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
      const last = get().timeline[get().timeline.length - 1];
      if (last && !last.done) await fetchScores(last.stepId);
    },
  };
});
