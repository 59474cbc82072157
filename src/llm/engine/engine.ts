/**
 * The LLaMA engine on WebGPU: loads an MLC model onto the GPU and scores TWOSOME's actions.
 *
 * tokenize() turns prompts and their offered actions into token ids once (../scores.ts); forwardScores() runs
 * every prompt once and all of its actions in the same pass, attending to the shared prompt (scoring-layout.ts,
 * forward.ts), with a LoRA adapter added when given, and returns per prompt each action's summed log-prob,
 * token and word counts, and the final-norm hidden state of the prompt's last token (the critic's input).
 * Several prompts (parallel environments) go in one call; a call larger than the GPU's buffer or dispatch
 * limits runs as several passes (batch-plan.ts) with the same results. The policy over the actions is not
 * the engine's business: src/rl/policy.ts makes it from these scores.
 */
import { ModelFormatError } from '../model/errors';
import type { LlamaConfig } from '../model/config';
import type { GpuContext } from '../../gpu/device';
import { PipelineCache, type MatmulKernels, type PipelineCacheOptions } from '../../gpu/pipelines';
import { deviceBatchLimits, groupRequests, mergeGroupResults, mergeGroupScores, planBatchGroups, requestSizes, type BatchGroup, type BatchLimits, type GroupResult, type PromptLogprobs } from './batch-plan';
import { ScoringForward, type GpuModelWeights } from './forward';
import type { GpuLora } from '../train/gpu-lora';
import { destroyGpuWeights, uploadLlamaWeights, type UploadProgress } from './gpu-weights';
import { configInvFreq } from './rope';
import { planScoring, type ScoringRequest } from './scoring-layout';
import { checkShardBytes } from '../model/tensor-cache';
import { LlmTokenizer } from '../model/tokenizer';
import { tokenizeRequests, type ActionScores, type PolicyRequest, type ScoringBatch } from '../scores';
import { readModelIndex, type ModelSource } from '../model/weights';

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
   * Take the f16 variants of the matrix products where the device has `shader-f16` (PipelineCache.f16); false
   * keeps f32 everywhere, e.g. to compare the two on one device. Default: on hardware GPUs. A software adapter
   * keeps f32, as it keeps the workgroup kernels (GpuContext.useSubgroups): lavapipe offers `shader-f16` but
   * runs it as f32 arithmetic plus conversions, and a training update of a hidden-512 model took 2.7x as long
   * in f16 as in f32 there (`bench train`), a scoring pass 1.0x.
   */
  f16?: boolean;
  /**
   * The matrix-product kernels: 'tiled' (default) or 'legacy', to compare the two on one device
   * (PipelineCache.matmul).
   */
  matmul?: MatmulKernels;
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

export interface ForwardScoresOptions {
  mode?: 'shared' | 'separate';
  /** Add this adapter into the projections (null or absent: the frozen model). */
  lora?: GpuLora | null;
}

/** Which kernels an engine runs (issue 14's "kernels" record in `score --json`, `bench score`, `bench train`). */
export interface KernelSummary {
  /** The adapter's description (or device, or vendor). */
  adapter: string;
  /** Of the matrix products: f16 where the device has shader-f16 and the engine did not turn it off. */
  precision: 'f16' | 'f32';
  /** The subgroup size of the subgroup kernels ("min-max" where the adapter reports a range); null without them. */
  subgroupSize: number | string | null;
  matmul: MatmulKernels;
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
    kernels: PipelineCacheOptions,
    maxActivationBytes?: number,
  ) {
    this.pipelines = new PipelineCache(gpu.device, kernels);
    this.batchLimits = deviceBatchLimits(gpu.device, maxActivationBytes);
  }

  static async load(gpu: GpuContext, source: ModelSource, options: LoadEngineOptions = {}): Promise<LlamaEngine> {
    const { config, cache } = await readModelIndex(source);
    const tokenizerBytes = await source.read('tokenizer.json');
    if (!tokenizerBytes) throw new ModelFormatError(source.describe('tokenizer.json'), 'missing: the model needs an HF tokenizer.json');
    const tokenizer = await LlmTokenizer.fromJSON(tokenizerBytes, { bosId: config.bosTokenId, file: source.describe('tokenizer.json') });
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new ModelFormatError(source.describe('tokenizer.json'), `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`);
    }
    const readShard = async (index: number): Promise<Uint8Array> => {
      const shard = cache.shards[index];
      const bytes = await source.read(shard.dataPath);
      if (!bytes) throw new ModelFormatError(source.describe(shard.dataPath), 'missing: a weight shard listed in the tensor cache; download the model again');
      checkShardBytes(shard, bytes, source.describe(shard.dataPath), options.verifyMd5 ?? true);
      return bytes;
    };
    const weights = await uploadLlamaWeights(gpu.device, config, cache, readShard, configInvFreq(config), { onProgress: options.onProgress, maxBindingBytes: options.maxBindingBytes });
    const subgroups = options.useSubgroups ?? gpu.useSubgroups;
    const kernels = { subgroups, f16: options.f16 ?? !gpu.isSoftware, matmul: options.matmul };
    return new LlamaEngine(gpu, config, tokenizer, weights, kernels, options.maxActivationBytes);
  }

  get kernels(): KernelSummary {
    const { adapterInfo: info, subgroupSizes: sizes } = this.gpu;
    const range = sizes && (sizes.min === sizes.max ? sizes.min : `${sizes.min}-${sizes.max}`);
    return {
      adapter: info.description || info.device || info.vendor,
      precision: this.pipelines.f16 ? 'f16' : 'f32',
      subgroupSize: this.pipelines.subgroups && range ? range : null,
      matmul: this.pipelines.matmul,
    };
  }

  /** The batch that scores `requests`: token ids and word counts (refuses what the context window cannot hold). */
  tokenize(requests: readonly PolicyRequest[]): ScoringBatch {
    return tokenizeRequests(this.tokenizer, requests, this.config.contextWindow);
  }

  /** The passes that score `requests` within this GPU's limits (one when they fit): groups of prompts or of one prompt's actions. */
  planGroups(requests: readonly ScoringRequest[], mode: 'shared' | 'separate' = 'shared'): BatchGroup[] {
    return planBatchGroups(requestSizes(requests), this.config, this.batchLimits, mode);
  }

  /**
   * Per prompt, every action's score and the prompt's last hidden state, with `lora` added when given: one
   * forward pass per group of planGroups, each built, run and released in turn, so only one group's activations
   * exist at a time. The results equal one pass over the whole batch (batch-plan.ts). `mode: 'separate'` runs
   * every prompt + action as its own sequence (the original method, for comparison).
   */
  async forwardScores(batch: ScoringBatch, options: ForwardScoresOptions = {}): Promise<ActionScores[]> {
    const results = await this.runGroups(batch, options);
    return mergeGroupScores(batch, results, this.config.hidden);
  }

  /**
   * The same passes as forwardScores, per token: each action's token log-probs before they are summed, for
   * callers that read single tokens (the capability check's per-token figures). Scores nothing else.
   */
  async forwardTokenLogprobs(requests: readonly ScoringRequest[], options: ForwardScoresOptions = {}): Promise<PromptLogprobs[]> {
    const results = await this.runGroups(requests, options);
    return mergeGroupResults(requestSizes(requests), results, this.config.hidden);
  }

  private async runGroups(requests: readonly ScoringRequest[], options: ForwardScoresOptions): Promise<GroupResult[]> {
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
    return results;
  }

  dispose(): void {
    destroyGpuWeights(this.weights);
  }
}
