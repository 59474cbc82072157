/**
 * The LLaMA engine on WebGPU: loads an MLC model onto the GPU and scores TWOSOME's actions.
 *
 * score() runs every prompt once and all of its actions in the same pass, attending to the shared prompt
 * (scoring-layout.ts, forward.ts), and returns per action the token ids, summed log-prob, token and word
 * counts, the three policies (spec section 1), and per prompt the final-norm hidden state of its last token
 * (the critic's input). Several prompts (parallel environments) go in one call; a call larger than the GPU's
 * buffer or dispatch limits runs as several passes (batch-plan.ts) with the same results.
 */
import { ModelFormatError } from './errors';
import type { LlamaConfig } from './config';
import type { GpuContext } from '../gpu/device';
import { PipelineCache } from '../gpu/pipelines';
import { deviceBatchLimits, groupRequests, mergeGroupResults, planBatchGroups, requestSizes, type BatchGroup, type BatchLimits, type GroupResult, type PromptLogprobs } from './batch-plan';
import { ScoringForward, type GpuModelWeights } from './forward';
import type { GpuLora } from './gpu-lora';
import { destroyGpuWeights, uploadLlamaWeights, type UploadProgress } from './gpu-weights';
import { configInvFreq } from './rope';
import { planScoring, type ScoringRequest } from './scoring-layout';
import { checkFiniteTensors, checkShardBytes } from './tensor-cache';
import { LlmTokenizer } from './tokenizer';
import { countWords } from '../util/words';
import { actionDistribution } from '../rl/policy';
import type { Normalization } from '../rl/config';
import { MODEL_FILE_LIMITS, readModelFile, readModelIndex, shardLimit, type ModelSource } from './weights';

export interface ScoredAction {
  text: string;
  /** The action's tokens as scored after `prompt + " "`. */
  tokenIds: number[];
  tokenLogprobs: number[];
  /** Summed log-prob of the action's tokens. */
  logprob: number;
  nTokens: number;
  nWords: number;
}

export interface ScoredPrompt {
  prompt: string;
  /** BOS + prompt ids. */
  promptTokenIds: number[];
  actions: ScoredAction[];
  policy: Record<Normalization, number[]>;
  /** [hidden]: final-norm hidden state of the last prompt token. */
  critic: Float32Array;
}

export interface LoadEngineOptions {
  verifyMd5?: boolean;
  onProgress?: (progress: UploadProgress) => void;
  /**
   * Take the subgroup kernels (shaders/*_subgroups.wgsl) where a shape takes a workgroup kernel: true where
   * the device has the `subgroups` feature, false keeps the f32 workgroup kernels (to compare). Default:
   * GpuContext.useSubgroups (hardware GPUs with the feature).
   */
  useSubgroups?: boolean;
  /**
   * Bytes one weight buffer may hold, when smaller than the device's limits: a tensor larger than this is
   * split by rows (gpu-weights.ts). For tests, which force the split on small models.
   */
  maxBindingBytes?: number;
  /**
   * Bytes one activation buffer may hold (logits, gate_up, qkv, residual), when smaller than the device's
   * limits: a batch that needs more runs as several passes (batch-plan.ts). For tests, which force the split on
   * small models. Separate from maxBindingBytes, which caps the weights.
   */
  maxActivationBytes?: number;
}

export class LlamaEngine {
  readonly pipelines: PipelineCache;
  /** What one forward pass may allocate and dispatch; larger batches are split to fit. */
  readonly batchLimits: BatchLimits;

  private constructor(
    readonly gpu: GpuContext,
    readonly config: LlamaConfig,
    readonly tokenizer: LlmTokenizer,
    readonly weights: GpuModelWeights,
    useSubgroups: boolean,
    maxActivationBytes?: number,
  ) {
    this.pipelines = new PipelineCache(gpu.device, { subgroups: useSubgroups });
    this.batchLimits = deviceBatchLimits(gpu.device, maxActivationBytes);
  }

  static async load(gpu: GpuContext, source: ModelSource, options: LoadEngineOptions = {}): Promise<LlamaEngine> {
    const { config, cache } = await readModelIndex(source);
    const tokenizerBytes = await readModelFile(source, 'tokenizer.json', MODEL_FILE_LIMITS['tokenizer.json']);
    if (!tokenizerBytes) throw new ModelFormatError(source.describe('tokenizer.json'), 'missing: the model needs an HF tokenizer.json');
    const tokenizer = await LlmTokenizer.fromJSON(tokenizerBytes, { bosId: config.bosTokenId, file: source.describe('tokenizer.json') });
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new ModelFormatError(source.describe('tokenizer.json'), `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`);
    }
    const readShard = async (index: number): Promise<Uint8Array> => {
      const shard = cache.shards[index];
      const bytes = await readModelFile(source, shard.dataPath, shardLimit(shard.nbytes));
      if (!bytes) throw new ModelFormatError(source.describe(shard.dataPath), 'missing: a weight shard listed in the tensor cache; download the model again');
      checkShardBytes(shard, bytes, source.describe(shard.dataPath), options.verifyMd5 ?? true);
      checkFiniteTensors(shard, bytes, source.describe(shard.dataPath));
      return bytes;
    };
    const weights = await uploadLlamaWeights(gpu.device, config, cache, readShard, configInvFreq(config), { onProgress: options.onProgress, maxBindingBytes: options.maxBindingBytes });
    return new LlamaEngine(gpu, config, tokenizer, weights, options.useSubgroups ?? gpu.useSubgroups, options.maxActivationBytes);
  }

  /** Scores each prompt's actions; `mode: 'separate'` runs every prompt + action on its own (for comparison). */
  async score(requests: readonly { prompt: string; actions: readonly string[] }[], mode: 'shared' | 'separate' = 'shared'): Promise<ScoredPrompt[]> {
    const tokenized = requests.map(({ prompt, actions }) => {
      if (actions.length === 0) throw new Error('score: a prompt needs at least one action');
      const promptTokenIds = this.tokenizer.encodePrompt(prompt);
      const actionTokenIds = actions.map((a) => this.tokenizer.encodeAction(prompt, a));
      const longest = promptTokenIds.length + Math.max(...actionTokenIds.map((ids) => ids.length));
      if (longest > this.config.contextWindow) {
        throw new Error(`score: prompt + action is ${longest} tokens, longer than the model's context window of ${this.config.contextWindow}`);
      }
      return { prompt, actions, promptTokenIds, actionTokenIds };
    });
    const scored = await this.forwardScores(
      tokenized.map((t) => ({ promptTokens: t.promptTokenIds, actionTokens: t.actionTokenIds })),
      { mode },
    );
    return tokenized.map((t, p) => {
      const actions = t.actions.map((text, k) => {
        const lps = Array.from(scored[p].actionTokenLogprobs[k]);
        return { text, tokenIds: t.actionTokenIds[k], tokenLogprobs: lps, logprob: lps.reduce((a, b) => a + b, 0), nTokens: lps.length, nWords: countWords(text) };
      });
      return {
        prompt: t.prompt,
        promptTokenIds: t.promptTokenIds,
        actions,
        policy: {
          sum: Array.from(actionDistribution(actions, 'sum').probs),
          token: Array.from(actionDistribution(actions, 'token').probs),
          word: Array.from(actionDistribution(actions, 'word').probs),
        },
        critic: scored[p].lastPromptHidden,
      };
    });
  }

  /** The passes that score `requests` within this GPU's limits (one when they fit): groups of prompts or of one prompt's actions. */
  planGroups(requests: readonly ScoringRequest[], mode: 'shared' | 'separate' = 'shared'): BatchGroup[] {
    return planBatchGroups(requestSizes(requests), this.config, this.batchLimits, mode);
  }

  /**
   * Per prompt, every action's token log-probs and the prompt's last hidden state, with `lora` added when given:
   * one forward pass per group of planGroups, each built, run and released in turn, so only one group's
   * activations exist at a time. The results equal one pass over all the requests (batch-plan.ts).
   */
  async forwardScores(requests: readonly ScoringRequest[], options: { mode?: 'shared' | 'separate'; lora?: GpuLora | null } = {}): Promise<PromptLogprobs[]> {
    const mode = options.mode ?? 'shared';
    const results: GroupResult[] = [];
    for (const group of this.planGroups(requests, mode)) {
      const layout = planScoring(groupRequests(requests, group), mode);
      const forward = await ScoringForward.build(this.gpu.device, this.pipelines, this.weights, layout, { lora: options.lora, limits: this.batchLimits });
      try {
        results.push({ group, layout, ...(await forward.run()) });
      } finally {
        forward.dispose();
      }
    }
    return mergeGroupResults(requestSizes(requests), results, this.config.hidden);
  }

  dispose(): void {
    destroyGpuWeights(this.weights);
  }
}
