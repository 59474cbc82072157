/**
 * The typed RPC surface of the playground worker (environment + LLM engine). Everything here is plain,
 * structured-cloneable data: the UI never holds an Env or an engine, only what the worker reports.
 *
 * Flow: reset()/step() reply at once with the new state and its `stepId`; the worker then scores that
 * state's actions on the GPU in the background, and scores(stepId) resolves when they are ready. The page
 * never waits on the GPU to show a state. policyStep() picks the action in the worker (seeded sampling or
 * argmax, from the scores it holds) and steps, so no scores or tensors cross threads for a decision.
 */
import type { Observation, RenderDescription, StepResult, TaskId } from '../envs/types';

import type { Normalization } from '../rl/policy';
import type { WebLlmBackend } from '../llm/model/cache-source';
import type { CatalogRecord } from '../llm/model/catalog';
import type { AdapterFacts } from '../llm/model/fit-check';
import type { LoraAdapter } from '../llm/train/lora';
import type { AdapterWeights } from '../share/adapter';
import type { AdapterView } from './adapter-slot';
import type { TrainingApi } from './training-protocol';

export type { AdapterView };

/** The three TWOSOME policies (spec section 1): softmax of summed, per-token and per-word log-probs. */
export type { Normalization };

/** What the UI needs after any call: the prompt and actions to offer, and what to draw. */
export interface EnvView {
  taskId: TaskId;
  seed: number;
  observation: Observation;
  render: RenderDescription;
  done: boolean;
  /** Identifies this state (unique per worker); scores(stepId) refers to it. */
  stepId: number;
}

/** A reset has no step result; a step has one. */
export interface ResetReply extends EnvView {
  result: null;
}

export interface StepReply extends EnvView {
  result: StepResult;
}

/** How an action was chosen: by the user, sampled from the policy, or its argmax. */
export type PolicyMode = 'sample' | 'greedy';

export interface PolicyStepReply extends StepReply {
  choice: { mode: PolicyMode; norm: Normalization; index: number; prob: number };
}

/** One offered action as the model scored it. */
export interface ActionScoreView {
  text: string;
  /** Summed log-prob of the action's tokens after the prompt. */
  logprob: number;
  nTokens: number;
  nWords: number;
}

export interface ScoresView {
  stepId: number;
  modelId: string;
  actions: ActionScoreView[];
  /** Probabilities per normalization, in the order of the offered actions. */
  policy: Record<Normalization, number[]>;
  /** BOS + prompt tokens. */
  promptTokens: number;
  /** Wall time of this scoring call in the worker (tokenize, forward on the GPU, read back). */
  ms: number;
  /** The label of the LoRA adapter these scores were made with; absent: the frozen model. */
  lora?: string;
  /** That adapter's AdapterView.version (it changes with every swap, also under the same label). */
  loraVersion?: number;
}

export type ScoresReply =
  | { status: 'ok'; scores: ScoresView }
  /** No model can run here (no WebGPU), or none is loaded. */
  | { status: 'unavailable'; reason: string }
  | { status: 'error'; message: string }
  /** The state asked about is no longer the current one (a later reset or step happened). */
  | { status: 'stale' };

/** Where a model's files are read from: over HTTP(S) (the built-in model), the browser cache, or a picked folder. */
export type ModelSourceKind = 'url' | 'cache' | 'files';

/** A file of a picked folder, with its path inside the pick (a cloned File loses webkitRelativePath). */
export interface PickedFileSpec {
  path: string;
  file: File;
}

/** A model the worker can load: an id (the URL's `model=`) and the absolute URL of its MLC directory. */
export interface ModelSpec {
  id: string;
  label: string;
  url: string;
  /** Default 'url'. 'cache': `url` is the base URL its files are cached under (web-llm's keys). */
  source?: ModelSourceKind;
  /** source 'files': the picked folder's files. */
  files?: PickedFileSpec[];
}

export interface ModelInfo {
  id: string;
  label: string;
  layers: number;
  hidden: number;
  vocabSize: number;
  contextWindow: number;
  quantization: string;
  /** Bytes of weights read. */
  bytes: number;
  /** Load time: fetch, upload, tokenizer and a warm-up scoring call (compiles the pipelines). */
  loadMs: number;
  /** The adapter is a software rasterizer (SwiftShader): timings say nothing about GPUs. */
  software: boolean;
  adapter: string;
}

export type ModelStatus =
  | { status: 'none' }
  | { status: 'loading'; id: string; label: string; bytesDone: number; bytes: number }
  | { status: 'ready'; info: ModelInfo }
  | { status: 'unavailable'; id: string; reason: string }
  | { status: 'error'; id: string; message: string };

/** The environment and model methods, and training's (training-protocol.ts). */
export interface EnvWorkerApi extends TrainingApi {
  /** Creates (or reuses) the task's environment, starts an episode with `seed` and re-seeds the policy RNG. */
  reset(taskId: TaskId, seed: number): ResetReply;
  /** Takes the offered action at `index` (an index into the latest observation's actions). */
  step(index: number): StepReply;
  /** Scores of state `stepId` under the loaded model (waits for scoring, and for a model still loading). */
  scores(stepId: number): Promise<ScoresReply>;
  /**
   * Chooses an action of the current state `stepId` from its scores (`sample`: the worker's seeded RNG;
   * `greedy`: argmax) under `norm`, and takes it. Rejects when `stepId` is not current or no scores exist.
   */
  policyStep(stepId: number, mode: PolicyMode, norm: Normalization): Promise<PolicyStepReply>;
  /** Loads a model (replacing the current one); `onStatus` hears progress. Resolves with the final status. */
  loadModel(spec: ModelSpec, onStatus?: (status: ModelStatus) => void): Promise<ModelStatus>;
  /**
   * Scores use this LoRA adapter (null: the frozen model) once it resolves; checked against the loaded model
   * first (rejects with what is wrong, changing nothing). The current state is re-scored.
   */
  setAdapter(adapter: LoraAdapter | null, label: string): Promise<void>;
  /** Like setAdapter for decoded model-free weights; `baseModel` (a file's) must name the loaded model. */
  loadAdapterWeights(weights: AdapterWeights, label: string, baseModel?: string | null, warnings?: string[]): Promise<AdapterView>;
  /** The adapter in use (a copy), or null. */
  currentAdapter(): { adapter: LoraAdapter; label: string } | null;
  adapterInfo(): AdapterView | null;
  /** The current state's policies with `weights` in place of the adapter in use, changing nothing. */
  probeAdapter(stepId: number, weights: AdapterWeights | null): Promise<Record<Normalization, number[]>>;
}

// ---------------------------------------------------------------------------------------------------------
// Model management (the models worker): the catalog, cached models, downloads into web-llm's caches, deletion,
// the adapter.

/** A model found in the browser cache (web-llm's caches), as the Model panel shows it. */
export interface CachedModelView {
  baseUrl: string;
  /** The web-llm cache backend holding it. */
  backend: WebLlmBackend;
  /** web-llm's own hasModelInCache (undefined where web-llm cannot address the URL). */
  webllmHasModel: boolean | undefined;
  /** Catalog ids whose files these are. */
  ids: string[];
  complete: boolean;
  bytes: number;
  totalBytes: number | undefined;
  shardsCached: number;
  shardsTotal: number;
}

export type CacheListReply = { status: 'ok'; models: CachedModelView[] } | { status: 'unavailable'; reason: string };

/** The catalog: web-llm's Llama records (llm/catalog.ts), loaded with web-llm in the models worker. */
export type CatalogReply = { status: 'ok'; records: CatalogRecord[] } | { status: 'unavailable'; reason: string };

/** The WebGPU adapter as the workers see it (for the fit check: AdapterFacts). */
export type AdapterReply = ({ status: 'ok'; description: string } & AdapterFacts) | { status: 'missing'; reason: string };

export interface DownloadProgressView {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface DownloadOptionsView {
  maxBytes?: number;
  backend?: WebLlmBackend;
}

export type DownloadReply =
  | { status: 'done'; baseUrl: string; bytesTotal: number; bytesFetched: number; files: number }
  | { status: 'cancelled'; baseUrl: string }
  | { status: 'error'; baseUrl: string; message: string };

export interface ModelsWorkerApi {
  adapter(): Promise<AdapterReply>;
  catalog(): Promise<CatalogReply>;
  listCached(): Promise<CacheListReply>;
  /** Downloads the MLC model at `baseUrl` into web-llm's cache (`backend`, default the Cache API; files there are kept). */
  download(baseUrl: string, options: DownloadOptionsView, onProgress?: (progress: DownloadProgressView) => void): Promise<DownloadReply>;
  /** Stops the download of `baseUrl` (it resolves 'cancelled'); completed files stay cached. */
  cancel(baseUrl: string): void;
  /** Deletes every cached file of the model; resolves with the number of entries deleted. */
  deleteCached(baseUrl: string): Promise<number>;
}
