/**
 * The API of the page's two Web Workers: what the page may call, declared once. Each part is implemented by one
 * host class (`implements`), which runs in the worker and, for tests, in-process; the page calls it through
 * `Calls<...>` (link.ts), the same promise-returning shape for a worker and for an in-process host.
 *
 *   part                       host                          worker             page side (src/state)
 *   PlaygroundApi.agent        AgentHost (agent-host.ts)     env.worker.ts      playground and share slices
 *   PlaygroundApi.training     TrainerHost (trainer-host.ts) env.worker.ts      training slice
 *   PlaygroundApi.capability   CapabilityHost                env.worker.ts      capability slice
 *                              (capability-host.ts)
 *   ModelsApi                  ModelsHost (models-host.ts)   models.worker.ts   models slice
 *
 * To add a method, write it in three places:
 *   1. declare it here, on the part it belongs to (what it does, when it rejects);
 *   2. implement it in that part's host (tsc reports a host that lacks it);
 *   3. call it where the page needs it: `client.myMethod(...)` on the slice's Calls<...> returns a promise.
 * Nothing else: the worker files expose the hosts whole, and link.ts forwards every call by its name.
 *
 * Rules for a method (it crosses threads):
 *   - Arguments and replies are structured-cloneable: plain data, typed arrays, File; no class instances.
 *   - A function argument is a callback: the page's link passes it as a Comlink proxy, and the host calls
 *     releaseCallback(fn) (link.ts) once it will not call it again (a proxy holds a message channel open).
 *   - An expected failure (no model, nothing stored) is a reply with a status, which the page shows; a thrown
 *     error rejects the call with its message. A worker that dies rejects every call with WorkerFailedError;
 *     the page hears it through link.onFailure and can start a fresh worker with link.restart() (link.ts).
 *   - A host method may return a value or a promise: the page always gets a promise.
 * A new part (a third host in a worker): add it as a property of PlaygroundApi (or a new worker's Api) and to
 * the object its worker file exposes; the page reaches it as `link.api.<part>`.
 */
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
  ModelSpec,
  ModelStatus,
  Normalization,
  PolicyMode,
  PolicyStepReply,
  ResetReply,
  ScoresReply,
  StepReply,
} from './protocol';
import type { CapabilityData, CapabilityEvent, CapabilityReply, CapabilityRequest } from './capability-protocol';
import type { AskFreelyReply, GenerationOptions } from './ask-protocol';
import type {
  CriticValueReply,
  DeleteRunReply,
  EstimateReply,
  EvalReply,
  StorageReply,
  TrainEvent,
  TrainReply,
  TrainRequest,
} from './training-protocol';

/** The playground worker (env.worker.ts): the environment and the LLM engine, and training on that engine. */
export interface PlaygroundApi {
  agent: AgentApi;
  training: TrainingApi;
  capability: CapabilityApi;
}

/** The live environment, the loaded model's scores of its states, and the LoRA adapter they are scored with. */
export interface AgentApi {
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
  /**
   * Loads a model (replacing the current one; a TWOSOME run on the old one pauses first); `onStatus` hears
   * progress. Resolves with the final status.
   */
  loadModel(spec: ModelSpec, onStatus?: (status: ModelStatus) => void): Promise<ModelStatus>;
  /**
   * Scores use this LoRA adapter (null: the frozen model) once it resolves; checked against the loaded model
   * first (rejects with what is wrong, changing nothing). The current state is re-scored.
   */
  setAdapter(adapter: LoraAdapter | null, label: string): Promise<void>;
  /**
   * Like setAdapter for decoded model-free weights; `baseModel` (a file's) must name the loaded model, and so
   * must `forModel`, the model id a share link or bundle was made for (rejects otherwise, changing nothing).
   */
  loadAdapterWeights(
    weights: AdapterWeights,
    label: string,
    baseModel?: string | null,
    warnings?: string[],
    forModel?: string,
  ): Promise<AdapterView>;
  /** The adapter in use (a copy), or null. */
  currentAdapter(): { adapter: LoraAdapter; label: string } | null;
  adapterInfo(): AdapterView | null;
  /** The current state's policies with `weights` in place of the adapter in use, changing nothing. */
  probeAdapter(stepId: number, weights: AdapterWeights | null): Promise<Record<Normalization, number[]>>;
  /**
   * The current state `stepId`'s prompt continued as free text by the frozen model and, when one is in use, with
   * the adapter (greedy or sampled, to a newline, EOS or `options.maxTokens`), each text matched against the
   * offered actions. Replies 'stale' when the state moved on, 'unavailable' without a model that generates.
   */
  askFreely(stepId: number, options: GenerationOptions): Promise<AskFreelyReply>;
}

/** Training runs in the playground worker, on the agent's loaded model; runs are stored in IndexedDB. */
export interface TrainingApi {
  /** Starts a new run (a run in progress must be stopped or paused first). Resolves once it has begun. */
  start(request: TrainRequest, onEvent?: (event: TrainEvent) => void): Promise<TrainReply>;
  /**
   * The expected time of `request` at a measured rate (EstimateReply), before it starts; measuring runs on the
   * loaded model in the GPU queue (a few calls). Unavailable while a run trains, for SayCan, or without a model.
   */
  estimate(request: TrainRequest): Promise<EstimateReply>;
  /** Stops after the update in progress; resolves when it has stopped (status paused). */
  pause(): Promise<TrainReply>;
  /**
   * Continues the run in memory, or `runId` from its stored checkpoint (after a reload). `probeData`: files
   * picked in the page for a run whose probe reads picked files (a reload loses them; the hub is read again).
   */
  resume(runId: string | null, onEvent?: (event: TrainEvent) => void, probeData?: CapabilityData): Promise<TrainReply>;
  /** Ends the run after the update in progress (kept in storage). */
  stop(): Promise<TrainReply>;
  /** One update of the paused run, then paused again. */
  singleUpdate(): Promise<TrainReply>;
  /** Evaluates the current run's policy (or the frozen model for SayCan) on `tasks`. */
  evaluate(tasks: TaskId[], episodes: number, greedy: boolean): Promise<EvalReply>;
  /** Stored runs, and the browser's storage estimate. */
  storage(): Promise<StorageReply>;
  /** A stored run's metrics (to overlay on the charts). */
  runMetrics(runId: string): Promise<TrainReply>;
  /** Deletes a stored run (not the one in memory while it trains). */
  deleteRun(runId: string): Promise<DeleteRunReply>;
  /** The trained critic's value of the playground's current state `stepId`. */
  criticValue(stepId: number): Promise<CriticValueReply>;
}

/**
 * The capability check (issue 15) on the agent's loaded model: zero-shot benchmarks scored as
 * lm-evaluation-harness scores them, the base model beside the adapter in use, paired.
 */
export interface CapabilityApi {
  /**
   * Reads (picked files) or downloads (the hub, kept in the Cache API) each benchmark, then scores its first
   * `limit` questions with the base model and with the adapter in use (when there is one); `onEvent` hears the
   * download and scoring progress. Resolves 'done' with the results, 'cancelled' after cancel(), or 'error'
   * with a one-line message (a bad file, no model, a failed download). One check at a time.
   */
  run(request: CapabilityRequest, onEvent?: (event: CapabilityEvent) => void): Promise<CapabilityReply>;
  /** Stops the check in progress between engine passes (a download keeps what arrived, to resume). */
  cancel(): void;
}

/** The models worker (models.worker.ts): the catalog, web-llm's caches, downloads, the WebGPU adapter. */
export interface ModelsApi {
  adapter(): Promise<AdapterReply>;
  catalog(): Promise<CatalogReply>;
  listCached(): Promise<CacheListReply>;
  /**
   * Downloads the MLC model at `baseUrl` into web-llm's cache (`backend`, default the Cache API; files there are
   * kept).
   */
  download(
    baseUrl: string,
    options: DownloadOptionsView,
    onProgress?: (progress: DownloadProgressView) => void,
  ): Promise<DownloadReply>;
  /** Stops the download of `baseUrl` (it resolves 'cancelled'); completed files stay cached. */
  cancel(baseUrl: string): void;
  /** Deletes every cached file of the model; resolves with the number of entries deleted. */
  deleteCached(baseUrl: string): Promise<number>;
}

/**
 * An API as the page calls it: every method returns a promise of what the host returns (a value or a promise),
 * parts stay parts. Unlike Comlink's Remote<>, a union reply stays the union it is (no casts at the call).
 */
export type Calls<Api> = {
  [K in keyof Api]: Api[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : Api[K] extends object
      ? Calls<Api[K]>
      : never;
};
