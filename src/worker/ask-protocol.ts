/**
 * The reply of AgentApi.askFreely (api.ts): what the loaded model says when it continues the current state's
 * prompt as free text (src/llm/generation.ts), with the frozen model and with the adapter in use, each text
 * matched against the offered actions. Plain data: it crosses the worker boundary.
 */
import type { FreeAnswer, GenerationOptions } from '../llm/generation';

export type { FreeAnswer, GenerationOptions };

export type AskFreelyReply =
  | {
      status: 'ok';
      stepId: number;
      modelId: string;
      options: GenerationOptions;
      /** The offered actions the texts were matched against. */
      actions: string[];
      /** The frozen model's text. */
      base: FreeAnswer;
      /** The text with the adapter in use, or null when none is. */
      adapted: FreeAnswer | null;
      adapterLabel: string | null;
      /** How the texts are matched to actions (generation.ts ACTION_MATCH_RULE). */
      match: string;
      ms: number;
    }
  /** The state moved on before the model was asked. */
  | { status: 'stale' }
  | { status: 'unavailable'; reason: string }
  | { status: 'error'; message: string };
