/**
 * Evaluation of an LLM policy on any task (the four training tasks, the unseen VirtualHome variants, and the
 * crossovers: an agent trained on one task is evaluated by running it on the other): N episodes, actions
 * sampled from pi (stochastic, TWOSOME's inference protocol, spec 4.8) or argmax (greedy); success rate and the
 * mean logged (discounted) return (spec 3.6, 4.6).
 *
 * Episodes run `parallel` at a time so each step scores all running episodes' prompts in one call. Episode i
 * starts from env.reset(i); sampling draws come from one stream seeded with `seed`, in slot order, so results
 * are fixed by (scorer, episodes, parallel, seed).
 */
import { createEnv, type EnvOptions } from '../envs/registry';
import type { Env, TaskId } from '../envs/types';
import { Rng } from '../util/rng';
import type { ActionScores, PolicyRequest } from '../llm/scores';
import { actionDistribution, greedyAction, sampleAction, type Normalization } from './policy';

/** Scores every request's actions (one call per step for all running episodes). */
export type BatchScorer = (requests: readonly PolicyRequest[]) => Promise<ActionScores[]>;

export interface PolicyEvaluateOptions {
  /** Default 10. */
  episodes?: number;
  /** Argmax instead of sampling (default false: stochastic). */
  greedy?: boolean;
  /** Seed of the sampling stream (default 0). */
  seed?: number;
  /** Default 'word' (the paper's). */
  normalization?: Normalization;
  /** Episodes run together (default min(episodes, 8)). */
  parallel?: number;
  env?: EnvOptions;
  /** Called as each episode ends (progress). */
  onEpisode?(episode: EpisodeOutcome, done: number): void;
}

export interface EpisodeOutcome {
  index: number;
  success: boolean;
  /** Logged (discounted) return. */
  return: number;
  length: number;
}

export interface PolicyEvaluation {
  taskId: TaskId;
  episodes: number;
  greedy: boolean;
  successRate: number;
  meanReturn: number;
  meanLength: number;
  outcomes: EpisodeOutcome[];
}

/**
 * Wraps a scorer of a FIXED policy: each distinct (prompt, actions) is scored once and remembered, and each call
 * sends only the requests it has not seen (deduplicated). Exact as long as the scorer is deterministic per
 * request (the engine computes each prompt's rows independently of the others in a call).
 */
export function memoizedScorer(scorer: BatchScorer, maxEntries = 100_000): BatchScorer {
  const cache = new Map<string, ActionScores>();
  const keyOf = (r: PolicyRequest) => `${r.prompt}\u0000${r.actions.join('\u0001')}`;
  return async (requests) => {
    const missing = new Map<string, PolicyRequest>();
    for (const r of requests) {
      const key = keyOf(r);
      if (!cache.has(key)) missing.set(key, r);
    }
    if (missing.size > 0) {
      const todo = [...missing.values()];
      const scores = await scorer(todo);
      if (scores.length !== todo.length)
        throw new Error(`the scorer returned ${scores.length} results for ${todo.length} prompts`);
      // The scores only: a prompt's hidden state would make each entry thousands of floats.
      [...missing.keys()].forEach((key, i) => {
        const { logprobs, nTokens, nWords } = scores[i];
        cache.set(key, { logprobs, nTokens, nWords });
      });
    }
    const out = requests.map((r) => cache.get(keyOf(r)) as ActionScores);
    while (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    return out;
  };
}

export async function evaluatePolicy(
  taskId: TaskId,
  scorer: BatchScorer,
  options: PolicyEvaluateOptions = {},
): Promise<PolicyEvaluation> {
  const episodes = options.episodes ?? 10;
  if (!Number.isInteger(episodes) || episodes < 1)
    throw new RangeError(`episodes must be a positive integer, got ${episodes}`);
  const greedy = options.greedy ?? false;
  const normalization = options.normalization ?? 'word';
  const parallel = Math.max(1, Math.min(episodes, options.parallel ?? 8));
  const rng = new Rng(options.seed ?? 0);
  const slots: { env: Env; index: number; length: number }[] = [];
  let next = 0;
  const start = (env: Env) => {
    const index = next++;
    env.reset(index);
    return { env, index, length: 0 };
  };
  for (let s = 0; s < parallel; s++) slots.push(start(createEnv(taskId, options.env)));
  const outcomes: EpisodeOutcome[] = [];
  const score = memoizedScorer(scorer);
  while (slots.length > 0) {
    const requests = slots.map((s) => s.env.observe());
    const scores = await score(requests);
    const finished: number[] = [];
    slots.forEach((slot, i) => {
      const n = scores[i].logprobs.length;
      if (n !== requests[i].actions.length) {
        throw new Error(`the scorer returned ${n} scores for ${requests[i].actions.length} actions`);
      }
      const dist = actionDistribution(scores[i], normalization);
      const action = greedy ? greedyAction(dist) : sampleAction(dist, rng);
      const r = slot.env.step(action);
      slot.length++;
      if (r.done) {
        const outcome = { index: slot.index, success: r.success, return: r.episodeReturn, length: slot.length };
        outcomes.push(outcome);
        options.onEpisode?.(outcome, outcomes.length);
        finished.push(i);
      }
    });
    // Refill finished slots with new episodes in slot order; retire the rest (from the back).
    const retired: number[] = [];
    for (const i of finished) {
      if (next < episodes) slots[i] = start(slots[i].env);
      else retired.push(i);
    }
    for (let j = retired.length - 1; j >= 0; j--) slots.splice(retired[j], 1);
  }
  outcomes.sort((a, b) => a.index - b.index);
  const n = outcomes.length;
  return {
    taskId,
    episodes: n,
    greedy,
    successRate: outcomes.filter((o) => o.success).length / n,
    meanReturn: outcomes.reduce((s, o) => s + o.return, 0) / n,
    meanLength: outcomes.reduce((s, o) => s + o.length, 0) / n,
    outcomes,
  };
}
