/**
 * The agent part of the playground worker's API (AgentApi, api.ts): one live Env, the policy RNG, the loaded
 * model (behind a Scorer, so tests can use a fake) and the scores of the current state. No GPU here and no
 * Comlink beyond releasing the page's callbacks: env.worker.ts exposes it as it is.
 *
 * - Every reset/step makes a new state with a fresh `stepId` and starts scoring it in the background; the
 *   reply does not wait for the GPU. scores(stepId) joins that work.
 * - Scoring calls run one at a time (one GPU queue); a queued call whose state is no longer current is
 *   skipped, so fast stepping never piles up GPU work.
 * - The policy RNG is re-seeded with the episode seed on every reset: the same seed, model and choices give
 *   the same sampled episode.
 * - A lost GPU device (a driver reset, the GPU removed) ends the loaded model: the next use (scores, an adapter,
 *   training's revive()) loads it again from its source on a new device, with the adapter in use.
 */
import { createEnv } from '../envs/registry';
import type { Env, TaskId } from '../envs/types';
import { argmax, sampleIndex } from '../rl/categorical';
import { policies } from '../rl/policy';
import { Rng } from '../util/rng';
import type { ActionScores } from '../llm/scores';
import type { LoraHandle } from '../llm/train/gpu-lora';
import type { LoraAdapter } from '../llm/train/lora';
import type { LlamaEngine } from '../llm/engine/engine';
import type { AdapterModelShape, AdapterWeights } from '../share/adapter';
import { adapterForModel, adapterView, weightsForModel, type AdapterView } from './adapter-slot';
import type { AgentApi } from './api';
import { releaseCallback } from './link';
import type {
  EnvView,
  ModelInfo,
  ModelSpec,
  ModelStatus,
  Normalization,
  PolicyMode,
  PolicyStepReply,
  ResetReply,
  ScoresReply,
  StepReply,
} from './protocol';
import { describeError } from '../util/errors';
import { ACTION_MATCH_RULE, checkGenerationOptions } from '../llm/generation';
import type { FreeAnswers, GenerationOptions } from '../llm/generation';
import type { AskFreelyReply } from './ask-protocol';

/** What the host needs from a loaded model. */
export interface Scorer {
  /** The model's projection shapes, which an adapter must match. */
  readonly shape: AdapterModelShape;
  /** Scores with the adapter in use (setAdapter), or the frozen model; promptTokens counts BOS + prompt. */
  score(prompt: string, actions: readonly string[]): Promise<{ scores: ActionScores; promptTokens: number }>;
  /** Scores with `adapter` (null: the frozen model) instead, changing nothing (share-precision probes). */
  scoreWith(
    adapter: LoraAdapter | null,
    prompt: string,
    actions: readonly string[],
  ): Promise<{ scores: ActionScores; promptTokens: number }>;
  /**
   * Uses `adapter` (already checked against `shape`) from now on; null: the frozen model. `live`: the same
   * values already on this scorer's GPU (the trainer's adapter), which it scores with in place and releases
   * when it moves on; it always takes `live` over (releasing it at once where it cannot use it).
   */
  setAdapter(adapter: LoraAdapter | null, live?: LoraHandle): Promise<void>;
  /**
   * The prompt continued as free text by the frozen model and, when an adapter is in use, by the adapted one
   * (src/llm/generation.ts); absent where the model cannot generate.
   */
  generate?(prompt: string, actions: readonly string[], options: GenerationOptions): Promise<FreeAnswers>;
  /** The engine behind it, for training on the same loaded model (never loaded twice); absent in fakes. */
  readonly engine?: LlamaEngine;
  /** Resolves with why, once the GPU device it runs on is lost (absent in fakes: never lost). */
  readonly lost?: Promise<string>;
  /**
   * Whether its GPU device still runs work (a read-back of a small buffer): false once the device is lost,
   * which a failed read-back can show before `lost` resolves. Absent in fakes.
   */
  deviceWorks?(): Promise<boolean>;
  dispose(): void;
}

/** How long a device that failed its probe may take to report why it was lost (it always does). */
const LOST_REPORT_MS = 30_000;

/** Thrown by a loader when no model can run here at all (no WebGPU): not an error of the model. */
export class ScorerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScorerUnavailableError';
  }
}

/**
 * "no model is loaded", with why where the last load said (its error, or why no model can run here), for the
 * work that needs the playground's model (its caller says which, and that the person should load one).
 */
export function noModelLoaded(status: ModelStatus): string {
  if (status.status === 'error') return `no model is loaded: ${status.message}`;
  if (status.status === 'unavailable') return `no model is loaded: ${status.reason}`;
  return 'no model is loaded';
}

export type ScorerLoader = (
  spec: ModelSpec,
  onProgress: (bytesDone: number, bytes: number) => void,
) => Promise<{ scorer: Scorer; info: Omit<ModelInfo, 'id' | 'label' | 'loadMs'> }>;

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export interface AgentHostOptions {
  /** Runs before a load of another model than the loaded one, which it waits for (training pauses its run). */
  beforeModelChange?(): Promise<void>;
}

export class AgentHost implements AgentApi {
  private env: Env | null = null;
  private seed = 0;
  private readonly rng = new Rng(0);
  private nextStepId = 0;
  private current: { stepId: number; prompt: string; actions: string[] } | null = null;

  private status: ModelStatus = { status: 'none' };
  private scorer: Scorer | null = null;
  private loading: Promise<ModelStatus> | null = null;
  /** Bumped by every loadModel(); a load that finishes after a newer one started is discarded. */
  private loadGeneration = 0;
  /** What the ready model was loaded from (loaded again when its GPU device is lost). */
  private loadedSpec: ModelSpec | null = null;
  /** The model whose GPU device was lost, to load again on its next use; and why it was lost. */
  private lostModel: { spec: ModelSpec; reason: string } | null = null;

  /** The adapter the scorer uses (a checked private copy), and a counter bumped by every change. */
  private adapter: { adapter: LoraAdapter; label: string; view: AdapterView } | null = null;
  private adapterGeneration = 0;

  /** Scores of the current state under the current model and adapter, started or done. */
  private pending: { stepId: number; modelId: string; adapterGeneration: number; reply: Promise<ScoresReply> } | null =
    null;
  /** Serializes scoring calls (one GPU queue). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(status: ModelStatus) => void>();

  constructor(
    private readonly loader: ScorerLoader,
    private readonly options: AgentHostOptions = {},
  ) {}

  get modelStatus(): ModelStatus {
    return this.status;
  }

  reset(taskId: TaskId, seed: number): ResetReply {
    if (!this.env || this.env.taskId !== taskId) this.env = createEnv(taskId);
    this.seed = seed;
    this.env.reset(seed);
    this.rng.seed(seed);
    return { ...this.newState(this.env), result: null };
  }

  step(index: number): StepReply {
    if (!this.env) throw new Error('the worker has no environment yet: call reset(taskId, seed) first');
    const result = this.env.step(index);
    return { ...this.newState(this.env), result };
  }

  scores(stepId: number): Promise<ScoresReply> {
    if (!this.current || stepId !== this.current.stepId) return Promise.resolve({ status: 'stale' });
    if (this.lostModel) return this.revive().then(() => this.scores(stepId));
    if (this.status.status === 'loading' && this.loading) {
      const wait = this.loading;
      return wait.then(() => this.scores(stepId));
    }
    if (this.status.status !== 'ready' || !this.scorer) return Promise.resolve(this.unavailable());
    const modelId = this.status.info.id;
    const adapterGeneration = this.adapterGeneration;
    if (
      this.pending &&
      this.pending.stepId === stepId &&
      this.pending.modelId === modelId &&
      this.pending.adapterGeneration === adapterGeneration
    )
      return this.pending.reply;
    const { prompt, actions } = this.current;
    const scorer = this.scorer;
    const reply = this.queue.then(async (): Promise<ScoresReply> => {
      // Skipped when the state moved on or the model changed while this call waited for the GPU.
      if (this.current?.stepId !== stepId || this.scorer !== scorer) return { status: 'stale' };
      const started = now();
      // Read here, in the queue: the adapter changes in the queue too, so this is what the scorer holds.
      const held = this.adapter;
      try {
        const { scores, promptTokens } = await scorer.score(prompt, actions);
        const view = actions.map((text, k) => ({
          text,
          logprob: scores.logprobs[k],
          nTokens: scores.nTokens[k],
          nWords: scores.nWords[k],
        }));
        const lora = held ? { lora: held.label, loraVersion: held.view.version } : {};
        const ms = now() - started;
        const policy = policies(scores);
        return { status: 'ok', scores: { stepId, modelId, actions: view, policy, promptTokens, ms, ...lora } };
      } catch (error) {
        return { status: 'error', message: `scoring failed: ${describeError(error)}` };
      }
    });
    this.queue = reply;
    this.pending = { stepId, modelId, adapterGeneration, reply };
    return reply;
  }

  /**
   * Scores of the current state and later ones use `adapter` (null: the frozen model) once this resolves.
   * It is checked against the loaded model first (structure, finite values, shapes); on any problem it
   * rejects with a message saying what is wrong and nothing changes. The current state is re-scored.
   * `live` (from the trainer, never from the page): the adapter's values on the loaded engine's GPU, which the
   * scorer then uses in place of an upload of its own; this call takes it over (released on failure).
   */
  async setAdapter(adapter: LoraAdapter | null, label: string, live?: LoraHandle): Promise<void> {
    let scorer: Scorer;
    let checked: LoraAdapter | null;
    try {
      scorer = await this.readyScorer();
      checked = adapter === null ? null : adapterForModel(adapter, scorer.shape, label, this.readyModelId());
    } catch (error) {
      live?.release();
      throw error;
    }
    await this.swapAdapter(scorer, checked, label, checked ? adapterView(checked, label) : null, live);
  }

  /**
   * Model-free weights (a decoded PEFT file, bundle or share link) put on the loaded model: besides the
   * checks of setAdapter, `baseModel` (the file's base_model_name_or_path) must name the model in use;
   * undefined when the source carries no base model (a share link names the model id itself). `forModel`: the
   * model id a link or bundle names, which must be the loaded one (an adapter is never put on another model,
   * even one whose shapes it happens to fit).
   */
  async loadAdapterWeights(
    weights: AdapterWeights,
    label: string,
    baseModel?: string | null,
    warnings: string[] = [],
    forModel?: string,
  ): Promise<AdapterView> {
    const scorer = await this.readyScorer();
    const loaded = this.readyModelId();
    if (forModel !== undefined && forModel !== loaded) {
      throw new Error(
        `${label} is for the model "${forModel}", but "${loaded}" is loaded; it is only used on its own model`,
      );
    }
    const checked = weightsForModel(weights, scorer.shape, label, this.readyModelId(), baseModel);
    const view = await this.swapAdapter(
      scorer,
      checked,
      label,
      adapterView(checked, label, baseModel ?? null, warnings),
    );
    return { ...view!, targets: view!.targets.slice(), warnings: view!.warnings.slice() };
  }

  /** The adapter in use and its label (a copy: changing it changes nothing), or null for the frozen model. */
  currentAdapter(): { adapter: LoraAdapter; label: string } | null {
    if (!this.adapter) return null;
    const { adapter, label } = this.adapter;
    return {
      adapter: {
        ...adapter,
        config: { ...adapter.config, targets: adapter.config.targets.slice() },
        modules: adapter.modules.map((m) => ({ ...m, slice: { ...m.slice }, a: m.a.slice(), b: m.b.slice() })),
      },
      label,
    };
  }

  /** What the page shows of the adapter in use. */
  adapterInfo(): AdapterView | null {
    return this.adapter
      ? {
          ...this.adapter.view,
          targets: this.adapter.view.targets.slice(),
          warnings: this.adapter.view.warnings.slice(),
        }
      : null;
  }

  /**
   * The policies of the current state `stepId` with `weights` (null: the frozen model) in place of the
   * adapter in use, changing nothing: how much a share link's f16/int8 rounding moves the probabilities.
   */
  async probeAdapter(stepId: number, weights: AdapterWeights | null): Promise<Record<Normalization, number[]>> {
    const scorer = await this.readyScorer();
    if (!this.current || this.current.stepId !== stepId)
      throw new Error('that state is no longer current: the episode moved on');
    const adapter =
      weights === null ? null : weightsForModel(weights, scorer.shape, 'adapter', this.readyModelId(), undefined);
    const { prompt, actions } = this.current;
    const run = this.queue.then(() => {
      if (this.scorer !== scorer) throw new Error('the model changed while probing the adapter');
      return scorer.scoreWith(adapter, prompt, actions);
    });
    this.queue = run.catch(() => {});
    return policies((await run).scores);
  }

  /**
   * The current state's prompt continued freely (Scorer.generate), in the scoring queue so that it never
   * interleaves with scoring or training on the GPU; the adapter is the one in use when its turn comes.
   */
  async askFreely(stepId: number, options: GenerationOptions): Promise<AskFreelyReply> {
    if (!this.current || stepId !== this.current.stepId) return { status: 'stale' };
    try {
      checkGenerationOptions(options);
    } catch (error) {
      return { status: 'error', message: describeError(error) };
    }
    if (this.status.status === 'loading' && this.loading) await this.loading;
    const status = this.status;
    if (status.status !== 'ready' || !this.scorer) {
      const reply = this.unavailable();
      if (reply.status === 'error') return reply;
      return { status: 'unavailable', reason: reply.status === 'unavailable' ? reply.reason : 'no model is loaded' };
    }
    const scorer = this.scorer;
    if (!scorer.generate) return { status: 'unavailable', reason: 'this model cannot generate text' };
    const { prompt, actions } = this.current;
    const modelId = status.info.id;
    const run = this.queue.then(async (): Promise<AskFreelyReply> => {
      if (this.current?.stepId !== stepId || this.scorer !== scorer) return { status: 'stale' };
      const held = this.adapter;
      const started = now();
      try {
        const { base, adapted } = await scorer.generate!(prompt, actions, options);
        const ms = now() - started;
        const adapterLabel = held?.label ?? null;
        const answers = { base, adapted, adapterLabel, match: ACTION_MATCH_RULE, ms };
        return { status: 'ok', stepId, modelId, options: { ...options }, actions: actions.slice(), ...answers };
      } catch (error) {
        return { status: 'error', message: `generation failed: ${describeError(error)}` };
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async readyScorer(): Promise<Scorer> {
    if (this.lostModel) await this.revive();
    if (this.status.status === 'loading' && this.loading) await this.loading;
    if (this.status.status !== 'ready' || !this.scorer) {
      throw new Error(
        `no model is loaded (${this.status.status === 'none' ? 'load one first' : this.status.status === 'unavailable' ? this.status.reason : this.status.status === 'error' ? this.status.message : 'it is still loading'}): an adapter needs its base model`,
      );
    }
    return this.scorer;
  }

  private readyModelId(): string {
    return this.status.status === 'ready' ? this.status.info.id : 'the model';
  }

  /**
   * Swaps the scorer's adapter on the GPU queue (so no scoring call sees half of it), then re-scores. `live` goes
   * to the scorer with it, or is released when the swap does not happen.
   */
  private async swapAdapter(
    scorer: Scorer,
    adapter: LoraAdapter | null,
    label: string,
    view: AdapterView | null,
    live?: LoraHandle,
  ): Promise<AdapterView | null> {
    let handedOver = false;
    const swap = this.queue.then(async () => {
      if (this.scorer !== scorer)
        throw new Error('the model changed while the adapter was loading; load the adapter again');
      handedOver = true;
      await scorer.setAdapter(adapter, live);
      this.adapterGeneration++;
      this.adapter = adapter && view ? { adapter, label, view: { ...view, version: this.adapterGeneration } } : null;
      this.pending = null;
    });
    this.queue = swap.catch(() => {});
    try {
      await swap;
    } finally {
      if (!handedOver) live?.release();
    }
    if (this.current && !this.env?.done) void this.scores(this.current.stepId);
    return this.adapter?.view ?? null;
  }

  /**
   * Runs GPU work of the trainer (an update, a checkpoint read-back) in the scoring queue: scoring calls made
   * meanwhile wait for it, and it waits for the one in progress, so the two never interleave on the GPU.
   */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * The model again on a new GPU device when its device was lost (loaded from its source, with the adapter in
   * use); otherwise the status once a load in progress has settled.
   */
  revive(): Promise<ModelStatus> {
    const lost = this.lostModel;
    if (!lost) return this.modelSettled();
    this.lostModel = null;
    return this.load(lost.spec, undefined, true);
  }

  /**
   * Why the GPU device of the loaded model was lost, or null while it works. The device is asked (a probe
   * read-back): one that fails it is lost, and its reason is waited for (`lost` resolves some time after the
   * failed read-backs; on a busy machine seconds later), up to LOST_REPORT_MS. A scorer without the probe
   * (fakes) is given `waitMs` for its loss to be reported.
   */
  async gpuLost(waitMs = 1000): Promise<string | null> {
    if (this.lostModel) return this.lostModel.reason;
    const scorer = this.scorer;
    const lost = scorer?.lost;
    if (!lost) return null;
    const works = scorer.deviceWorks ? await scorer.deviceWorks() : null;
    if (works) return null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = works === false ? LOST_REPORT_MS : waitMs;
    const waited = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), wait)));
    try {
      return await Promise.race([lost, waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with the model status once a load in progress has settled (at once when none is). */
  modelSettled(): Promise<ModelStatus> {
    return this.status.status === 'loading' && this.loading ? this.loading : Promise.resolve(this.status);
  }

  /** The loaded model's engine and id (the trainer uses this same engine), or null when none is ready. */
  loadedEngine(): { engine: LlamaEngine; modelId: string } | null {
    if (this.status.status !== 'ready' || !this.scorer?.engine) return null;
    return { engine: this.scorer.engine, modelId: this.status.info.id };
  }

  /** The prompt and actions of state `stepId` while it is current (the critic's value is asked of it). */
  currentRequest(stepId: number): { prompt: string; actions: string[] } | null {
    return this.current && this.current.stepId === stepId && !this.env?.done
      ? { prompt: this.current.prompt, actions: this.current.actions.slice() }
      : null;
  }

  async policyStep(stepId: number, mode: PolicyMode, norm: Normalization): Promise<PolicyStepReply> {
    if (!this.current || stepId !== this.current.stepId)
      throw new Error('that state is no longer current: the episode moved on');
    if (this.env?.done) throw new Error('the episode is over: reset to start a new one');
    const reply = await this.scores(stepId);
    if (reply.status === 'stale' || this.current?.stepId !== stepId)
      throw new Error('that state is no longer current: the episode moved on');
    if (reply.status === 'unavailable') throw new Error(reply.reason);
    if (reply.status === 'error') throw new Error(reply.message);
    const probs = reply.scores.policy[norm];
    if (!probs) throw new Error(`unknown normalization "${String(norm)}"`);
    // The same choice rules as training (src/rl): argmax with ties to the lowest index, inverse-CDF sampling.
    const index = mode === 'greedy' ? argmax(probs) : sampleIndex(probs, this.rng);
    const stepped = this.step(index);
    return { ...stepped, choice: { mode, norm, index, prob: probs[index] } };
  }

  /**
   * Loads `spec` unless it is already loaded or loading; resolves with the final status. Another model replaces
   * the engine a TWOSOME run trains: options.beforeModelChange pauses it first. `onStatus` is released once
   * loading has settled (through Comlink it is a proxy of the page's callback).
   */
  loadModel(spec: ModelSpec, onStatus?: (status: ModelStatus) => void): Promise<ModelStatus> {
    const change = this.loadedEngine()?.modelId !== spec.id ? this.options.beforeModelChange?.() : undefined;
    const loading = change ? change.then(() => this.load(spec, onStatus)) : this.load(spec, onStatus);
    return loading.finally(() => releaseCallback(onStatus));
  }

  /** `keepAdapter`: the same model again (a revive), so the adapter in use goes onto the new scorer. */
  private load(spec: ModelSpec, onStatus?: (status: ModelStatus) => void, keepAdapter = false): Promise<ModelStatus> {
    if (onStatus) this.listeners.add(onStatus);
    const settled = (status: ModelStatus) => {
      if (onStatus) this.listeners.delete(onStatus);
      return status;
    };
    const s = this.status;
    if (s.status === 'ready' && s.info.id === spec.id) return Promise.resolve(settled(s));
    if (s.status === 'loading' && s.id === spec.id && this.loading) return this.loading.then(settled);

    const generation = ++this.loadGeneration;
    const previous = this.scorer;
    // Freed once the scoring call using it (if any) is done.
    if (previous) this.queue = this.queue.then(() => previous.dispose());
    this.scorer = null;
    this.loadedSpec = null;
    this.lostModel = null;
    this.pending = null;
    // An adapter belongs to the model it was checked against.
    if (this.adapter && !keepAdapter) {
      this.adapter = null;
      this.adapterGeneration++;
    }
    this.setStatus({ status: 'loading', id: spec.id, label: spec.label, bytesDone: 0, bytes: 0 });
    const started = now();
    const load = (async (): Promise<ModelStatus> => {
      try {
        const { scorer, info } = await this.loader(spec, (bytesDone, bytes) => {
          if (generation === this.loadGeneration)
            this.setStatus({ status: 'loading', id: spec.id, label: spec.label, bytesDone, bytes });
        });
        if (generation !== this.loadGeneration) {
          scorer.dispose();
          return this.status;
        }
        if (keepAdapter && this.adapter) {
          try {
            await scorer.setAdapter(this.adapter.adapter);
          } catch {
            // Not on the new device: scores are the frozen model's, and the page hears that the adapter is gone.
            this.adapter = null;
            this.adapterGeneration++;
          }
        }
        this.scorer = scorer;
        this.loadedSpec = spec;
        void scorer.lost?.then((reason) => this.onLost(scorer, reason));
        this.setStatus({ status: 'ready', info: { ...info, id: spec.id, label: spec.label, loadMs: now() - started } });
        // Score the state that was waiting for the model.
        if (this.current) void this.scores(this.current.stepId);
      } catch (error) {
        if (generation !== this.loadGeneration) return this.status;
        this.setStatus(
          error instanceof ScorerUnavailableError
            ? { status: 'unavailable', id: spec.id, reason: error.message }
            : { status: 'error', id: spec.id, message: `loading the model failed: ${describeError(error)}` },
        );
      }
      if (generation === this.loadGeneration) this.loading = null;
      return this.status;
    })();
    this.loading = load;
    return load.then(settled);
  }

  /** The loaded model's GPU device is lost: it is loaded again on its next use (revive). */
  private onLost(scorer: Scorer, reason: string): void {
    if (this.scorer !== scorer || this.status.status !== 'ready' || !this.loadedSpec) return;
    this.lostModel = { spec: this.loadedSpec, reason };
    const message = `the GPU was lost (${reason}); the model is loaded again on a new device when it is next used`;
    this.setStatus({ status: 'error', id: this.status.info.id, message });
  }

  private unavailable(): ScoresReply {
    const s = this.status;
    if (s.status === 'unavailable') return { status: 'unavailable', reason: s.reason };
    if (s.status === 'error') return { status: 'error', message: s.message };
    return { status: 'unavailable', reason: 'no model is loaded' };
  }

  private setStatus(status: ModelStatus): void {
    this.status = status;
    for (const listener of this.listeners) {
      try {
        // Through Comlink a listener returns a promise; one that went away (a closed page) must not break loading.
        const returned: unknown = listener(status);
        if (returned instanceof Promise) returned.catch(() => {});
      } catch {
        // as above
      }
    }
  }

  private newState(env: Env): EnvView {
    const observation = env.observe();
    const stepId = ++this.nextStepId;
    this.current = { stepId, prompt: observation.prompt, actions: observation.actions };
    this.pending = null;
    // Start scoring now so the probabilities are ready as soon as possible (nothing runs without a model).
    if (!env.done && (this.status.status === 'ready' || this.status.status === 'loading')) void this.scores(stepId);
    return { taskId: env.taskId, seed: this.seed, observation, render: env.render(), done: env.done, stepId };
  }
}
