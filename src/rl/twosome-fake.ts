/**
 * A CPU stand-in for the LLM actor, for tests of the TWOSOME trainer's control flow (and UI work without a GPU):
 * each (prompt, action) pair has a fixed base score from a hash plus a learnable offset in a hashed table
 * (a "tabular adapter"): S_k = base(prompt, a_k) + theta[h(prompt, a_k)]. The gradient dL/dS_k goes straight
 * into theta; the optimizer is torch-like AdamW with global-norm clipping (llm/reference/adamw.ts). Critic
 * features are a fixed pseudo-random vector per prompt. Deterministic; its state is plain data.
 */
import type { ActionScores, PolicyRequest } from '../llm/scores';
import { countWords } from '../util/words';
import {
  ClippedAdam,
  type ActorState,
  type AdamSettings,
  type OptimizerStepInfo,
  type TwosomeActor,
} from './twosome-model';

function hash(text: string, salt = 0): number {
  let h = (2166136261 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return h >>> 0;
}

export interface FakeActorOptions {
  /** Entries of the hashed offset table (default 4096). */
  tableSize?: number;
  featureDim?: number;
  /** Spread of the base scores per token (default 1). */
  baseScale?: number;
  optimizer?: Partial<AdamSettings>;
  /** Calls are recorded here (tests of the update's call order). */
  log?: string[];
}

export class FakeTwosomeActor implements TwosomeActor {
  readonly featureDim: number;
  readonly theta: Float32Array;
  /** Accumulated in float64 so that the order of the additions barely matters. */
  private readonly grad: Float64Array;
  private readonly grad32: Float32Array;
  private readonly adam: ClippedAdam;
  private readonly baseScale: number;
  private tokenCount = 0;
  readonly log: string[] | undefined;

  constructor(options: FakeActorOptions = {}) {
    const size = options.tableSize ?? 4096;
    this.featureDim = options.featureDim ?? 8;
    this.baseScale = options.baseScale ?? 1;
    this.theta = new Float32Array(size);
    this.grad = new Float64Array(size);
    this.grad32 = new Float32Array(size);
    const settings = { beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5, ...options.optimizer };
    this.adam = new ClippedAdam([this.theta], settings);
    this.log = options.log;
  }

  get tokens(): number {
    return this.tokenCount;
  }

  private slot(prompt: string, action: string): number {
    return hash(`${prompt}\u0000${action}`) % this.theta.length;
  }

  private nTokens(action: string): number {
    return Math.max(1, Math.ceil(action.length / 5));
  }

  private scoreOne({ prompt, actions }: PolicyRequest): ActionScores {
    this.tokenCount += Math.ceil(prompt.length / 5) + actions.reduce((s, a) => s + this.nTokens(a), 0);
    return {
      logprobs: actions.map((a) => {
        const n = this.nTokens(a);
        const base = -n * (1 + (this.baseScale * (hash(`${prompt}|${a}`, 7) % 1000)) / 1000);
        return base + this.theta[this.slot(prompt, a)];
      }),
      nTokens: actions.map((a) => this.nTokens(a)),
      nWords: actions.map(countWords),
    };
  }

  async score(requests: readonly PolicyRequest[]): Promise<ActionScores[]> {
    this.log?.push(`score ${requests.length}`);
    return requests.map((r) => this.scoreOne(r));
  }

  async features(requests: readonly PolicyRequest[]): Promise<Float32Array[]> {
    this.log?.push(`features ${requests.length}`);
    return requests.map(({ prompt }) =>
      Float32Array.from({ length: this.featureDim }, (_, i) => ((hash(prompt, 100 + i) % 2001) - 1000) / 1000),
    );
  }

  async accumulate(
    requests: readonly PolicyRequest[],
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<void> {
    this.log?.push(`accumulate ${requests.length}`);
    const scores = requests.map((r) => this.scoreOne(r));
    const g = lossGrad(scores);
    requests.forEach(({ prompt, actions }, p) =>
      actions.forEach((a, k) => (this.grad[this.slot(prompt, a)] += g[p][k])),
    );
  }

  async zeroGrad(): Promise<void> {
    this.grad.fill(0);
  }

  async step(lr: number): Promise<OptimizerStepInfo> {
    this.log?.push('step');
    this.grad32.set(this.grad);
    const info = this.adam.step([this.grad32], lr);
    this.grad.fill(0);
    return info;
  }

  async getState(): Promise<ActorState> {
    return { adapter: null, tensors: [this.theta.slice()], optimizer: this.adam.getState() };
  }

  async setState(state: ActorState): Promise<void> {
    this.theta.set(state.tensors[0]);
    this.adam.setState(state.optimizer);
    this.grad.fill(0);
  }

  memoryEstimate(): number | null {
    return null;
  }
}
