/**
 * What crosses the worker boundary for the capability check (CapabilityApi, api.ts): plain data only.
 */
import type { Accuracy } from '../nlp-eval';

/** Where the benchmarks come from. */
export type CapabilityData =
  /** Files picked in the page: each with its path inside a picked folder ("folder/piqa/valid.jsonl"), or "". */
  | { kind: 'files'; files: { path: string; file: File }[] }
  /** Downloaded from the Hugging Face hub (`endpoint`: a mirror laid out like it; null: huggingface.co). */
  | { kind: 'hub'; endpoint: string | null };

export interface CapabilityRequest {
  /** Benchmark ids (nlp-eval's BENCH_IDS: arc-easy, piqa, mmlu-anatomy, ...). */
  benches: string[];
  /** The first `limit` questions of each (of each subject for "mmlu"), as the harness's --limit. */
  limit: number;
  data: CapabilityData;
}

export type CapabilityEvent =
  | { type: 'download'; bench: string; bytesDone: number; bytesTotal: number; filesDone: number; filesTotal: number }
  | { type: 'scoring'; bench: string; done: number; total: number };

/** A question the base model and the adapter answer differently (by acc: the likeliest choice). */
export interface Disagreement {
  index: number;
  /** The question's context as the model reads it (the first choice's, for WinoGrande). */
  context: string;
  choices: string[];
  gold: number;
  base: number;
  adapted: number;
}

export interface CapabilityBenchResult {
  bench: string;
  title: string;
  n: number;
  base: Accuracy;
  /** Null when no adapter was in use. */
  adapted: Accuracy | null;
  /** Adapted - base, paired per question. */
  difference: Accuracy | null;
  /** Mean KL(base || adapted) per scored token; null until the engine computes it (nlp-eval/evaluate.ts). */
  meanKl: number | null;
  /** Questions the two answer differently: how many, and the first few. */
  disagreeing: number;
  disagreements: Disagreement[];
}

export type CapabilityReply =
  | {
      status: 'done';
      modelId: string;
      /** The adapter scored beside the base model (as it was when the check started), or null. */
      adapter: string | null;
      results: CapabilityBenchResult[];
      ms: number;
    }
  | { status: 'cancelled' }
  | { status: 'error'; message: string };
