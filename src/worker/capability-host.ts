/**
 * The capability check in the playground worker (CapabilityApi, api.ts): zero-shot benchmarks scored on the
 * playground's loaded model as lm-evaluation-harness scores them (src/nlp-eval), the base model and the adapter
 * in use side by side and paired. The model comes behind CapabilityModel (capability-wiring.ts builds it on the
 * AgentHost's engine; tests give a fake), so this file holds the rules only:
 * - every benchmark is read (picked files) or downloaded (the hub, kept in the Cache API) and checked before any
 *   scoring, so a bad file fails at once;
 * - the adapter is the one in use when the check starts (a training run may change it meanwhile);
 * - each engine call waits its turn in the agent's GPU queue, so the check and training updates or playground
 *   scoring interleave pass by pass and never overlap; a model replaced meanwhile ends the check with an error;
 * - one check at a time; cancel() stops it between passes (a download keeps what arrived).
 */
import {
  benchmark,
  cacheDatasetStore,
  evaluateQuestions,
  memoryDatasetStore,
  summarize,
  type DatasetStore,
  type EvaluatedQuestion,
  type PairedScorer,
  type PairTokenizer,
  type Question,
  type TokenLogprobScorer,
} from '../nlp-eval';
import type { ScoringRequest } from '../llm/engine/scoring-layout';
import { describeError } from '../util/errors';
import type { CapabilityApi } from './api';
import type {
  CapabilityBenchResult,
  CapabilityEvent,
  CapabilityReply,
  CapabilityRequest,
  Disagreement,
} from './capability-protocol';
import { readBenchmark } from './bench-data';
import { releaseCallback } from './link';

/** The loaded model as the check uses it, for one check. */
export interface CapabilityScorers {
  modelId: string;
  tokenizer: PairTokenizer;
  contextWindow: number;
  base: TokenLogprobScorer;
  /**
   * With the adapter in use: the base model and the adapter in one call, with KL(base || adapted) per scored token
   * (enginePairedScorer); null without an adapter.
   */
  paired: PairedScorer | null;
  adapterLabel: string | null;
  /** False once the model was replaced (its engine is gone). */
  isCurrent(): boolean;
  /** Frees what the check took (the adapter's upload). */
  release(): void;
}

export interface CapabilityModel {
  /** The loaded model's scorers (after a load in progress settles), or a reason why there are none. */
  scorers(): Promise<CapabilityScorers | { unavailable: string }>;
  /** Runs GPU work in the agent's queue. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

/** Questions per engine call: a pass's worth, and a steady progress bar. */
const QUESTIONS_PER_PASS = 8;
/** Disagreements shown per benchmark. */
const SHOWN = 5;
/** Most questions per benchmark (the card's sample size); a bigger check belongs in the CLI. */
export const MAX_LIMIT = 2000;

class ModelChangedError extends Error {
  constructor() {
    super('the model changed during the check; run it again');
  }
}

export class CapabilityHost implements CapabilityApi {
  private running: AbortController | null = null;

  constructor(
    private readonly model: CapabilityModel,
    /** Where downloads are kept (default: the Cache API, else memory). */
    private readonly store: DatasetStore = cacheDatasetStore() ?? memoryDatasetStore(),
    private readonly fetchImpl?: typeof fetch,
  ) {}

  async run(request: CapabilityRequest, onEvent?: (event: CapabilityEvent) => void): Promise<CapabilityReply> {
    if (this.running) {
      releaseCallback(onEvent);
      return { status: 'error', message: 'a capability check is already running: cancel it first' };
    }
    const controller = new AbortController();
    this.running = controller;
    const emit = (event: CapabilityEvent) => {
      try {
        const returned: unknown = onEvent?.(event);
        if (returned instanceof Promise) returned.catch(() => {});
      } catch {
        // A page that went away must not stop the check.
      }
    };
    const started = performance.now();
    try {
      const problem = checkRequest(request);
      if (problem) return { status: 'error', message: problem };
      const questions = await this.readQuestions(request, controller.signal, emit);
      const scorers = await this.model.scorers();
      if ('unavailable' in scorers) return { status: 'error', message: scorers.unavailable };
      try {
        const results: CapabilityBenchResult[] = [];
        for (const [bench, list] of questions) {
          results.push(await this.score(bench, list, scorers, controller.signal, emit));
        }
        const { modelId, adapterLabel } = scorers;
        return { status: 'done', modelId, adapter: adapterLabel, results, ms: performance.now() - started };
      } finally {
        scorers.release();
      }
    } catch (error) {
      if (controller.signal.aborted) return { status: 'cancelled' };
      return { status: 'error', message: describeError(error) };
    } finally {
      this.running = null;
      releaseCallback(onEvent);
    }
  }

  cancel(): void {
    this.running?.abort(new DOMException('the capability check was cancelled', 'AbortError'));
  }

  private async readQuestions(
    request: CapabilityRequest,
    signal: AbortSignal,
    emit: (event: CapabilityEvent) => void,
  ): Promise<Map<string, Question[]>> {
    const questions = new Map<string, Question[]>();
    for (const bench of request.benches) {
      const list = await readBenchmark(bench, request.limit, request.data, {
        store: this.store,
        signal,
        fetchImpl: this.fetchImpl,
        onProgress: (id, p) => emit({ type: 'download', bench: id, ...p }),
      });
      questions.set(bench, list);
    }
    return questions;
  }

  private async score(
    bench: string,
    questions: readonly Question[],
    scorers: CapabilityScorers,
    signal: AbortSignal,
    emit: (event: CapabilityEvent) => void,
  ): Promise<CapabilityBenchResult> {
    // Each engine call in the GPU queue, on the engine the check started with.
    const queued =
      <T>(scorer: (requests: readonly ScoringRequest[]) => Promise<T>) =>
      (requests: readonly ScoringRequest[]) =>
        this.model.exclusive(async () => {
          if (!scorers.isCurrent()) throw new ModelChangedError();
          return scorer(requests);
        });
    emit({ type: 'scoring', bench, done: 0, total: questions.length });
    const results = await evaluateQuestions(
      questions,
      scorers.tokenizer,
      scorers.paired ? { paired: queued(scorers.paired) } : { base: queued(scorers.base) },
      {
        contextWindow: scorers.contextWindow,
        questionsPerPass: QUESTIONS_PER_PASS,
        signal,
        onProgress: (done, total) => emit({ type: 'scoring', bench, done, total }),
      },
    );
    const { title, metrics } = benchmark(bench);
    const summary = summarize(bench, results, metrics);
    const disagreeing = results.filter((r) => r.adapted && r.adapted.pred !== r.base.pred);
    return {
      bench,
      title,
      n: summary.n,
      base: summary.base ?? summary.model,
      adapted: summary.base ? summary.model : null,
      difference: summary.difference,
      meanKl: summary.meanKl,
      disagreeing: disagreeing.length,
      disagreements: disagreeing.slice(0, SHOWN).map(disagreement),
    };
  }
}

function disagreement(r: EvaluatedQuestion): Disagreement {
  const { question } = r;
  return {
    index: question.index,
    context: question.choices[0].context,
    choices: question.choices.map((c) => c.text),
    gold: question.gold,
    base: r.base.pred,
    adapted: r.adapted!.pred,
  };
}

/** What is wrong with a request from the page, or null. */
function checkRequest(request: CapabilityRequest): string | null {
  if (!Array.isArray(request.benches) || request.benches.length === 0) return 'pick at least one benchmark';
  for (const bench of request.benches) {
    try {
      benchmark(bench);
    } catch (error) {
      return describeError(error);
    }
  }
  if (!Number.isInteger(request.limit) || request.limit < 1 || request.limit > MAX_LIMIT) {
    return `the sample size must be a whole number from 1 to ${MAX_LIMIT}`;
  }
  if (request.data.kind === 'files' && request.data.files.length === 0) return 'pick the benchmark files first';
  return null;
}
