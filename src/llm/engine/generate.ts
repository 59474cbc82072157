/**
 * Generation on the GPU with a KV cache: the prompt runs through the model once (prefill, one pass of all its
 * rows), and each generated token then runs as one row (decode), its attention reading the K and V heads of
 * every earlier position from a cache per layer (kernels/kv-cache.ts) instead of recomputing the sequence.
 *
 * Per layer the pass is forward.ts's layerForwardCalls (projections with the LoRA adapter when given, RoPE,
 * norms, MLP) with attention replaced: the rows' K and V heads are appended to the layer's cache at their
 * positions, then each row attends to the cache's positions 0 .. its own. Then the last row's logits:
 *   xn final [R, D] -> gather row R - 1 -> · W_lm^T -> logits [1, V], read back for the sampler (../generation.ts).
 *
 * Two static plans on one workspace of the prompt's rows: the prefill's (R = prompt tokens) and the decode's
 * (R = 1), each loaded with its token ids and positions before it runs. The caches hold `capacity` positions
 * (prompt + max tokens, within the context window); one generator serves one sequence.
 */
import { disposeCalls, encodeCalls, type KernelCall, type KernelContext } from '../../gpu/kernel';
import { readbackPool } from '../../gpu/readback';
import type { GpuLora } from '../train/gpu-lora';
import {
  checkGenerationOptions,
  checkGenerationPrompt,
  generate,
  generationLength,
  matchAction,
  type FreeAnswer,
  type FreeAnswers,
  type Generation,
  type GenerationOptions,
  type NextTokenModel,
} from '../generation';
import type { LlamaEngine } from './engine';
import { layerForwardCalls, type GpuModelWeights, type LayoutBuffers, layerActivations } from './forward';
import { cachedAttentionCall, kvCacheAppendCall, kvCacheWidth } from './kernels/kv-cache';
import { embeddingCall } from './kernels/embedding';
import { gatherRowsCall } from './kernels/gather-rows';
import { linearCall } from './kernels/linear';
import { rmsnormForwardCall } from './kernels/rmsnorm';
import { Workspace } from './workspace';

/** One pass of `rows` rows over the caches: its inputs and calls. */
interface CachedPass {
  rows: number;
  tokens: GPUBuffer;
  positions: GPUBuffer;
  calls: KernelCall[];
  owned: GPUBuffer[];
}

export class KvCacheGenerator implements NextTokenModel {
  private readonly passes: CachedPass[] = [];
  private prefillPass!: CachedPass;
  private decodePass!: CachedPass;

  private constructor(
    private readonly ctx: KernelContext,
    private readonly model: GpuModelWeights,
    private readonly workspace: Workspace,
    /** Per layer, [capacity, 2 KVH hd]: the K and V heads of every position so far. */
    private readonly caches: GPUBuffer[],
    readonly capacity: number,
    readonly promptRows: number,
  ) {}

  /**
   * A generator for a prompt of `promptRows` tokens and sequences of up to `capacity` positions, with `lora`
   * added into the projections (null: the frozen model).
   */
  static async create(
    ctx: KernelContext,
    model: GpuModelWeights,
    options: { promptRows: number; capacity: number; lora: GpuLora | null },
  ): Promise<KvCacheGenerator> {
    const { promptRows, capacity, lora } = options;
    if (promptRows < 1 || promptRows > capacity)
      throw new RangeError(`generation: a prompt of ${promptRows} tokens for ${capacity} positions`);
    const shape = model.shape;
    const cacheBytes = 4 * capacity * kvCacheWidth(shape);
    const limit = ctx.device.limits.maxStorageBufferBindingSize;
    if (cacheBytes > limit) {
      throw new RangeError(
        `generation: a KV cache of ${capacity} positions needs ${cacheBytes} bytes per layer, over this ` +
          `GPU's ${limit}; generate fewer tokens`,
      );
    }
    const targets = lora ? [...new Set(lora.modules.map((m) => m.slice.target))] : [];
    const workspace = Workspace.create(ctx.device, shape, model.invFreq, {
      rows: promptRows,
      logitRows: 1,
      prompts: 1,
      positions: capacity,
      training: false,
      lora: lora ? { r: lora.r, targets } : null,
    });
    const caches = Array.from({ length: shape.layers }, (_, l) =>
      ctx.device.createBuffer({ label: `kv cache ${l}`, size: cacheBytes, usage: GPUBufferUsage.STORAGE }),
    );
    const g = new KvCacheGenerator(ctx, model, workspace, caches, capacity, promptRows);
    g.prefillPass = await g.buildPass(promptRows, lora);
    g.decodePass = await g.buildPass(1, lora);
    return g;
  }

  private async buildPass(R: number, lora: GpuLora | null): Promise<CachedPass> {
    const { ctx, model, workspace: ws } = this;
    const { device } = ctx;
    const shape = model.shape;
    const { hidden: D, rmsNormEps: eps, layers: L, heads: H, kvHeads: KVH, headDim: hd } = shape;
    const u32 = (label: string, data: Uint32Array<ArrayBuffer>) => {
      const b = device.createBuffer({
        label,
        size: Math.max(4, data.byteLength),
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(b, 0, data);
      return b;
    };
    const tokens = u32('generation tokens', new Uint32Array(R));
    const positions = u32('generation positions', new Uint32Array(R));
    const lastRow = u32('generation last row', Uint32Array.of(R - 1));
    // Attention reads the caches, not segments: layerForwardCalls' segments buffer goes unread.
    const layout: LayoutBuffers = { tokens, positions, segments: positions, cosSin: ws.get('rope cos/sin') };
    const act = layerActivations(ws);
    const calls: KernelCall[] = [];
    calls.push(...(await embeddingCall(ctx, tokens, model.embed, ws.residual(0), R)));
    const x0 = { x: ws.residual(0), weight: model.layers[0].inputNorm, y: act.xn1, rstd: act.rstd1 };
    calls.push(await rmsnormForwardCall(ctx, x0, R, D, eps));
    const kvShape = { rows: R, heads: H, kvHeads: KVH, headDim: hd };
    for (let l = 0; l < L; l++) {
      const layerLora = lora ? { ...lora, modules: lora.modules.filter((m) => m.layer === l) } : null;
      const norm =
        l + 1 < L
          ? { weight: model.layers[l + 1].inputNorm, y: act.xn1, rstd: act.rstd1 }
          : { weight: model.finalNorm, y: ws.get('xn final'), rstd: ws.get('rstd final') };
      const cache = this.caches[l];
      const attention = async () => [
        await kvCacheAppendCall(ctx, { qkv: act.qkv, positions, cache }, kvShape),
        await cachedAttentionCall(ctx, { qkv: act.qkv, positions, cache, out: act.attn }, kvShape, this.capacity),
      ];
      const io = { xIn: ws.residual(l), end: { xOut: ws.residual(l + 1), norm }, attention };
      calls.push(...(await layerForwardCalls(ctx, shape, model.layers[l], layerLora, act, io, layout, R)));
    }
    calls.push(await gatherRowsCall(ctx, ws.get('xn final'), lastRow, ws.get('gathered'), 1, D));
    calls.push(...(await linearCall(ctx, ws.get('gathered'), model.lmHead, ws.get('logits'), 1)));
    const pass = { rows: R, tokens, positions, calls, owned: [tokens, positions, lastRow] };
    this.passes.push(pass);
    return pass;
  }

  /** Runs `pass` on `tokens` at `positions` and reads the last row's logits [V]. */
  private async run(pass: CachedPass, tokens: readonly number[], positions: readonly number[]): Promise<Float32Array> {
    const { device } = this.ctx;
    const V = this.model.shape.vocabSize;
    for (const t of tokens)
      if (!Number.isInteger(t) || t < 0 || t >= V)
        throw new RangeError(`token id ${t} is outside the model's vocabulary of ${V}`);
    device.queue.writeBuffer(pass.tokens, 0, Uint32Array.from(tokens));
    device.queue.writeBuffer(pass.positions, 0, Uint32Array.from(positions));
    const encoder = device.createCommandEncoder();
    const compute = encoder.beginComputePass({ label: `generation, ${pass.rows} rows` });
    encodeCalls(compute, pass.calls);
    compute.end();
    const staged = readbackPool(device).stage(encoder, [{ buffer: this.workspace.get('logits'), count: V }]);
    device.queue.submit([encoder.finish()]);
    const [logits] = await staged.read();
    return logits;
  }

  prefill(promptTokens: readonly number[]): Promise<Float32Array> {
    if (promptTokens.length !== this.promptRows) {
      const got = promptTokens.length;
      throw new RangeError(`generation: this generator prefills ${this.promptRows} tokens, got ${got}`);
    }
    return this.run(
      this.prefillPass,
      promptTokens,
      promptTokens.map((_, t) => t),
    );
  }

  step(token: number, position: number): Promise<Float32Array> {
    if (!Number.isInteger(position) || position < this.promptRows || position >= this.capacity) {
      throw new RangeError(
        `generation: position ${position} is outside the cache's ${this.promptRows} .. ${this.capacity - 1}`,
      );
    }
    return this.run(this.decodePass, [token], [position]);
  }

  dispose(): void {
    for (const pass of this.passes) {
      disposeCalls(pass.calls);
      pass.owned.forEach((b) => b.destroy());
    }
    this.caches.forEach((b) => b.destroy());
    this.workspace.dispose();
  }
}

/** What generateOnGpu needs of the engine (LlamaEngine has it). */
export interface GenerationEngine {
  gpu: { device: GPUDevice };
  pipelines: KernelContext['pipelines'];
  weights: GpuModelWeights;
  config: { contextWindow: number; eosTokenIds: readonly number[] };
  tokenizer: { decode(ids: readonly number[]): string };
}

/**
 * Continues `promptTokens` (BOS first) on the GPU with a KV cache sized for this generation, freed after it.
 * LlamaEngine.generate runs it in the engine's turn.
 */
export async function generateOnGpu(
  engine: GenerationEngine,
  promptTokens: readonly number[],
  options: GenerationOptions & { lora?: GpuLora | null },
): Promise<Generation> {
  checkGenerationOptions(options);
  const { contextWindow, eosTokenIds } = engine.config;
  const text = { decode: (ids: readonly number[]) => engine.tokenizer.decode(ids), eosTokenIds, contextWindow };
  checkGenerationPrompt(promptTokens.length, contextWindow);
  const ctx = { device: engine.gpu.device, pipelines: engine.pipelines };
  const capacity = generationLength(promptTokens.length, options, contextWindow);
  const model = await KvCacheGenerator.create(ctx, engine.weights, {
    promptRows: promptTokens.length,
    capacity,
    lora: options.lora ?? null,
  });
  try {
    return await generate(model, text, promptTokens, options);
  } finally {
    model.dispose();
  }
}

/**
 * An environment's prompt continued freely by the frozen model and, when `lora` is given, by the adapted one,
 * each answer matched against the offered actions (../generation.ts matchAction).
 */
export async function askFreely(
  engine: Pick<LlamaEngine, 'generate' | 'tokenizer'>,
  observation: { prompt: string; actions: readonly string[] },
  options: GenerationOptions,
  lora: GpuLora | null,
): Promise<FreeAnswers & { promptTokenIds: number[] }> {
  const promptTokenIds = engine.tokenizer.encodePrompt(observation.prompt);
  const answer = async (adapter: GpuLora | null): Promise<FreeAnswer> => {
    const g = await engine.generate(promptTokenIds, { ...options, lora: adapter });
    return { ...g, action: matchAction(g.text, observation.actions) };
  };
  const base = await answer(null);
  return { promptTokenIds, base, adapted: lora ? await answer(lora) : null };
}
