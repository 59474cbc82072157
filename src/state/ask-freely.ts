/**
 * The ask slice, the Agent card's "Ask freely": the generation settings, the question in the worker
 * (AgentApi.askFreely) about the latest state, and its answers: the frozen model's text and the adapted
 * model's, each marked with the offered action it names, if any. The worker does the work; this slice
 * mirrors its reply.
 */
import type { AgentApi, Calls } from '../worker/api';
import type { AskFreelyReply, GenerationOptions } from '../worker/ask-protocol';
import { describeError } from '../util/errors';
import type { SliceApi } from './store';
import { latestEntry } from './timeline';

export type AskPhase = 'idle' | 'asking' | 'done' | 'error';

export interface AskState {
  options: GenerationOptions;
  phase: AskPhase;
  /** The last answers (for the state they name: reply.stepId). */
  reply: Extract<AskFreelyReply, { status: 'ok' }> | null;
  error: string | null;
}

export interface AskActions {
  /** Connects the slice to the worker's agent (undefined: the worker did not start). */
  attach(client: Calls<AgentApi> | undefined): void;
  setOptions(patch: Partial<GenerationOptions>): void;
  /** Asks the model about the latest state; resolves when the answers (or the reason there are none) are in. */
  ask(): Promise<void>;
}

export type AskSlice = AskState & AskActions;

const initial: AskState = {
  options: { maxTokens: 24, temperature: 0, seed: 0 },
  phase: 'idle',
  reply: null,
  error: null,
};

export function createAskSlice({ get, set, app }: SliceApi<'ask'>): AskSlice {
  let client: Calls<AgentApi> | null = null;
  return {
    ...initial,
    attach(next) {
      client = next ?? null;
    },
    setOptions(patch) {
      set({ options: { ...get().options, ...patch } });
    },
    async ask() {
      if (get().phase === 'asking') return;
      const last = latestEntry(app().playground);
      if (!client || !last) {
        set({ phase: 'error', error: 'there is no state to ask about yet: the environment has not started' });
        return;
      }
      set({ phase: 'asking', error: null });
      try {
        const reply = await client.askFreely(last.stepId, get().options);
        if (reply.status === 'ok') set({ phase: 'done', reply });
        else if (reply.status === 'stale')
          set({ phase: 'error', error: 'the episode moved on while the model was asked; ask again' });
        else set({ phase: 'error', error: reply.status === 'unavailable' ? reply.reason : reply.message });
      } catch (error) {
        set({ phase: 'error', error: describeError(error) });
      }
    },
  };
}
