/**
 * Training checkpoints as one plain, structured-cloneable object (typed arrays, numbers, strings, arrays and
 * plain objects only): it goes as it is into IndexedDB in the browser, and through the structured-clone
 * serializer (node:v8) into `checkpoint.bin` in a run directory (checkpoint-node.ts).
 */
import type { TaskId } from '../envs/types';
import type { PpoMlpState } from './ppo-mlp';
import type { TwosomeState } from './twosome-trainer';

export const CHECKPOINT_FORMAT = 'twosome-web/checkpoint';
export const CHECKPOINT_VERSION = 1;

/** How the run was started (what `--resume` needs besides the trainer state). */
export interface RunInfo {
  task: TaskId;
  /** The --model argument ('micro', a directory or a URL); null for runs without an LLM. */
  model: string | null;
  preset: string;
  /** Where the LLM ran: 'webgpu' (the engine) or 'cpu' (the reference); absent means webgpu. */
  backend?: string;
  /** Wall-clock ISO time the run started. */
  startedAt: string;
}

export type Checkpoint =
  | { format: typeof CHECKPOINT_FORMAT; version: typeof CHECKPOINT_VERSION; algo: 'twosome'; run: RunInfo; state: TwosomeState }
  | { format: typeof CHECKPOINT_FORMAT; version: typeof CHECKPOINT_VERSION; algo: 'ppo-mlp'; run: RunInfo; state: PpoMlpState };

export function makeCheckpoint(algo: 'twosome', run: RunInfo, state: TwosomeState): Checkpoint;
export function makeCheckpoint(algo: 'ppo-mlp', run: RunInfo, state: PpoMlpState): Checkpoint;
export function makeCheckpoint(algo: 'twosome' | 'ppo-mlp', run: RunInfo, state: TwosomeState | PpoMlpState): Checkpoint {
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, algo, run, state } as Checkpoint;
}

/** Throws a one-line message unless `value` looks like a checkpoint this version reads. */
export function checkCheckpoint(value: unknown, where = 'checkpoint'): Checkpoint {
  const c = value as Partial<Checkpoint> | null;
  if (!c || typeof c !== 'object' || c.format !== CHECKPOINT_FORMAT) throw new Error(`${where} is not a twosome-web checkpoint`);
  if (c.version !== CHECKPOINT_VERSION) throw new Error(`${where} has version ${String(c.version)}; this build reads version ${CHECKPOINT_VERSION}`);
  if (c.algo !== 'twosome' && c.algo !== 'ppo-mlp') throw new Error(`${where} has an unknown algorithm ${JSON.stringify(c.algo)}`);
  if (!c.state || typeof c.state !== 'object' || !c.run) throw new Error(`${where} has no trainer state`);
  return c as Checkpoint;
}
