/**
 * Main-thread side of the environment worker: a small promise API over Comlink that also turns a worker
 * that failed to load or crashed into rejected calls instead of calls that hang forever.
 */
import * as Comlink from 'comlink';
import type { TaskId } from '../envs/types';
import type { EnvWorkerApi, ResetReply, StepReply } from './protocol';

export interface EnvClient {
  reset(taskId: TaskId, seed: number): Promise<ResetReply>;
  step(index: number): Promise<StepReply>;
  dispose(): void;
}

export function createWorkerEnvClient(): EnvClient {
  const worker = new Worker(new URL('./env.worker.ts', import.meta.url), { type: 'module', name: 'env' });
  const remote = Comlink.wrap<EnvWorkerApi>(worker);

  let fail: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {}); // observed through race() below
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(new Error(`the environment worker failed: ${event.message || 'it could not be loaded'}`));
  });
  worker.addEventListener('messageerror', () => fail(new Error('the environment worker sent a message that could not be read')));

  const call = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, failed]);

  return {
    reset: (taskId, seed) => call(remote.reset(taskId, seed)),
    step: (index) => call(remote.step(index)),
    dispose: () => {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
