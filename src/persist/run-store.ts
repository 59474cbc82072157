/**
 * Training runs in IndexedDB (the `idb` wrapper), written by the worker after every update and read back to
 * resume a run after a reload. Three object stores:
 *
 *   runs         RunMeta by id
 *   metrics      one TrainMetrics per update, key [runId, update]
 *   checkpoints  the latest Checkpoint of each run (structured clone as is: typed arrays stay typed arrays)
 *
 * `saveUpdate` writes all three in ONE readwrite transaction, so a tab closed mid-write leaves either the old
 * update or the new one, never a run whose meta, metrics and checkpoint disagree. Nothing is ever deleted
 * except by `deleteRun` (the user's Delete).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Checkpoint } from '../rl/checkpoint';
import type { RunMeta, TrainMetrics } from '../worker/training-protocol';

/** What the trainer host needs from storage (IndexedDB here; a Map in tests if wanted). */
export interface RunStore {
  listRuns(): Promise<RunMeta[]>;
  getRun(id: string): Promise<RunMeta | undefined>;
  putRun(meta: RunMeta): Promise<void>;
  /** Meta, this update's metrics and the checkpoint after it, atomically. */
  saveUpdate(meta: RunMeta, metrics: TrainMetrics, checkpoint: Checkpoint | null): Promise<void>;
  /** Metrics of updates 1..upTo (all when upTo is undefined), in update order. */
  getMetrics(id: string, upTo?: number): Promise<TrainMetrics[]>;
  /** The stored checkpoint as read back (unchecked: the caller validates it). */
  getCheckpoint(id: string): Promise<unknown>;
  deleteRun(id: string): Promise<void>;
}

interface RunsSchema extends DBSchema {
  runs: { key: string; value: RunMeta };
  metrics: { key: [string, number]; value: { runId: string; update: number; metrics: TrainMetrics } };
  checkpoints: { key: string; value: { runId: string; checkpoint: Checkpoint } };
}

export const RUNS_DB_NAME = 'twosome-web-runs';
const DB_VERSION = 1;

export class IdbRunStore implements RunStore {
  private constructor(private readonly db: IDBPDatabase<RunsSchema>) {}

  /** Opens (creating on first use) the runs database (tests load fake-indexeddb/auto first). */
  static async open(name = RUNS_DB_NAME): Promise<IdbRunStore> {
    if (typeof indexedDB === 'undefined')
      throw new Error('this browser has no IndexedDB (private mode?): runs cannot be saved');
    const db = await openDB<RunsSchema>(name, DB_VERSION, {
      upgrade(db) {
        db.createObjectStore('runs', { keyPath: 'id' });
        db.createObjectStore('metrics', { keyPath: ['runId', 'update'] });
        db.createObjectStore('checkpoints', { keyPath: 'runId' });
      },
    });
    return new IdbRunStore(db);
  }

  async listRuns(): Promise<RunMeta[]> {
    const runs = await this.db.getAll('runs');
    return runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  getRun(id: string): Promise<RunMeta | undefined> {
    return this.db.get('runs', id);
  }

  async putRun(meta: RunMeta): Promise<void> {
    await this.db.put('runs', meta);
  }

  async saveUpdate(meta: RunMeta, metrics: TrainMetrics, checkpoint: Checkpoint | null): Promise<void> {
    const tx = this.db.transaction(['runs', 'metrics', 'checkpoints'], 'readwrite');
    const done = tx.done;
    done.catch(() => {}); // observed below; an abort must not surface as an unhandled rejection
    const writes: Promise<unknown>[] = [];
    try {
      // Requests are queued in order without awaiting each (awaiting something else would let the transaction
      // auto-commit early); `done` resolves once all are committed.
      writes.push(tx.objectStore('runs').put(meta));
      writes.push(tx.objectStore('metrics').put({ runId: meta.id, update: metrics.update, metrics }));
      // A value that cannot be cloned throws synchronously here, after the puts above were queued: abort, so
      // they are rolled back with it.
      if (checkpoint) writes.push(tx.objectStore('checkpoints').put({ runId: meta.id, checkpoint }));
      await Promise.all([...writes, done]);
    } catch (error) {
      // The queued requests fail with the abort; that is this error, reported once.
      for (const w of writes) w.catch(() => {});
      // A transaction that failed by itself says why in tx.error (QuotaExceededError at commit), where a
      // request's error may only say that it was aborted.
      const cause = tx.error ?? error;
      try {
        tx.abort();
      } catch {
        // already finished (it failed by itself)
      }
      throw cause;
    }
  }

  async getMetrics(id: string, upTo?: number): Promise<TrainMetrics[]> {
    const range = IDBKeyRange.bound([id, -Infinity], [id, upTo ?? Infinity]);
    const rows = await this.db.getAll('metrics', range);
    return rows.map((r) => r.metrics);
  }

  async getCheckpoint(id: string): Promise<unknown> {
    const row = await this.db.get('checkpoints', id);
    return row?.checkpoint;
  }

  async deleteRun(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'metrics', 'checkpoints'], 'readwrite');
    await Promise.all([
      tx.objectStore('runs').delete(id),
      tx.objectStore('metrics').delete(IDBKeyRange.bound([id, -Infinity], [id, Infinity])),
      tx.objectStore('checkpoints').delete(id),
      tx.done,
    ]);
  }

  close(): void {
    this.db.close();
  }
}
