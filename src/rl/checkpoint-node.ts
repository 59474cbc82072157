/**
 * Checkpoints in a run directory (Node): `checkpoint.bin` holds the structured-clone serialization (node:v8) of
 * the checkpoint object, written to a temporary file and renamed, so a crash never leaves half a checkpoint.
 *
 * Reading treats the file as untrusted: it must be a regular file of at most MAX_CHECKPOINT_BYTES (checked
 * before it is read), and it is deserialized in a worker thread with a bounded heap, because a damaged or
 * crafted file can describe hundreds of millions of objects in a few hundred megabytes and v8's deserializer
 * has no limit of its own: the worker runs out of memory, not the process. Then checkCheckpoint validates it.
 */
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { FileReadError, readFileBoundedSync } from '../util/read-file-node';
import { checkCheckpoint, CheckpointError, type Checkpoint } from './checkpoint';

export const CHECKPOINT_FILE = 'checkpoint.bin';
/**
 * A checkpoint holds the LoRA adapter and its two Adam moments: the paper's 7B q,v r = 8 run needs 50 MB, an
 * all-target r = 16 adapter of a 13B model 750 MB.
 */
export const MAX_CHECKPOINT_BYTES = 1024 * 1024 * 1024;
/** Heap of the deserializing worker: typed arrays live outside it; a real checkpoint's objects need a few MB. */
const DESERIALIZE_HEAP_MB = 512;

/** Writes `dir/checkpoint.bin` atomically. */
export function saveCheckpoint(dir: string, checkpoint: Checkpoint): void {
  const path = join(dir, CHECKPOINT_FILE);
  writeFileAtomic(path, serialize(checkpoint));
}

// Runs in the worker (plain JavaScript): deserialize, then send the value back with its buffers transferred.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { deserialize } = require('node:v8');
function send() {
  let value;
  try {
    value = deserialize(workerData);
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
    return;
  }
  const buffers = new Set();
  const seen = new Set();
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) buffers.add(v.buffer);
      continue;
    }
    for (const key of Object.keys(v)) stack.push(v[key]);
  }
  parentPort.postMessage({ value }, [...buffers]);
}
send();
`;

/** v8.deserialize in a worker whose heap is bounded; resolves to the value or rejects with a one-line reason. */
function deserializeBounded(bytes: Uint8Array, heapMb: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: bytes,
      transferList: [bytes.buffer as ArrayBuffer],
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    let settled = false;
    worker.once('message', (message: { value?: unknown; error?: string }) => {
      settled = true;
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.value);
      void worker.terminate();
    });
    worker.once('error', (error: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      const outOfMemory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      reject(new Error(outOfMemory ? `it describes more objects than ${heapMb} MiB hold` : error.message));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the reader stopped (exit code ${code})`));
    });
  });
}

/** Reads `dir/checkpoint.bin`; throws a one-line CheckpointError if it is missing, too large, or not a checkpoint. */
export async function loadCheckpoint(dir: string, options: { heapMb?: number } = {}): Promise<Checkpoint> {
  const path = join(dir, CHECKPOINT_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = readFileBoundedSync(path, { maxBytes: MAX_CHECKPOINT_BYTES, what: 'a checkpoint', missingOk: true });
  } catch (error) {
    if (error instanceof FileReadError) throw new CheckpointError(error.message);
    throw error;
  }
  if (!bytes) throw new CheckpointError(`${path}: no checkpoint (is ${dir} a run directory?)`);
  let value: unknown;
  try {
    value = await deserializeBounded(bytes, options.heapMb ?? DESERIALIZE_HEAP_MB);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0].slice(0, 200);
    throw new CheckpointError(`${path}: unreadable (not a checkpoint, or damaged: ${reason})`);
  }
  return checkCheckpoint(value, path);
}

export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}${TMP_MARK}${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const TMP_MARK = '.tmp-';

/**
 * Deletes the temporaries writeFileAtomic leaves when a process is killed between writing and renaming
 * (`NAME.tmp-PID`), except those of a process that is still running (another writer of the same directory).
 * Returns the names deleted.
 */
export function removeStaleTemporaries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const match = /\.tmp-(\d+)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && isRunning(pid)) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
