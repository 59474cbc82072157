/**
 * The data the agent and models parts of the worker API (api.ts) send and receive. Everything here is plain,
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
import type { AdapterView } from './adapter-slot';

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
  /** source 'url': a request that receives no bytes for this long is abandoned (the page's setting; default 30 s). */
  idleTimeoutMs?: number;
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
export type AdapterReply =
  ({ status: 'ok'; description: string } & AdapterFacts) | { status: 'missing'; reason: string };

export interface DownloadProgressView {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface DownloadOptionsView {
  maxBytes?: number;
  backend?: WebLlmBackend;
  /** An attempt that receives no bytes for this long is abandoned and retried (the page's setting; default 30 s). */
  idleTimeoutMs?: number;
}

export type DownloadReply =
  | { status: 'done'; baseUrl: string; bytesTotal: number; bytesFetched: number; files: number }
  | { status: 'cancelled'; baseUrl: string }
  | { status: 'error'; baseUrl: string; message: string };
