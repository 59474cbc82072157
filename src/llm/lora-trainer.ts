/**
 * Trains a LoRA adapter on the GPU engine: score micro-batches with the adapter on (keeping activation
 * checkpoints), take dL/dS for every action from the caller's loss (the PPO policy loss in rl/), run the
 * backward to accumulate LoRA gradients, and step AdamW (global-norm clipping, non-finite skip) on the GPU.
 *
 * One micro-batch = several prompts with their actions, laid out sharing each prompt (scoring-layout.ts).
 * The caller drives accumulation: accumulate() any number of micro-batches, then step().
 */
import type { Normalization } from '../rl/config';
import { actionDistribution, type ActionDistribution } from '../rl/policy';
import { Rng } from '../util/rng';
import { countWords } from '../util/words';
import { LoraBackward } from './backward';
import type { LlamaEngine } from './engine';
import { ScoringForward } from './forward';
import { destroyLora, readLora, uploadLora, type GpuLora } from './gpu-lora';
import { DEFAULT_LORA_CONFIG, initLoraAdapter, type LoraAdapter, type LoraConfig } from './lora';
import { GpuAdam, type OptimizerConfig, type StepInfo } from './optimizer';
import { planScoring, type ScoringLayout } from './scoring-layout';

export interface PolicyRequest {
  prompt: string;
  actions: readonly string[];
}

/** The adapter's scores of one prompt's actions, and its policy under each normalization. */
export interface AdaptedScores {
  logprobs: number[];
  nTokens: number[];
  nWords: number[];
  distribution(mode: Normalization): ActionDistribution;
}

export interface LoraTrainerOptions {
  lora?: LoraConfig;
  optimizer?: Partial<OptimizerConfig>;
  seed?: number;
  /** Start from these adapter values instead of a fresh PEFT init. */
  adapter?: LoraAdapter;
}

export const DEFAULT_LORA_OPTIMIZER: OptimizerConfig = { lr: 5e-7, beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5 };

export class LoraTrainer {
  readonly lora: GpuLora;
  readonly optimizer: GpuAdam;

  private constructor(
    readonly engine: LlamaEngine,
    readonly adapter: LoraAdapter,
    optimizerConfig: OptimizerConfig,
  ) {
    const { device } = engine.gpu;
    this.lora = uploadLora(device, adapter);
    const params = this.lora.modules.flatMap((m) => [
      { param: m.a, grad: m.gradA, count: adapter.config.r * m.slice.inDim },
      { param: m.b, grad: m.gradB, count: m.slice.outDim * adapter.config.r },
    ]);
    this.optimizer = GpuAdam.create(device, engine.pipelines, params, optimizerConfig);
  }

  static create(engine: LlamaEngine, options: LoraTrainerOptions = {}): LoraTrainer {
    const adapter = options.adapter ?? initLoraAdapter(engine.config, options.lora ?? DEFAULT_LORA_CONFIG, new Rng(options.seed ?? 1));
    return new LoraTrainer(engine, adapter, { ...DEFAULT_LORA_OPTIMIZER, ...options.optimizer });
  }

  private tokenize(requests: readonly PolicyRequest[]): { layout: ScoringLayout; nTokens: number[][]; nWords: number[][] } {
    const tok = this.engine.tokenizer;
    const encoded = requests.map(({ prompt, actions }) => ({ promptTokens: tok.encodePrompt(prompt), actionTokens: actions.map((a) => tok.encodeAction(prompt, a)) }));
    return {
      layout: planScoring(encoded),
      nTokens: encoded.map((e) => e.actionTokens.map((t) => t.length)),
      nWords: requests.map((r) => r.actions.map(countWords)),
    };
  }

  private scoresOf(layout: ScoringLayout, tokenLogprobs: Float32Array, nTokens: number[][], nWords: number[][]): AdaptedScores[] {
    return layout.actionLogitRanges.map((ranges, p) => {
      const logprobs = ranges.map(({ first, count }) => tokenLogprobs.subarray(first, first + count).reduce((a, b) => a + b, 0));
      const scores = logprobs.map((logprob, k) => ({ logprob, nTokens: nTokens[p][k], nWords: nWords[p][k] }));
      return { logprobs, nTokens: nTokens[p], nWords: nWords[p], distribution: (mode: Normalization) => actionDistribution(scores, mode) };
    });
  }

  /** Scores with the adapter on (no gradients kept). */
  async score(requests: readonly PolicyRequest[]): Promise<AdaptedScores[]> {
    const { layout, nTokens, nWords } = this.tokenize(requests);
    const forward = await ScoringForward.build(this.engine.gpu.device, this.engine.pipelines, this.engine.weights, layout, { lora: this.lora });
    try {
      return this.scoresOf(layout, (await forward.run()).tokenLogprobs, nTokens, nWords);
    } finally {
      forward.dispose();
    }
  }

  /**
   * One micro-batch: forward with the adapter, then `lossGrad(scores)` returns dL/dS[p][k] (the gradient of
   * the caller's loss with respect to each action's summed log-prob), and the backward accumulates the LoRA
   * gradients. Returns the scores the loss saw.
   */
  async accumulate(requests: readonly PolicyRequest[], lossGrad: (scores: AdaptedScores[]) => ArrayLike<number>[]): Promise<AdaptedScores[]> {
    const { device } = this.engine.gpu;
    const { layout, nTokens, nWords } = this.tokenize(requests);
    const forward = await ScoringForward.build(device, this.engine.pipelines, this.engine.weights, layout, { lora: this.lora, keepCheckpoints: true });
    let backward: LoraBackward | undefined;
    try {
      const scores = this.scoresOf(layout, (await forward.run()).tokenLogprobs, nTokens, nWords);
      const dLdS = lossGrad(scores);
      const tokenGrads = new Float32Array(layout.logitRows.length);
      layout.actionLogitRanges.forEach((ranges, p) => ranges.forEach(({ first, count }, k) => tokenGrads.fill(dLdS[p][k], first, first + count)));
      backward = await LoraBackward.build(device, this.engine.pipelines, forward);
      backward.run(tokenGrads);
      await device.queue.onSubmittedWorkDone();
      return scores;
    } finally {
      backward?.dispose();
      forward.dispose();
    }
  }

  /** One AdamW step on the accumulated gradients (which it zeroes); gradScale e.g. 1 / accumulation steps. */
  async step(lr: number, gradScale = 1): Promise<StepInfo> {
    await this.optimizer.step(lr, gradScale);
    return this.optimizer.readInfo();
  }

  /** The adapter's current values, in the host layout (for export and checkpoints). */
  async readAdapter(): Promise<LoraAdapter> {
    const values = await readLora(this.engine.gpu.device, this.lora, 'weights');
    return { ...this.adapter, modules: this.adapter.modules.map((m, i) => ({ ...m, a: values[i].a, b: values[i].b })) };
  }

  dispose(): void {
    this.optimizer.dispose();
    destroyLora(this.lora);
  }
}
