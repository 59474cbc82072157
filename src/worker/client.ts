/**
 * Main-thread side of the playground worker: a small promise API over Comlink that also turns a worker
 * that failed to load or crashed into rejected calls instead of calls that hang forever.
 */
import * as Comlink from 'comlink';
import type { TaskId } from '../envs/types';
import type { LoraAdapter } from '../llm/train/lora';
import type { AdapterWeights } from '../share/adapter';
import type {
  AdapterReply,
  AdapterView,
  CacheListReply,
  CatalogReply,
  DownloadOptionsView,
  DownloadProgressView,
  DownloadReply,
  EnvWorkerApi,
  ModelsWorkerApi,
  ModelSpec,
  ModelStatus,
  Normalization,
  PolicyMode,
  PolicyStepReply,
  ResetReply,
  ScoresReply,
  StepReply,
} from './protocol';
import { trainingClient, type TrainingClient } from './training-client';

export interface EnvClient {
  reset(taskId: TaskId, seed: number): Promise<ResetReply>;
  step(index: number): Promise<StepReply>;
  scores(stepId: number): Promise<ScoresReply>;
  policyStep(stepId: number, mode: PolicyMode, norm: Normalization): Promise<PolicyStepReply>;
  loadModel(spec: ModelSpec, onStatus?: (status: ModelStatus) => void): Promise<ModelStatus>;
  setAdapter(adapter: LoraAdapter | null, label: string): Promise<void>;
  loadAdapterWeights(weights: AdapterWeights, label: string, baseModel?: string | null, warnings?: string[]): Promise<AdapterView>;
  currentAdapter(): Promise<{ adapter: LoraAdapter; label: string } | null>;
  adapterInfo(): Promise<AdapterView | null>;
  probeAdapter(stepId: number, weights: AdapterWeights | null): Promise<Record<Normalization, number[]>>;
  /** Training in the same worker (absent in tests' in-process clients). */
  training?: TrainingClient;
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
    // Comlink's Remote<> type spreads a union reply over its members; the value is the union itself.
    scores: (stepId) => call(remote.scores(stepId) as Promise<ScoresReply>),
    policyStep: (stepId, mode, norm) => call(remote.policyStep(stepId, mode, norm)),
    // The worker releases its end of the progress callback's channel when loading settles.
    loadModel: (spec, onStatus) => call(remote.loadModel(spec, onStatus ? Comlink.proxy(onStatus) : undefined) as Promise<ModelStatus>),
    setAdapter: (adapter, label) => call(remote.setAdapter(adapter, label)),
    loadAdapterWeights: (weights, label, baseModel, warnings) => call(remote.loadAdapterWeights(weights, label, baseModel, warnings) as Promise<AdapterView>),
    currentAdapter: () => call(remote.currentAdapter() as Promise<{ adapter: LoraAdapter; label: string } | null>),
    adapterInfo: () => call(remote.adapterInfo() as Promise<AdapterView | null>),
    probeAdapter: (stepId, weights) => call(remote.probeAdapter(stepId, weights) as Promise<Record<Normalization, number[]>>),
    training: trainingClient(remote, call),
    dispose: () => {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

/** Main-thread side of the models worker (downloads, the cache, the adapter). */
export interface ModelsClient {
  adapter(): Promise<AdapterReply>;
  catalog(): Promise<CatalogReply>;
  listCached(): Promise<CacheListReply>;
  download(baseUrl: string, options: DownloadOptionsView, onProgress?: (progress: DownloadProgressView) => void): Promise<DownloadReply>;
  cancel(baseUrl: string): Promise<void>;
  deleteCached(baseUrl: string): Promise<number>;
  dispose(): void;
}

export function createModelsClient(): ModelsClient {
  const worker = new Worker(new URL('./models.worker.ts', import.meta.url), { type: 'module', name: 'models' });
  const remote = Comlink.wrap<ModelsWorkerApi>(worker);
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(new Error(`the models worker failed: ${event.message || 'it could not be loaded'}`));
  });
  const call = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, failed]);
  return {
    adapter: () => call(remote.adapter() as Promise<AdapterReply>),
    catalog: () => call(remote.catalog() as Promise<CatalogReply>),
    listCached: () => call(remote.listCached() as Promise<CacheListReply>),
    download: (baseUrl, options, onProgress) =>
      call(remote.download(baseUrl, options, onProgress ? Comlink.proxy(onProgress) : undefined) as Promise<DownloadReply>),
    cancel: (baseUrl) => call(remote.cancel(baseUrl)),
    deleteCached: (baseUrl) => call(remote.deleteCached(baseUrl)),
    dispose: () => {
      remote[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
