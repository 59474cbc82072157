/**
 * TWOSOME's actor on the CPU reference of the model (src/llm/reference/backward.ts): the same scoring (shared
 * prompt layout, float32 activations), the same LoRA gradients (float64) and torch-like AdamW with global-norm
 * clipping. Far slower than a real GPU, but for tiny models (the shipped micro model) much faster than WebGPU
 * on SwiftShader, so learning experiments and tests of the full pipeline can run without a GPU. It matches the
 * GPU actor up to float rounding (not bit for bit).
 */
import {
  lastPromptHidden,
  loraGradients,
  scoreBatch,
  scoringPrompts,
  zeroLoraGradients,
  type LoraModuleGradient,
} from '../llm/reference/backward';
import { batchTokens, tokenizeRequests, type ActionScores, type PolicyRequest, type ScoringBatch } from '../llm/scores';
import { initLoraAdapter, type LoraAdapter, type LoraConfig } from '../llm/train/lora';
import { initCritic } from '../llm/reference/critic';
import type { LlmTokenizer } from '../llm/model/tokenizer';
import type { LlamaWeights } from '../llm/model/weights';
import { Rng } from '../util/rng';
import type { PpoConfig } from './config';
import {
  adamSettings,
  ClippedAdam,
  CpuCritic,
  engineLoraConfig,
  type ActorState,
  type AdamSettings,
  type OptimizerStepInfo,
  type TwosomeActor,
} from './twosome-model';

export interface CpuActorOptions {
  lora: LoraConfig;
  optimizer: AdamSettings;
  /** Seed of the adapter's PEFT init (as the GPU actor's). */
  seed: number;
  /** Start from these adapter values instead (evaluation of a trained adapter). */
  adapter?: LoraAdapter;
}

export class CpuTwosomeActor implements TwosomeActor {
  readonly featureDim: number;
  readonly adapter: LoraAdapter;
  private readonly params: Float32Array[];
  private readonly grads: Float32Array[];
  private readonly acc: LoraModuleGradient[];
  private readonly adam: ClippedAdam;
  private readonly featureMemo = new Map<string, Float32Array>();
  private tokenCount = 0;

  constructor(
    readonly weights: LlamaWeights,
    readonly tokenizer: LlmTokenizer,
    options: CpuActorOptions,
  ) {
    this.featureDim = weights.config.hidden;
    this.adapter = options.adapter
      ? { ...options.adapter, modules: options.adapter.modules.map((m) => ({ ...m, a: m.a.slice(), b: m.b.slice() })) }
      : initLoraAdapter(weights.config, options.lora, new Rng(options.seed));
    this.params = this.adapter.modules.flatMap((m) => [m.a, m.b]);
    this.grads = this.params.map((p) => new Float32Array(p.length));
    this.acc = zeroLoraGradients(this.adapter);
    this.adam = new ClippedAdam(this.params, options.optimizer);
  }

  get tokens(): number {
    return this.tokenCount;
  }

  /** Tokenizes once, and counts what the model will run. */
  private tokenize(requests: readonly PolicyRequest[]): ScoringBatch {
    const batch = tokenizeRequests(this.tokenizer, requests, this.weights.config.contextWindow);
    this.tokenCount += batchTokens(batch);
    return batch;
  }

  async score(requests: readonly PolicyRequest[]): Promise<ActionScores[]> {
    return scoreBatch(this.weights, this.adapter, this.tokenize(requests));
  }

  async features(requests: readonly PolicyRequest[]): Promise<Float32Array[]> {
    return requests.map(({ prompt }) => {
      let f = this.featureMemo.get(prompt);
      if (!f) {
        const ids = this.tokenizer.encodePrompt(prompt);
        this.tokenCount += ids.length;
        f = Float32Array.from(lastPromptHidden(this.weights, ids, { precision: 'float32' }));
        this.featureMemo.set(prompt, f);
      }
      return f;
    });
  }

  async accumulate(
    requests: readonly PolicyRequest[],
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<void> {
    const batch = this.tokenize(requests);
    // The loss needs the scores before its gradient: one forward for the scores, then forward + backward.
    const dLdS = lossGrad(scoreBatch(this.weights, this.adapter, batch));
    const options = { layout: 'shared', precision: 'float32' } as const;
    const { modules } = loraGradients(this.weights, this.adapter, scoringPrompts(batch), dLdS, options);
    modules.forEach((g, i) => {
      const acc = this.acc[i];
      for (let j = 0; j < g.a.length; j++) acc.a[j] += g.a[j];
      for (let j = 0; j < g.b.length; j++) acc.b[j] += g.b[j];
    });
  }

  async zeroGrad(): Promise<void> {
    for (const g of this.acc) {
      g.a.fill(0);
      g.b.fill(0);
    }
  }

  async step(lr: number): Promise<OptimizerStepInfo> {
    this.acc.forEach((g, i) => {
      this.grads[2 * i].set(g.a);
      this.grads[2 * i + 1].set(g.b);
    });
    const info = this.adam.step(this.grads, lr);
    await this.zeroGrad();
    return info;
  }

  async getState(): Promise<ActorState> {
    return {
      adapter: {
        ...this.adapter,
        modules: this.adapter.modules.map((m) => ({ ...m, a: m.a.slice(), b: m.b.slice() })),
      },
      tensors: [],
      optimizer: this.adam.getState(),
    };
  }

  async setState(state: ActorState): Promise<void> {
    if (!state.adapter || state.adapter.modules.length !== this.adapter.modules.length)
      throw new Error('the state has no adapter for this model');
    state.adapter.modules.forEach((m, i) => {
      this.adapter.modules[i].a.set(m.a);
      this.adapter.modules[i].b.set(m.b);
    });
    this.adam.setState(state.optimizer);
    await this.zeroGrad();
  }

  memoryEstimate(): number | null {
    return null;
  }
}

/** The actor and critic of a run on the CPU reference (fresh from the run's seeds, as createGpuTwosomeModels). */
export function createCpuTwosomeModels(
  weights: LlamaWeights,
  tokenizer: LlmTokenizer,
  config: PpoConfig,
  seeds: { lora: number; critic: number },
): { actor: CpuTwosomeActor; critic: CpuCritic } {
  if (config.critic.bias) throw new Error('the critic has no biases (critic.bias must be false, as the paper)');
  const actor = new CpuTwosomeActor(weights, tokenizer, {
    lora: engineLoraConfig(config.lora),
    optimizer: adamSettings(config, 'policy'),
    seed: seeds.lora,
  });
  const init = initCritic(weights.config.hidden, new Rng(seeds.critic), config.critic.hiddenSizes);
  const critic = new CpuCritic(init, adamSettings(config, 'value'));
  return { actor, critic };
}
