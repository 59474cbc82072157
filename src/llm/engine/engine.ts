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
 *
 * Static plans: the engine keeps its activations in workspaces (workspace.ts; one per pass of a split
 * training micro-batch, which all stay alive until their backward) that only grow, and keeps every call plan
 * it builds on them (forward.ts, backward.ts), one per adapter and bucketed shape (activations.ts passBucket).
 * After the first few calls of a run, a call allocates nothing, creates no bind group and writes only its
 * layout: it loads its rows into the plan of its shape, records it and reads back its results once.
 */
import { ModelFormatError } from '../model/errors';
import type { LlamaConfig } from '../model/config';
import type { GpuContext } from '../../gpu/device';
import { PipelineCache, type MatmulKernels, type PipelineCacheOptions } from '../../gpu/pipelines';
import { readbackPool } from '../../gpu/readback';
import { maxKeys, passBucket, planLadder, type WorkspaceCapacity } from './activations';
import { LoraBackward } from './backward';
import {
  deviceBatchLimits,
  groupRequests,
  mergeGroupResults,
  mergeGroupScores,
  passLimits,
  planBatchGroups,
  requestSizes,
  type BatchGroup,
  type BatchLimits,
  type GroupResult,
  type PromptLogprobs,
} from './batch-plan';
import { capacityFor, ScoringForward, type ForwardResult, type GpuModelWeights } from './forward';
import type { GpuLora } from '../train/gpu-lora';
import type { Generation, GenerationOptions } from '../generation';
import { generateOnGpu } from './generate';
import { capacityUnion, Workspace } from './workspace';
import { destroyGpuWeights, uploadLlamaWeights, type UploadProgress } from './gpu-weights';
import { KlPass, mergePairedGroups, type PairedRows, type PairedTokenLogprobs } from './kl-pass';
import { attentionKernelInfo, type AttentionKernelInfo } from './kernels/attention';
import { matmulKernelInfo } from './kernels/linear';
import { configInvFreq } from './rope';
import { planScoring, type ScoringLayout, type ScoringRequest } from './scoring-layout';
import { checkFiniteTensors, checkShardBytes } from '../model/tensor-cache';
import { LlmTokenizer } from '../model/tokenizer';
import { tokenizeRequests, type ActionScores, type PolicyRequest, type ScoringBatch } from '../scores';
import { MODEL_FILE_LIMITS, readModelFile, readModelIndex, shardLimit, type ModelSource } from '../model/weights';

export interface LoadEngineOptions {
  verifyMd5?: boolean;
  onProgress?: (progress: UploadProgress) => void;
  /**
   * Take the subgroup kernels (the shaders' SUBGROUPS variants) where a shape takes a workgroup kernel: true where
   * the device has the `subgroups` feature, false keeps the f32 workgroup kernels (to compare). Default:
   * GpuContext.useSubgroups (hardware GPUs with the feature).
   */
  useSubgroups?: boolean;
  /**
   * Take the f16 variants of the matrix products and the flash attention backward's f16 tiles where the device
   * has `shader-f16` (PipelineCache.f16, the one decision both read); false
   * keeps f32 everywhere, e.g. to compare the two on one device. Default: on hardware GPUs. A software adapter
   * keeps f32, as it keeps the workgroup kernels (GpuContext.useSubgroups): lavapipe offers `shader-f16` but
   * runs it as f32 arithmetic plus conversions: on a hidden-512 model a scoring pass took 1.19x as long in f16 as
   * in f32 there and a training update 1.04x (`bench score` / `bench train`, timed in turns).
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

/** What ran: `score --json`, `bench score --json` and `bench train --json` report it. */
export interface KernelInfo {
  /** The adapter, as it names itself. */
  adapter: string;
  /** The precision of the matrix products' arithmetic. */
  precision: 'f16' | 'f32';
  /** The adapter's subgroup size (its largest, where it reports a range), or null where it has no subgroups. */
  subgroupSize: number | null;
  /** Whether the engine takes the subgroup kernels (PipelineCache.subgroups). */
  subgroups: boolean;
  /** The matrix-product kernel of the model's layer projections (kernels/linear.ts matmulKernelInfo). */
  matmul: string;
  /**
   * Attention's kernel in scoring and training, and its tiles' precision forward and backward
   * (kernels/attention.ts attentionKernelInfo): f16 backward tiles where the engine takes f16 (PipelineCache.f16)
   * and the model's heads take the flash kernels, f32 forward tiles; `generate` reports its KV-cache kernel.
   */
  attention: AttentionKernelInfo;
}

/** One adapter's forward plans on a workspace, one per rung (rows) of planLadder. */
interface Ladder {
  lora: GpuLora | null;
  rungs: number[];
  /** The plan of each rung, once built (all at once on a reserved workspace, else at the rung's first pass). */
  forwards: (ScoringForward | undefined)[];
}

/** One pass ready to be recorded into a command encoder of the caller's (LlamaEngine.preparePass). */
export interface PreparedPass {
  group: BatchGroup;
  layout: ScoringLayout;
  forward: ScoringForward;
}

export class LlamaEngine {
  readonly pipelines: PipelineCache;
  /** What one forward pass may allocate and dispatch; larger batches are split to fit. */
  readonly batchLimits: BatchLimits;
  /** Workspaces by pass slot (slot i: the i-th pass of a split training micro-batch; scoring uses slot 0). */
  private readonly workspaces: Workspace[] = [];
  /** The plan ladders built on each workspace, by adapter (0: the frozen model). */
  private readonly ladders = new Map<Workspace, Map<number, Ladder>>();
  /** Workspaces sized by reserve() (and those they grew into): their ladders are built whole. */
  private readonly reserved = new WeakSet<Workspace>();
  /** The adapters whose ladders a grown workspace builds at its first use (those of the one it replaced). */
  private readonly pendingLadders = new Map<Workspace, (GpuLora | null)[]>();
  private readonly backwards = new Map<ScoringForward, LoraBackward>();
  /** The paired passes' kept logits and KL (forwardPairedTokenLogprobs), one per workspace, freed with it. */
  private readonly klPasses = new Map<Workspace, KlPass>();
  private readonly loraIds = new WeakMap<GpuLora, number>();
  private nextLoraId = 1;
  /** The end of the last body queued by exclusive(). */
  private turn: Promise<unknown> = Promise.resolve();
  /**
   * What the static plan has cost so far: workspaces allocated, forward and backward plans built, and the
   * distinct pass shapes seen, exact (what per-call allocation would have sized buffers for) and bucketed.
   */
  readonly planStats = {
    workspaces: 0,
    forwardPlans: 0,
    backwardPlans: 0,
    exactShapes: new Set<string>(),
    bucketedShapes: new Set<string>(),
  };

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
    const tokenizerBytes = await readModelFile(source, 'tokenizer.json', MODEL_FILE_LIMITS['tokenizer.json']);
    if (!tokenizerBytes)
      throw new ModelFormatError(source.describe('tokenizer.json'), 'missing: the model needs an HF tokenizer.json');
    const tokenizer = await LlmTokenizer.fromJSON(tokenizerBytes, {
      bosId: config.bosTokenId,
      file: source.describe('tokenizer.json'),
    });
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new ModelFormatError(
        source.describe('tokenizer.json'),
        `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`,
      );
    }
    const readShard = async (index: number): Promise<Uint8Array> => {
      const shard = cache.shards[index];
      const bytes = await readModelFile(source, shard.dataPath, shardLimit(shard.nbytes));
      if (!bytes)
        throw new ModelFormatError(
          source.describe(shard.dataPath),
          'missing: a weight shard listed in the tensor cache; download the model again',
        );
      checkShardBytes(shard, bytes, source.describe(shard.dataPath), options.verifyMd5 ?? true);
      checkFiniteTensors(shard, bytes, source.describe(shard.dataPath));
      return bytes;
    };
    const weights = await uploadLlamaWeights(gpu.device, config, cache, readShard, configInvFreq(config), {
      onProgress: options.onProgress,
      maxBindingBytes: options.maxBindingBytes,
    });
    return LlamaEngine.fromWeights(gpu, config, tokenizer, weights, options);
  }

  /**
   * An engine on weights already on the device (load() uploads them; `twosome bench plan` reserves them on a
   * recording device: gpu-weights.ts reserveLlamaWeights).
   */
  static fromWeights(
    gpu: GpuContext,
    config: LlamaConfig,
    tokenizer: LlmTokenizer,
    weights: GpuModelWeights,
    options: Pick<LoadEngineOptions, 'useSubgroups' | 'f16' | 'matmul' | 'maxActivationBytes'> = {},
  ): LlamaEngine {
    const subgroups = options.useSubgroups ?? gpu.useSubgroups;
    const kernels = { subgroups, f16: options.f16 ?? !gpu.isSoftware, matmul: options.matmul };
    return new LlamaEngine(gpu, config, tokenizer, weights, kernels, options.maxActivationBytes);
  }

  /** The kernels this engine runs on its adapter. */
  get kernelInfo(): KernelInfo {
    const { adapterInfo: a, subgroupSizes } = this.gpu;
    const named = [a.vendor, a.architecture, a.device, a.description].filter((x) => x.trim() !== '');
    const adapter = named.join(' ') || this.gpu.adapterKind;
    const { matmul, precision } = matmulKernelInfo(this.pipelines, this.weights.layers[0]?.qkv ?? this.weights.lmHead);
    const subgroupSize = subgroupSizes?.max ?? null;
    const attention = attentionKernelInfo(this.pipelines, this.config.headDim);
    return { adapter, precision, subgroupSize, subgroups: this.pipelines.subgroups, matmul, attention };
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
  async forwardTokenLogprobs(
    requests: readonly ScoringRequest[],
    options: ForwardScoresOptions = {},
  ): Promise<PromptLogprobs[]> {
    const results = await this.runGroups(requests, options);
    return mergeGroupResults(requestSizes(requests), results, this.config.hidden);
  }

  /**
   * forwardTokenLogprobs without and with `lora` on the same passes, and per scored token KL(base || adapted) of
   * the two models' next-token distributions, computed on the GPU (kl-pass.ts: the adapted pass's logits are
   * kept while the frozen model's pass runs; only the per-token values come back). The capability check's meanKl.
   */
  async forwardPairedTokenLogprobs(
    requests: readonly ScoringRequest[],
    options: { lora: GpuLora; mode?: 'shared' | 'separate' },
  ): Promise<PairedTokenLogprobs[]> {
    return this.exclusive(async () => {
      const mode = options.mode ?? 'shared';
      const results: { group: BatchGroup; layout: ScoringLayout; rows: PairedRows }[] = [];
      for (const group of this.planGroups(requests, mode)) {
        const layout = planScoring(groupRequests(requests, group), mode);
        // The adapter's plan first: its workspace then holds the adapter's buffers and the frozen model's plan
        // fits on it as it is (the other order could grow the workspace and release the first plan).
        const adapted = await this.forwardFor(layout, { lora: options.lora });
        const base = await this.forwardFor(layout, { lora: null });
        const kl = await this.klPassFor(adapted.workspace, layout.logitRows.length);
        results.push({ group, layout, rows: await kl.run(layout, adapted, base) });
      }
      return mergePairedGroups(requestSizes(requests), results);
    });
  }

  /** The workspace's KL pass, made (or remade larger) to hold `rows` logit rows. */
  private async klPassFor(ws: Workspace, rows: number): Promise<KlPass> {
    const kept = this.klPasses.get(ws);
    if (kept && kept.rows >= rows) return kept;
    kept?.dispose();
    const ctx = { device: this.gpu.device, pipelines: this.pipelines };
    const pass = await KlPass.create(ctx, ws, Math.min(passBucket(rows), ws.capacity.logitRows));
    this.klPasses.set(ws, pass);
    return pass;
  }

  private runGroups(requests: readonly ScoringRequest[], options: ForwardScoresOptions): Promise<GroupResult[]> {
    return this.exclusive(async () => {
      const mode = options.mode ?? 'shared';
      const results: GroupResult[] = [];
      for (const group of this.planGroups(requests, mode)) {
        const layout = planScoring(groupRequests(requests, group), mode);
        const forward = await this.forwardFor(layout, { lora: options.lora });
        forward.load(layout);
        results.push({ group, layout, ...(await forward.run()) });
      }
      return results;
    });
  }

  /**
   * Continues `promptTokens` (BOS first) as free text (../generation.ts: greedy or sampled, to a newline, EOS or
   * `maxTokens`) with a KV cache (generate.ts), with `lora` added when given; in the engine's turn.
   */
  generate(
    promptTokens: readonly number[],
    options: GenerationOptions & { lora?: GpuLora | null },
  ): Promise<Generation> {
    return this.exclusive(() => generateOnGpu(this, promptTokens, options));
  }

  /**
   * Runs `body` with the engine's workspaces and plans to itself, after every body queued before it: a training
   * micro-batch keeps its activations in the workspace from its forward to its backward, and a scoring call in
   * between (the playground scores with the adapter the trainer trains, on this engine) would overwrite them, or
   * grow the workspace under it. forwardScores, reserve, LoraTrainer.accumulate and the actor's fused rollout step
   * take it; `body` must not call them (it would wait for itself): inside, use forwardFor, preparePass and the
   * plans directly.
   */
  exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.turn.then(body);
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * The pass that scores `requests`, ready for the caller to load and record into a submission of its own
   * (twosome-gpu.ts runs the policy's scoring, the critic's features and the critic in one), or null when the
   * requests need several passes (batch-plan.ts; then forwardScores runs them one by one).
   */
  async preparePass(
    requests: readonly ScoringRequest[],
    options: ForwardScoresOptions = {},
  ): Promise<PreparedPass | null> {
    const groups = this.planGroups(requests, options.mode);
    if (groups.length !== 1) return null;
    const layout = planScoring(groupRequests(requests, groups[0]), options.mode);
    return { group: groups[0], layout, forward: await this.forwardFor(layout, { lora: options.lora }) };
  }

  /** Per prompt, each action's scores from a prepared pass's results (as forwardScores returns them). */
  passScores(batch: ScoringBatch, pass: PreparedPass, result: ForwardResult): ActionScores[] {
    return mergeGroupScores(batch, [{ group: pass.group, layout: pass.layout, ...result }], this.config.hidden);
  }

  /**
   * Grows the scoring workspace (slot 0) to hold passes of `batch`: up to P prompts of T tokens, each with up
   * to N actions of up to n tokens (as memory-plan.ts plans them), so that a run whose caller knows its bound
   * (twosome-gpu.ts: the largest observations seen) allocates for it once, not at every new longest batch.
   */
  reserve(
    batch: { prompts: number; promptTokens: number; actions: number; actionTokens: number },
    options: { lora?: GpuLora | null; training?: boolean } = {},
  ): Promise<void> {
    const { prompts: P, promptTokens: T, actions: N, actionTokens: n } = batch;
    const cap = passLimits(this.config, this.batchLimits);
    const targets = (l: GpuLora) => [...new Set(l.modules.map((m) => m.slice.target))];
    const lora = options.lora ? { r: options.lora.r, targets: targets(options.lora) } : null;
    const need = {
      rows: Math.min(passBucket(P * (T + N * n)), cap.rows),
      logitRows: Math.min(passBucket(P * N * n), cap.logitRows),
      prompts: passBucket(P),
      positions: passBucket(T + n),
      training: options.training === true,
      lora,
    };
    return this.exclusive(async () => void this.reserved.add(this.workspaceFor(0, need)));
  }

  /**
   * The forward plan that runs `layout`, on workspace `slot`: the smallest rung of the workspace's ladder
   * (activations.ts planLadder) that holds its rows, for its adapter (null: the frozen model). The caller loads
   * the layout (forward.load) right before submitting its encoder. Training plans (`training`) keep every
   * layer's input for the backward; a scoring call on a training workspace runs the same plan.
   */
  async forwardFor(
    layout: ScoringLayout,
    options: { lora?: GpuLora | null; training?: boolean; slot?: number } = {},
  ): Promise<ScoringForward> {
    const lora = options.lora ?? null;
    const need = capacityFor(layout, { lora, training: options.training === true, bucketed: true });
    const cap = passLimits(this.config, this.batchLimits);
    need.rows = Math.max(layout.tokens.length, Math.min(need.rows, cap.rows));
    need.logitRows = Math.max(layout.logitRows.length, Math.min(need.logitRows, cap.logitRows));
    const ws = this.workspaceFor(options.slot ?? 0, need);
    const ladder = await this.ladderFor(ws, lora);
    const rung = ladder.rungs.findIndex((rows) => rows >= layout.tokens.length);
    const forward = ladder.forwards[rung] ?? (await this.buildRung(ws, ladder, rung));
    const kind = `${lora ? 'lora' : 'frozen'} ${options.training ? 'training' : 'scoring'}`;
    const exact = [layout.tokens.length, layout.logitRows.length, layout.lastPromptRows.length];
    this.planStats.exactShapes.add(`${kind} ${exact.join(' ')}`);
    this.planStats.bucketedShapes.add(`${kind} ${ladder.rungs[rung]}`);
    return forward;
  }

  /** The backward plan of a training forward (built with its ladder; room for any layout of its rows). */
  async backwardFor(forward: ScoringForward): Promise<LoraBackward> {
    const backward = this.backwards.get(forward);
    if (!backward) {
      throw new Error('backwardFor: not a training plan of this engine (forwardFor with a LoRA adapter and training)');
    }
    return backward;
  }

  /**
   * The plans of `lora` on `ws`, one per rung of the workspace's ladder. On a reserved workspace (a run that
   * will call again and again: engine.reserve) all are built at its first use, so that no later pass of any size
   * up to the capacity builds anything; elsewhere (a few scoring calls, a probe of an adapter) each rung at its
   * first pass. With a LoRA adapter on a training workspace, each rung's backward plan too, with room for the key
   * readers of any layout of its rows.
   */
  private async ladderFor(ws: Workspace, lora: GpuLora | null): Promise<Ladder> {
    // The ladders of the workspace this one replaced, first.
    const pending = this.pendingLadders.get(ws);
    if (pending) {
      this.pendingLadders.delete(ws);
      for (const other of pending) if (other !== lora) await this.ladderFor(ws, other);
    }
    let ladders = this.ladders.get(ws);
    if (!ladders) this.ladders.set(ws, (ladders = new Map()));
    const id = lora ? this.loraId(lora) : 0;
    const kept = ladders.get(id);
    if (kept) return kept;
    const rungs = planLadder(ws.capacity.rows);
    const ladder: Ladder = { lora, rungs, forwards: rungs.map(() => undefined) };
    ladders.set(id, ladder);
    if (this.reserved.has(ws)) for (let i = 0; i < rungs.length; i++) await this.buildRung(ws, ladder, i);
    return ladder;
  }

  /** The plan of rung `i` of `ladder` (and its backward plan on a training workspace with an adapter). */
  private async buildRung(ws: Workspace, ladder: Ladder, i: number): Promise<ScoringForward> {
    const ctx = { device: this.gpu.device, pipelines: this.pipelines };
    const { lora } = ladder;
    const rows = ladder.rungs[i];
    const shape = { rows, logitRows: ws.capacity.logitRows, prompts: ws.capacity.prompts };
    const options = { lora, keepCheckpoints: ws.capacity.training, limits: this.batchLimits };
    const forward = await ScoringForward.create(ctx, ws, this.weights, shape, options);
    ladder.forwards[i] = forward;
    this.planStats.forwardPlans++;
    if (lora && ws.capacity.training) {
      this.backwards.set(forward, await LoraBackward.create(ctx, forward, maxKeys(rows)));
      this.planStats.backwardPlans++;
    }
    return forward;
  }

  /** Releases the plans built with `lora` (its owner is done with it). */
  releaseLora(lora: GpuLora): void {
    const id = this.loraIds.get(lora);
    if (id === undefined) return;
    for (const ladders of this.ladders.values()) {
      ladders.get(id)?.forwards.forEach((f) => f && this.releaseForward(f));
      ladders.delete(id);
    }
    for (const [ws, adapters] of this.pendingLadders)
      this.pendingLadders.set(
        ws,
        adapters.filter((a) => a !== lora),
      );
  }

  /** Frees every workspace and plan: the next call allocates and builds anew (for its own shapes only). */
  releasePlans(): void {
    this.workspaces.forEach((ws) => this.releaseWorkspace(ws));
    this.workspaces.length = 0;
  }

  private loraId(lora: GpuLora): number {
    let id = this.loraIds.get(lora);
    if (id === undefined) this.loraIds.set(lora, (id = this.nextLoraId++));
    return id;
  }

  /**
   * Workspace `slot`, grown to hold `need` if it does not: the plans on the old one are released with it, and
   * the ladders it had are built again on the new one (at the next call that needs one), so that a growth costs
   * one rebuild, not one per adapter spread over later calls.
   */
  private workspaceFor(slot: number, need: WorkspaceCapacity): Workspace {
    const ws = this.workspaces[slot];
    if (ws?.fits(need)) return ws;
    const capacity = ws ? capacityUnion(ws.capacity, need) : need;
    let adapters: (GpuLora | null)[] = [];
    const reserved = ws !== undefined && this.reserved.has(ws);
    if (ws) {
      // A run whose batches outgrew the first capacity is likely to outgrow a tight one again: grow by half
      // again (at most the limits' cap), so that it settles after a few growths.
      const cap = passLimits(this.config, this.batchLimits);
      const limit = { rows: cap.rows, logitRows: cap.logitRows, prompts: Infinity, positions: Infinity };
      for (const dim of ['rows', 'logitRows', 'prompts', 'positions'] as const) {
        if (capacity[dim] <= ws.capacity[dim]) continue;
        capacity[dim] = Math.max(need[dim], Math.min(passBucket(Math.ceil(capacity[dim] * 1.5)), limit[dim]));
      }
      adapters = [...(this.ladders.get(ws)?.values() ?? [])].map((l) => l.lora);
      this.releaseWorkspace(ws);
    }
    this.planStats.workspaces++;
    const grown = Workspace.create(this.gpu.device, this.config, this.weights.invFreq, capacity);
    this.workspaces[slot] = grown;
    if (reserved) this.reserved.add(grown);
    // The largest readback of its plans: every scored token's log-prob and every prompt's hidden state.
    readbackPool(this.gpu.device).reserve(4 * (capacity.logitRows + capacity.prompts * this.config.hidden));
    this.pendingLadders.set(grown, adapters);
    return grown;
  }

  private releaseForward(forward: ScoringForward): void {
    this.backwards.get(forward)?.dispose();
    this.backwards.delete(forward);
    forward.dispose();
  }

  private releaseWorkspace(ws: Workspace): void {
    for (const ladder of this.ladders.get(ws)?.values() ?? []) {
      ladder.forwards.forEach((f) => f && this.releaseForward(f));
    }
    this.ladders.delete(ws);
    this.pendingLadders.delete(ws);
    this.klPasses.get(ws)?.dispose();
    this.klPasses.delete(ws);
    ws.dispose();
  }

  dispose(): void {
    this.releasePlans();
    destroyGpuWeights(this.weights);
  }
}
