/**
 * UI state of the playground: the chosen task and seed, and the latest observation, render description and
 * step result reported by the environment worker. The store never owns environment state; it asks the
 * worker (through an EnvClient) and shows what comes back.
 */
import { create } from 'zustand';
import type { Observation, RenderDescription, StepResult, TaskId } from '../envs/types';
import type { EnvClient } from '../worker/client';
import type { ResetReply, StepReply } from '../worker/protocol';
import { DEFAULT_SEED, DEFAULT_TASK, writeSetupToUrl } from './url';

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
}

export type Phase = 'idle' | 'loading' | 'ready' | 'error';

export interface PlaygroundState {
  taskId: TaskId;
  seed: number;
  /** Messages about the setup (e.g. an unknown task in the URL); shown until dismissed. */
  notices: string[];
  phase: Phase;
  /** A call to the worker is in flight (actions are ignored meanwhile). */
  busy: boolean;
  error: string | null;

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
}

export interface PlaygroundActions {
  /** Connects the store to an environment host; call once before anything else. */
  attach(client: EnvClient): void;
  /** Sets task and seed (e.g. from the URL) and starts an episode; writes nothing to the URL. */
  open(taskId: TaskId, seed: number, notices?: string[]): Promise<void>;
  /** The user picked a task: update the URL (new history entry) and start an episode. */
  selectTask(taskId: TaskId): Promise<void>;
  /** The user changed the seed: update the URL and start an episode. */
  selectSeed(seed: number): Promise<void>;
  /** Starts a new episode of the current task and seed. */
  reset(): Promise<void>;
  /** Takes the offered action at `index`; ignored while busy, after done, or for an index not offered. */
  takeAction(index: number): Promise<void>;
  dismissNotice(index: number): void;
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
};

let client: EnvClient | null = null;
/** Incremented by every reset; replies to calls made before the latest reset are dropped. */
let epoch = 0;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const usePlayground = create<PlaygroundStore>()((set, get) => {
  async function startEpisode(): Promise<void> {
    if (!client) throw new Error('the playground store has no environment client: call attach() first');
    const myEpoch = ++epoch;
    const { taskId, seed } = get();
    set({ phase: get().render ? 'ready' : 'loading', busy: true, error: null });
    let reply: ResetReply;
    try {
      reply = await client.reset(taskId, seed);
    } catch (error) {
      if (myEpoch === epoch) set({ phase: 'error', busy: false, error: describe(error) });
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
    });
  }

  return {
    taskId: DEFAULT_TASK,
    seed: DEFAULT_SEED,
    notices: [],
    phase: 'idle',
    busy: false,
    error: null,
    observation: null,
    render: null,
    ...episodeStart,

    attach(next) {
      client = next;
    },

    async open(taskId, seed, notices = []) {
      set({ taskId, seed, notices });
      await startEpisode();
    },

    async selectTask(taskId) {
      if (taskId === get().taskId) return;
      set({ taskId, notices: [] });
      writeSetupToUrl({ taskId, seed: get().seed }, 'push');
      await startEpisode();
    },

    async selectSeed(seed) {
      if (seed === get().seed) return;
      set({ seed });
      writeSetupToUrl({ taskId: get().taskId, seed }, 'replace');
      await startEpisode();
    },

    reset: startEpisode,

    async takeAction(index) {
      const state = get();
      if (!client || state.busy || state.done || !state.observation) return;
      if (!Number.isInteger(index) || index < 0 || index >= state.observation.actions.length) return;
      const myEpoch = epoch;
      const prompt = state.observation.prompt;
      set({ busy: true, error: null });
      let reply: StepReply;
      try {
        reply = await client.step(index);
      } catch (error) {
        if (myEpoch === epoch) set({ busy: false, error: describe(error) });
        return;
      }
      if (myEpoch !== epoch) return;
      const { result } = reply;
      const before = get();
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
        history: [
          ...before.history,
          {
            step: before.steps + 1,
            prompt,
            actionIndex: result.action,
            actionText: result.actionText,
            reward: result.reward,
            primitiveSteps: result.primitiveSteps,
            effect: reply.render.kind === 'virtualhome' ? reply.render.lastAction?.succeeded : undefined,
          },
        ],
      });
    },

    dismissNotice(index) {
      set({ notices: get().notices.filter((_, i) => i !== index) });
    },
  };
});
