/**
 * Checkpoints in a run directory (Node): `checkpoint.bin` holds the structured-clone serialization (node:v8) of
 * the checkpoint object, written to a temporary file and renamed, so a crash never leaves half a checkpoint.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { checkCheckpoint, type Checkpoint } from './checkpoint';

export const CHECKPOINT_FILE = 'checkpoint.bin';

/** Writes `dir/checkpoint.bin` atomically. */
export function saveCheckpoint(dir: string, checkpoint: Checkpoint): void {
  const path = join(dir, CHECKPOINT_FILE);
  writeFileAtomic(path, serialize(checkpoint));
}

/** Reads `dir/checkpoint.bin`; throws a one-line message if it is missing or not a checkpoint. */
export function loadCheckpoint(dir: string): Checkpoint {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new Error(`${path}: no checkpoint (is ${dir} a run directory?)`);
  let value: unknown;
  try {
    value = deserialize(readFileSync(path));
  } catch {
    throw new Error(`${path}: unreadable (not a checkpoint, or damaged)`);
  }
  return checkCheckpoint(value, path);
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
