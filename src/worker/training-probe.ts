/**
 * The training probe (issue 15): while a TWOSOME run trains, a small fixed sample of a benchmark is scored with
 * the run's adapter after every N updates, the base model beside it, so the Training card can chart whether
 * the model keeps its general abilities as the policy learns. Scored as the capability check scores (the same
 * engine passes: the shared context, several questions per call, base and adapter paired in one call with the
 * KL between them), each engine call in the worker's GPU queue, between updates (run-trainers.ts runs it after
 * an update and before the next one begins).
 *
 * - checkProbeSpec / loadProbe: the request checked and its benchmark read (every row parsed) before the run
 *   starts, so a probe without its data fails at once, with what to do;
 * - probeDue: the schedule (after updates N, 2N, 3N, ...);
 * - scoreProbe: one probe, with the adapter the trainer holds on the GPU (its own buffers, no copy).
 */
import type { LoraHandle } from '../llm/train/gpu-lora';
import {
  benchmark,
  evaluateQuestions,
  sampleQuestions,
  summarize,
  type DatasetStore,
  type PairedScorer,
  type PairTokenizer,
  type Question,
} from '../nlp-eval';
import { describeError } from '../util/errors';
import { readBenchmark } from './bench-data';
import type { CapabilityData } from './capability-protocol';
import type { Exclusive } from './run-trainers';
import { MAX_PROBE_SIZE, type ProbeMeta, type ProbeResult, type ProbeSpec } from './training-protocol';

/** Questions per engine call (as the capability check's). */
const QUESTIONS_PER_PASS = 8;

/** The loaded model as the probe scores with it. */
export interface ProbeModel {
  /**
   * The base model and `adapter` in one call with KL(base || adapted) per scored token (enginePairedScorer);
   * `release` gives the adapter back once the probe is done with it. Throws when there is no model or adapter.
   */
  paired(adapter: LoraHandle | null): Promise<{
    tokenizer: PairTokenizer;
    contextWindow: number;
    scorer: PairedScorer;
    release(): void;
  }>;
  exclusive: Exclusive;
}

/** What is wrong with a probe request for a run of `numUpdates` updates, or null. */
export function checkProbeSpec(spec: ProbeSpec, numUpdates: number): string | null {
  try {
    benchmark(spec.bench);
  } catch (error) {
    return `the probe's benchmark: ${describeError(error)}`;
  }
  if (!Number.isInteger(spec.size) || spec.size < 1 || spec.size > MAX_PROBE_SIZE) {
    return `the probe's sample size must be a whole number from 1 to ${MAX_PROBE_SIZE}, not ${spec.size}`;
  }
  if (!Number.isInteger(spec.every) || spec.every < 1) {
    return `the probe's interval must be a whole number of updates (1 or more), not ${spec.every}`;
  }
  if (spec.every > numUpdates) {
    const runs = `the run has ${numUpdates} updates; choose ${numUpdates} or fewer`;
    return `a probe every ${spec.every} updates never runs: ${runs}`;
  }
  if (!Number.isInteger(spec.seed)) return `the probe's seed must be a whole number, not ${spec.seed}`;
  return null;
}

/** Whether the probe runs after update `update` (1-based): after updates every, 2 every, 3 every, ... */
export function probeDue(update: number, every: number): boolean {
  return update > 0 && update % every === 0;
}

/** A probe ready to score: its spec as the run's meta keeps it, and its questions. */
export interface LoadedProbe {
  meta: ProbeMeta;
  questions: Question[];
}

/**
 * The probe's questions: the benchmark read from `data` (every row checked), then the fixed sample. Throws an
 * Error whose message says what is missing or wrong and what to do.
 */
export async function loadProbe(
  spec: ProbeSpec,
  data: CapabilityData,
  options: { store: DatasetStore; fetchImpl?: typeof fetch; signal?: AbortSignal },
): Promise<LoadedProbe> {
  const { title } = benchmark(spec.bench);
  if (data.kind === 'files' && data.files.length === 0) {
    throw new Error(
      `the probe needs the ${title} file: pick it in the Capability check card (or choose the hub there), ` +
        'or turn the probe off',
    );
  }
  let all: Question[];
  try {
    all = await readBenchmark(spec.bench, undefined, data, options);
  } catch (error) {
    throw new Error(`the probe's benchmark ${title} could not be read: ${describeError(error)}`, {
      cause: error,
    });
  }
  if (all.length < spec.size) {
    throw new Error(`the probe asks for ${spec.size} questions; ${title} has ${all.length}: ask for fewer`);
  }
  const source = data.kind === 'files' ? { kind: 'files' as const } : { kind: 'hub' as const, endpoint: data.endpoint };
  const { bench, size, every, seed } = spec;
  return { meta: { bench, size, every, seed, title, source }, questions: sampleQuestions(all, size, seed) };
}

/** One probe: the questions scored with `adapter` beside the base model, each engine call in the GPU queue. */
export async function scoreProbe(
  probe: LoadedProbe,
  model: ProbeModel,
  adapter: LoraHandle | null,
): Promise<ProbeResult> {
  const started = performance.now();
  const { tokenizer, contextWindow, scorer, release } = await model.paired(adapter);
  try {
    const queued: PairedScorer = (requests) => model.exclusive(() => scorer(requests));
    const results = await evaluateQuestions(
      probe.questions,
      tokenizer,
      { paired: queued },
      {
        contextWindow,
        questionsPerPass: QUESTIONS_PER_PASS,
      },
    );
    const { bench } = probe.meta;
    const summary = summarize(bench, results, benchmark(bench).metrics);
    const base = summary.base!;
    return {
      bench,
      n: summary.n,
      acc: summary.model.acc.mean,
      accNorm: summary.model.accNorm?.mean ?? null,
      baseAcc: base.acc.mean,
      baseAccNorm: base.accNorm?.mean ?? null,
      meanKl: summary.meanKl,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    release();
  }
}
