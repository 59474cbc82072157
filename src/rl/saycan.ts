/**
 * The SayCan baseline (twosome.md 5): the frozen LLM scores the env's offered actions (the affordance is the
 * offered list itself) after the same prompt, and the agent acts greedily on the normalized scores, with no
 * training: TWOSOME's initial policy, argmax instead of sampling. The scorer is an interface; the LLM engine
 * implements it, tests use a fake.
 */
import type { Env, Observation } from '../envs/types';
import type { Rng } from '../util/rng';
import type { ActionScores } from '../llm/scores';
import { actionDistribution, greedyAction, sampleAction, type ActionDistribution, type Normalization } from './policy';

export interface ActionScorer {
  /** The actions' scores, in order: summed action-token log-probs after `prompt + " "`, with counts. */
  score(prompt: string, actions: readonly string[]): ActionScores | Promise<ActionScores>;
}

export interface SayCanOptions {
  /** Default 'word', TWOSOME's scoring; 'sum' is the original SayCan's unnormalized joint probability. */
  normalization?: Normalization;
  /** Argmax (default, SayCan) or sampling with `rng`. */
  greedy?: boolean;
  rng?: Rng;
}

export interface SayCanDecision {
  action: number;
  distribution: ActionDistribution;
}

export class SayCanPolicy {
  readonly normalization: Normalization;
  readonly greedy: boolean;
  private readonly rng: Rng | undefined;

  constructor(
    private readonly scorer: ActionScorer,
    options: SayCanOptions = {},
  ) {
    this.normalization = options.normalization ?? 'word';
    this.greedy = options.greedy ?? true;
    this.rng = options.rng;
    if (!this.greedy && !this.rng) throw new Error('a sampling SayCan policy needs an rng');
  }

  async act(obs: Observation): Promise<SayCanDecision> {
    const scores = await this.scorer.score(obs.prompt, obs.actions);
    const n = scores.logprobs.length;
    if (n !== obs.actions.length) throw new Error(`the scorer returned ${n} scores for ${obs.actions.length} actions`);
    const distribution = actionDistribution(scores, this.normalization);
    const action = this.greedy ? greedyAction(distribution) : sampleAction(distribution, this.rng as Rng);
    return { action, distribution };
  }
}

export interface SayCanEpisode {
  success: boolean;
  /** Logged return (StepResult.episodeReturn at the end). */
  return: number;
  length: number;
  actions: string[];
}

/** Plays one episode from a reset. */
export async function runSayCanEpisode(env: Env, policy: SayCanPolicy, seed?: number): Promise<SayCanEpisode> {
  let obs = env.reset(seed);
  const actions: string[] = [];
  for (;;) {
    const { action } = await policy.act(obs);
    const r = env.step(action);
    actions.push(r.actionText);
    if (r.done) return { success: r.success, return: r.episodeReturn, length: actions.length, actions };
    obs = env.observe();
  }
}

export interface SayCanEvaluation {
  episodes: number;
  successRate: number;
  meanReturn: number;
  meanLength: number;
}

export async function evaluateSayCan(env: Env, policy: SayCanPolicy, episodes: number): Promise<SayCanEvaluation> {
  let s = 0;
  let ret = 0;
  let len = 0;
  for (let i = 0; i < episodes; i++) {
    const ep = await runSayCanEpisode(env, policy, i);
    s += ep.success ? 1 : 0;
    ret += ep.return;
    len += ep.length;
  }
  return { episodes, successRate: s / episodes, meanReturn: ret / episodes, meanLength: len / episodes };
}
