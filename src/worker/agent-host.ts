/**
 * The worker's state and rules, without Comlink or the GPU: one live Env, the policy RNG, the loaded model
 * (behind a Scorer, so tests can use a fake) and the scores of the current state.
 *
 * - Every reset/step makes a new state with a fresh `stepId` and starts scoring it in the background; the
 *   reply does not wait for the GPU. scores(stepId) joins that work.
 * - Scoring calls run one at a time (one GPU queue); a queued call whose state is no longer current is
 *   skipped, so fast stepping never piles up GPU work.
 * - The policy RNG is re-seeded with the episode seed on every reset: the same seed, model and choices give
 *   the same sampled episode.
 */
import { createEnv } from '../envs/registry';
import type { Env, TaskId } from '../envs/types';
import { argmax, sampleIndex } from '../rl/categorical';
import { Rng } from '../util/rng';
import type {
  ActionScoreView,
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

/** What the host needs from a loaded model. */
export interface Scorer {
  score(prompt: string, actions: readonly string[]): Promise<{ actions: ActionScoreView[]; policy: Record<Normalization, number[]>; promptTokens: number }>;
  dispose(): void;
}

/** Thrown by a loader when no model can run here at all (no WebGPU): not an error of the model. */
export class ScorerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScorerUnavailableError';
  }
}

export type ScorerLoader = (
  spec: ModelSpec,
  onProgress: (bytesDone: number, bytes: number) => void,
) => Promise<{ scorer: Scorer; info: Omit<ModelInfo, 'id' | 'label' | 'loadMs'> }>;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export class AgentHost {
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

  /** Scores of the current state under the current model, started or done. */
  private pending: { stepId: number; modelId: string; reply: Promise<ScoresReply> } | null = null;
  /** Serializes scoring calls (one GPU queue). */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(status: ModelStatus) => void>();

  constructor(private readonly loader: ScorerLoader) {}

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
    if (this.status.status === 'loading' && this.loading) {
      const wait = this.loading;
      return wait.then(() => this.scores(stepId));
    }
    if (this.status.status !== 'ready' || !this.scorer) return Promise.resolve(this.unavailable());
    const modelId = this.status.info.id;
    if (this.pending && this.pending.stepId === stepId && this.pending.modelId === modelId) return this.pending.reply;
    const { prompt, actions } = this.current;
    const scorer = this.scorer;
    const reply = this.queue.then(async (): Promise<ScoresReply> => {
      // Skipped when the state moved on or the model changed while this call waited for the GPU.
      if (this.current?.stepId !== stepId || this.scorer !== scorer) return { status: 'stale' };
      const started = now();
      try {
        const scored = await scorer.score(prompt, actions);
        return { status: 'ok', scores: { stepId, modelId, ...scored, ms: now() - started } };
      } catch (error) {
        return { status: 'error', message: `scoring failed: ${describe(error)}` };
      }
    });
    this.queue = reply;
    this.pending = { stepId, modelId, reply };
    return reply;
  }

  async policyStep(stepId: number, mode: PolicyMode, norm: Normalization): Promise<PolicyStepReply> {
    if (!this.current || stepId !== this.current.stepId) throw new Error('that state is no longer current: the episode moved on');
    if (this.env?.done) throw new Error('the episode is over: reset to start a new one');
    const reply = await this.scores(stepId);
    if (reply.status === 'stale' || this.current?.stepId !== stepId) throw new Error('that state is no longer current: the episode moved on');
    if (reply.status === 'unavailable') throw new Error(reply.reason);
    if (reply.status === 'error') throw new Error(reply.message);
    const probs = reply.scores.policy[norm];
    if (!probs) throw new Error(`unknown normalization "${String(norm)}"`);
    // The same choice rules as training (src/rl): argmax with ties to the lowest index, inverse-CDF sampling.
    const index = mode === 'greedy' ? argmax(probs) : sampleIndex(probs, this.rng);
    const stepped = this.step(index);
    return { ...stepped, choice: { mode, norm, index, prob: probs[index] } };
  }

  /** Loads `spec` unless it is already loaded or loading; resolves with the final status. */
  loadModel(spec: ModelSpec, onStatus?: (status: ModelStatus) => void): Promise<ModelStatus> {
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
    this.pending = null;
    this.setStatus({ status: 'loading', id: spec.id, label: spec.label, bytesDone: 0, bytes: 0 });
    const started = now();
    const load = (async (): Promise<ModelStatus> => {
      try {
        const { scorer, info } = await this.loader(spec, (bytesDone, bytes) => {
          if (generation === this.loadGeneration) this.setStatus({ status: 'loading', id: spec.id, label: spec.label, bytesDone, bytes });
        });
        if (generation !== this.loadGeneration) {
          scorer.dispose();
          return this.status;
        }
        this.scorer = scorer;
        this.setStatus({ status: 'ready', info: { ...info, id: spec.id, label: spec.label, loadMs: now() - started } });
        // Score the state that was waiting for the model.
        if (this.current) void this.scores(this.current.stepId);
      } catch (error) {
        if (generation !== this.loadGeneration) return this.status;
        this.setStatus(
          error instanceof ScorerUnavailableError
            ? { status: 'unavailable', id: spec.id, reason: error.message }
            : { status: 'error', id: spec.id, message: `loading the model failed: ${describe(error)}` },
        );
      }
      if (generation === this.loadGeneration) this.loading = null;
      return this.status;
    })();
    this.loading = load;
    return load.then(settled);
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
