/**
 * The episode as the playground keeps it: a timeline of every state reached, oldest first. Everything else
 * about the episode (the latest state, its counters, the history of actions) is read off the timeline by the
 * selectors here, so it is stored once.
 */
import { lastActionEffect } from '../envs/registry';
import type { Observation, RenderDescription, StepResult } from '../envs/types';
import type { PolicyMode, ResetReply, ScoresView, StepReply } from '../worker/protocol';

/** Who chose an action: the user (a click or a number key), a sample from the policy, or its argmax. */
export type ChosenBy = 'you' | PolicyMode;

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
  /** Primitive environment steps in the episode up to here (Overcooked macros take several). */
  primitiveSteps: number;
  episodeReturn: number;
  done: boolean;
  success: boolean;
  scores: ScoresState;
  /**
   * The action taken from this state, once it has been; `prob`: the policy's probability of it under the
   * normalization used (policy steps only).
   */
  taken?: { index: number; by: ChosenBy; prob?: number };
}

/** One action of the episode, as the History card lists it (from two neighbouring timeline entries). */
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

interface TimelineView {
  timeline: readonly TimelineEntry[];
  /** The state shown: an index into timeline, or null to follow the latest. */
  viewIndex: number | null;
}

/** The state a reset or step reply describes, following `before` (null after a reset). */
export function entryFrom(reply: ResetReply | StepReply, before: TimelineEntry | null): TimelineEntry {
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

/** The latest state (the one stepping continues from), or null before the first reset. */
export function latestEntry(s: Pick<TimelineView, 'timeline'>): TimelineEntry | null {
  return s.timeline.length > 0 ? s.timeline[s.timeline.length - 1] : null;
}

/** The latest state's scores, if they are in. */
export function latestScores(s: Pick<TimelineView, 'timeline'>): ScoresView | null {
  const last = latestEntry(s);
  return last?.scores.status === 'ok' ? last.scores.scores : null;
}

/** The state shown (the latest unless the user scrubbed back), or null before the first reset. */
export function shownEntry(s: TimelineView): TimelineEntry | null {
  if (s.timeline.length === 0) return null;
  const i = s.viewIndex === null ? s.timeline.length - 1 : Math.min(s.viewIndex, s.timeline.length - 1);
  return s.timeline[i];
}

/** Whether the shown state is a past one (read-only). */
export function isViewingPast(s: TimelineView): boolean {
  return s.viewIndex !== null && s.viewIndex < s.timeline.length - 1;
}

/** Per timeline (a timeline is replaced, never changed), so a selector returns the same list until it changes. */
const historyOf = new WeakMap<readonly TimelineEntry[], HistoryEntry[]>();

/** The actions taken in the episode, oldest first. */
export function episodeHistory(s: Pick<TimelineView, 'timeline'>): HistoryEntry[] {
  let history = historyOf.get(s.timeline);
  if (!history) {
    history = [];
    for (let i = 1; i < s.timeline.length; i++) {
      const from = s.timeline[i - 1];
      const to = s.timeline[i];
      const result = to.result!;
      history.push({
        step: to.t,
        prompt: from.observation.prompt,
        actionIndex: result.action,
        actionText: result.actionText,
        reward: result.reward,
        primitiveSteps: result.primitiveSteps,
        effect: lastActionEffect(to.render),
        by: from.taken?.by ?? 'you',
        prob: from.taken?.prob,
      });
    }
    historyOf.set(s.timeline, history);
  }
  return history;
}
