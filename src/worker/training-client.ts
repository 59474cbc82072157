/**
 * Main-thread side of the worker's training methods: promise calls, progress callbacks wrapped as Comlink
 * proxies (the worker releases them once it stops reporting to them).
 */
import * as Comlink from 'comlink';
import type { TaskId } from '../envs/types';
import type { CriticValueReply, EvalReply, StorageReply, TrainEvent, TrainingApi, TrainReply, TrainRequest } from './training-protocol';

export interface TrainingClient {
  start(request: TrainRequest, onEvent: (event: TrainEvent) => void): Promise<TrainReply>;
  pause(): Promise<TrainReply>;
  resume(runId: string | null, onEvent: (event: TrainEvent) => void): Promise<TrainReply>;
  stop(): Promise<TrainReply>;
  step(): Promise<TrainReply>;
  evaluate(tasks: TaskId[], episodes: number, greedy: boolean): Promise<EvalReply>;
  storage(): Promise<StorageReply>;
  runMetrics(runId: string): Promise<TrainReply>;
  deleteRun(runId: string): Promise<{ status: 'ok' } | { status: 'error'; message: string }>;
  criticValue(stepId: number): Promise<CriticValueReply>;
}

/** `call` races each call against the worker failing (client.ts). */
export function trainingClient(remote: Comlink.Remote<TrainingApi>, call: <T>(promise: Promise<T>) => Promise<T>): TrainingClient {
  // Comlink's Remote<> type spreads a union reply over its members; the value is the union itself.
  return {
    start: (request, onEvent) => call(remote.trainStart(request, Comlink.proxy(onEvent)) as Promise<TrainReply>),
    pause: () => call(remote.trainPause() as Promise<TrainReply>),
    resume: (runId, onEvent) => call(remote.trainResume(runId, Comlink.proxy(onEvent)) as Promise<TrainReply>),
    stop: () => call(remote.trainStop() as Promise<TrainReply>),
    step: () => call(remote.trainStep() as Promise<TrainReply>),
    evaluate: (tasks, episodes, greedy) => call(remote.trainEvaluate(tasks, episodes, greedy) as Promise<EvalReply>),
    storage: () => call(remote.trainStorage() as Promise<StorageReply>),
    runMetrics: (runId) => call(remote.trainRunMetrics(runId) as Promise<TrainReply>),
    deleteRun: (runId) => call(remote.trainDelete(runId) as Promise<{ status: 'ok' } | { status: 'error'; message: string }>),
    criticValue: (stepId) => call(remote.criticValue(stepId) as Promise<CriticValueReply>),
  };
}
