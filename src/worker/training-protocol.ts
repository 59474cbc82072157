/**
 * The data of the training part of the playground worker's API (api.ts): what the page sends to start, pause,
 * resume or stop a run, and what the worker reports back. Plain structured-cloneable data only (it crosses
 * threads through Comlink and goes into IndexedDB as it is).
 */
import type { TaskId } from '../envs/types';
import { PRESETS, type Preset } from '../rl/config';
import type { UpdateMetrics } from '../rl/rollout';
import type { TwosomeUpdateMetrics } from '../rl/twosome-trainer';
import type { CapabilityData } from './capability-protocol';

export const TRAIN_ALGOS = ['twosome', 'ppo-mlp', 'saycan'] as const;
export type TrainAlgo = (typeof TRAIN_ALGOS)[number];
/** The presets of src/rl/config.ts (the one builder the worker and the CLI share). */
export const TRAIN_PRESETS = PRESETS;
export type TrainPreset = Preset;

/** Whether an algorithm runs the playground's language model (and so needs WebGPU and a loaded model). */
export const ALGO_NEEDS_MODEL: Record<TrainAlgo, boolean> = { twosome: true, 'ppo-mlp': false, saycan: true };

/** A labelled algorithm for the UI and chart legends. */
export const ALGO_LABELS: Record<TrainAlgo, string> = { twosome: 'TWOSOME', 'ppo-mlp': 'PPO-MLP', saycan: 'SayCan' };

export interface TrainRequest {
  algo: TrainAlgo;
  taskId: TaskId;
  preset: TrainPreset;
  seed: number;
  /** Total env steps (overrides the preset's). */
  steps?: number;
  /** SayCan: evaluation episodes (default 10). */
  episodes?: number;
  /** TWOSOME: a probe of the model's general abilities during the run, and where its benchmark comes from. */
  probe?: ProbeSpec & { data: CapabilityData };
}

/**
 * The training probe (issue 15): a fixed sample of a benchmark (`size` questions chosen by `seed`,
 * nlp-eval's sampleQuestions) scored with the run's adapter, base model beside it, after every `every` updates.
 */
export interface ProbeSpec {
  /** A benchmark id of nlp-eval (arc-easy, piqa, mmlu-anatomy, ...). */
  bench: string;
  size: number;
  every: number;
  seed: number;
}

/** Most questions in a probe: it runs between updates, so it stays small (a bigger check is the card's). */
export const MAX_PROBE_SIZE = 200;

/** A run's probe as its meta keeps it: the spec, the benchmark's title, and where the data came from. */
export interface ProbeMeta extends ProbeSpec {
  title: string;
  /** Picked files (read again only from files picked in the same tab) or the hub (`endpoint`; null: huggingface.co). */
  source: { kind: 'files' } | { kind: 'hub'; endpoint: string | null };
}

/**
 * One probe: accuracy of the adapter and of the base model on the same questions (paired, from one engine pass
 * per batch of questions), and the mean KL(base || adapted) per scored token, as the capability check reports
 * them (acc_norm null where the benchmark's harness task does not report it).
 */
export interface ProbeResult {
  bench: string;
  n: number;
  acc: number;
  accNorm: number | null;
  baseAcc: number;
  baseAccNorm: number | null;
  meanKl: number | null;
  /** Wall time of the probe (not in the update's timing). */
  seconds: number;
}

/**
 * One update's metrics as the UI and the store keep them: PPO's (both trainers) and, for TWOSOME, tokens/s and
 * GPU memory, and the probe's result after the updates it runs after. SayCan has one record with update 0 (its
 * greedy evaluation of the frozen model).
 */
export type TrainMetrics = UpdateMetrics & Partial<TwosomeUpdateMetrics> & { probe?: ProbeResult };

/**
 * running: updates are being made; paused: stopped between updates, resumable; stopped: ended by the user
 * (kept, still resumable from its checkpoint); done: every update made; error: an update failed (kept, its last
 * checkpoint is the one before the failure).
 */
export type RunStatus = 'running' | 'paused' | 'stopped' | 'done' | 'error';

export interface RunMeta {
  id: string;
  algo: TrainAlgo;
  taskId: TaskId;
  /** The model id for TWOSOME and SayCan; null for PPO-MLP (no LLM). */
  modelId: string | null;
  preset: TrainPreset;
  seed: number;
  /** ISO time. */
  startedAt: string;
  /** Updates completed (and checkpointed). */
  updates: number;
  numUpdates: number;
  globalStep: number;
  status: RunStatus;
  /** Why an update failed (status 'error'). */
  message?: string;
  /** The run's probe (TWOSOME, when one was asked for); its results are in the metrics. */
  probe?: ProbeMeta;
}

/**
 * A run is worth offering to resume: it has updates left and a checkpoint to continue from (one saved update at
 * least). A run that failed (the GPU lost, storage full) is one too: it continues from its last saved update.
 */
export function isResumable(meta: RunMeta): boolean {
  return meta.algo !== 'saycan' && meta.updates > 0 && meta.updates < meta.numUpdates && meta.status !== 'done';
}

export type TrainEvent =
  | { type: 'status'; run: RunMeta }
  | { type: 'update'; run: RunMeta; metrics: TrainMetrics }
  | { type: 'error'; run: RunMeta | null; message: string };

export type TrainReply = { status: 'ok'; run: RunMeta; metrics: TrainMetrics[] } | { status: 'error'; message: string };

export interface EvalRow {
  taskId: TaskId;
  /** The task the evaluated run trained on (false for every task of the frozen model, which trained on none). */
  seen: boolean;
  episodes: number;
  greedy: boolean;
  successRate: number;
  meanReturn: number;
  meanLength: number;
}

export type EvalReply =
  | { status: 'ok'; runId: string | null; rows: EvalRow[]; skipped: { taskId: TaskId; reason: string }[] }
  | { status: 'error'; message: string };

export interface StorageView {
  /** navigator.storage.estimate(), when the browser has it. */
  usage: number | null;
  quota: number | null;
  runs: RunMeta[];
}

export type StorageReply = { status: 'ok'; storage: StorageView } | { status: 'unavailable'; reason: string };

export type CriticValueReply = { status: 'ok'; value: number; runId: string } | { status: 'none'; reason: string };

/**
 * The expected time of a run before it starts: seconds per update times its updates, at a measured rate: that
 * of the latest stored run of the same algorithm, task, preset and model in this browser (`run`: its id and
 * start), or else measured just now on the loaded model (TWOSOME: one call of each kind of an update; PPO-MLP:
 * one update; `parts` says what was timed).
 */
export type EstimateReply =
  | {
      status: 'ok';
      secondsPerUpdate: number;
      numUpdates: number;
      source: { kind: 'run'; runId: string; startedAt: string } | { kind: 'measured'; parts: string | null };
    }
  | { status: 'unavailable'; reason: string };

export type DeleteRunReply = { status: 'ok' } | { status: 'error'; message: string };
