/**
 * TWOSOME's actor and critic on the WebGPU engine (implementations of twosome-model.ts):
 *
 * - `GpuTwosomeActor` scores with the adapter on (`LlamaEngine.forwardScores` with the trainer's LoRA) and
 *   trains it with a `LoraTrainer` (LoRA backward, AdamW with global-norm clipping on the GPU); it takes the
 *   critic features from the same engine call without the adapter. Every call tokenizes its requests once.
 *   The frozen model with the adapter off is a fixed function of the prompt, and the engine computes each
 *   prompt's rows independently of the others in a call (bit-identical alone or batched), so features are
 *   memoized per prompt text: exact, and after a few updates most steps need no adapter-off pass at all.
 * - `GpuTwosomeCritic` is the MLP head (`GpuCritic`) with its own `GpuAdam`.
 *
 * `createGpuTwosomeModels` builds both for a config, from the run's seeds or from a checkpoint.
 */
import { createStorageBuffer } from '../gpu/buffers';
import type { LlamaEngine } from '../llm/engine/engine';
import { CriticPass, GpuCritic } from '../llm/train/gpu-critic';
import type { LoraHandle } from '../llm/train/gpu-lora';
import { LORA_TARGETS, checkLoraConfig, type LoraConfig as EngineLoraConfig, type LoraTarget } from '../llm/train/lora';
import { LoraTrainer } from '../llm/train/lora-trainer';
import { batchTokens, type ActionScores, type PolicyRequest, type ScoringBatch } from '../llm/scores';
import { planTrainingMemory } from '../llm/engine/memory-plan';
import { GpuAdam } from '../llm/train/optimizer';
import { initCritic } from '../llm/reference/critic';
import { Rng } from '../util/rng';
import type { PpoConfig } from './config';
import type { ActorState, AdamSettings, CriticState, MemoryQuery, OptimizerStepInfo, TwosomeActor, TwosomeCritic } from './twosome-model';

/** The engine's LoRA config from the PPO config's (validated: r, alpha, dropout 0, known targets). */
export function engineLoraConfig(lora: PpoConfig['lora']): EngineLoraConfig {
  const targets = lora.targets.map((t) => {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) throw new Error(`unknown LoRA target "${t}" (use ${LORA_TARGETS.join(', ')})`);
    return t as LoraTarget;
  });
  const config: EngineLoraConfig = { r: lora.r, alpha: lora.alpha, dropout: lora.dropout, targets };
  const problems = checkLoraConfig(config);
  if (problems.length) throw new Error(problems.join('; '));
  return config;
}

function clearBuffers(device: GPUDevice, buffers: readonly GPUBuffer[]): void {
  const encoder = device.createCommandEncoder();
  for (const b of buffers) encoder.clearBuffer(b);
  device.queue.submit([encoder.finish()]);
}

export interface GpuActorOptions {
  lora: EngineLoraConfig;
  optimizer: AdamSettings;
  /** Seed of the adapter's PEFT init (A uniform, B zero). */
  seed: number;
  /** Bytes of critic features kept in the per-prompt memo (default 64 MiB); 0 turns it off. */
  featureCacheBytes?: number;
}

export class GpuTwosomeActor implements TwosomeActor {
  readonly featureDim: number;
  private tokenCount = 0;
  private dirty = false;
  private readonly cache = new Map<string, Float32Array>();
  private readonly cacheLimit: number;

  private constructor(
    readonly engine: LlamaEngine,
    readonly trainer: LoraTrainer,
    featureCacheBytes: number,
  ) {
    this.featureDim = engine.config.hidden;
    this.cacheLimit = Math.floor(featureCacheBytes / (4 * this.featureDim));
  }

  static create(engine: LlamaEngine, options: GpuActorOptions): GpuTwosomeActor {
    const trainer = LoraTrainer.create(engine, { lora: options.lora, seed: options.seed, optimizer: { lr: 0, ...options.optimizer } });
    return new GpuTwosomeActor(engine, trainer, options.featureCacheBytes ?? 64 * 2 ** 20);
  }

  get tokens(): number {
    return this.tokenCount;
  }

  holdAdapter(): LoraHandle {
    return this.trainer.holdLora();
  }

  /** Tokenizes once, and counts what the model will run. */
  private tokenize(requests: readonly PolicyRequest[]): ScoringBatch {
    const batch = this.engine.tokenize(requests);
    this.tokenCount += batchTokens(batch);
    return batch;
  }

  async score(requests: readonly PolicyRequest[]): Promise<ActionScores[]> {
    return this.engine.forwardScores(this.tokenize(requests), { lora: this.trainer.lora });
  }

  async features(requests: readonly PolicyRequest[]): Promise<Float32Array[]> {
    const missing = new Map<string, PolicyRequest>();
    for (const r of requests) if (!this.cache.has(r.prompt)) missing.set(r.prompt, r);
    const fresh = new Map<string, Float32Array>();
    if (missing.size > 0) {
      // The prompt's hidden state does not depend on the actions after it: score one action only.
      const todo = [...missing.values()].map((r) => ({ prompt: r.prompt, actions: [r.actions[0]] }));
      const scored = await this.engine.forwardScores(this.tokenize(todo));
      scored.forEach((s, i) => fresh.set(todo[i].prompt, s.promptHidden as Float32Array));
    }
    const out = requests.map((r) => {
      const cached = this.cache.get(r.prompt);
      if (cached) {
        // LRU: move to the end.
        this.cache.delete(r.prompt);
        this.cache.set(r.prompt, cached);
        return cached;
      }
      return fresh.get(r.prompt) as Float32Array;
    });
    if (this.cacheLimit > 0) {
      for (const [prompt, f] of fresh) this.cache.set(prompt, f);
      while (this.cache.size > this.cacheLimit) this.cache.delete(this.cache.keys().next().value as string);
    }
    return out;
  }

  async accumulate(
    requests: readonly PolicyRequest[],
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<void> {
    this.dirty = true;
    await this.trainer.accumulate(this.tokenize(requests), lossGrad);
  }

  async zeroGrad(): Promise<void> {
    if (!this.dirty) return;
    clearBuffers(this.engine.gpu.device, this.trainer.lora.modules.flatMap((m) => [m.gradA, m.gradB]));
    this.dirty = false;
  }

  async step(lr: number): Promise<OptimizerStepInfo> {
    const info = await this.trainer.step(lr, 1);
    this.dirty = false;
    return info;
  }

  async getState(): Promise<ActorState> {
    return { adapter: await this.trainer.readAdapter(), tensors: [], optimizer: await this.trainer.optimizer.readState() };
  }

  async setState(state: ActorState): Promise<void> {
    const { adapter } = state;
    if (!adapter) throw new Error('the checkpoint has no LoRA adapter');
    const mods = this.trainer.lora.modules;
    if (adapter.modules.length !== mods.length || adapter.config.r !== this.trainer.lora.r) {
      throw new Error(`the checkpoint's adapter (${adapter.modules.length} modules, r ${adapter.config.r}) does not fit this model (${mods.length} modules, r ${this.trainer.lora.r})`);
    }
    const { queue } = this.engine.gpu.device;
    adapter.modules.forEach((m, i) => {
      const g = mods[i];
      if (m.layer !== g.layer || m.slice.target !== g.slice.target || m.a.length !== this.trainer.lora.r * g.slice.inDim || m.b.length !== g.slice.outDim * this.trainer.lora.r) {
        throw new Error(`the checkpoint's adapter module ${i} (layer ${m.layer} ${m.slice.target}) does not fit this model`);
      }
      queue.writeBuffer(g.a, 0, new Float32Array(m.a));
      queue.writeBuffer(g.b, 0, new Float32Array(m.b));
    });
    this.trainer.optimizer.writeState(state.optimizer);
    clearBuffers(this.engine.gpu.device, mods.flatMap((m) => [m.gradA, m.gradB]));
    this.dirty = false;
    await queue.onSubmittedWorkDone();
  }

  memoryEstimate(query: MemoryQuery): number | null {
    const tok = this.engine.tokenizer;
    let promptTokens = 1;
    let actions = 1;
    let actionTokens = 1;
    for (const { prompt, actions: texts } of query.requests) {
      promptTokens = Math.max(promptTokens, tok.encodePrompt(prompt).length);
      actions = Math.max(actions, texts.length);
      for (const a of texts) actionTokens = Math.max(actionTokens, tok.encodeAction(prompt, a).length);
    }
    try {
      const plan = planTrainingMemory(this.engine.config, {
        batch: { prompts: query.promptsPerPass, promptTokens, actions, actionTokens },
        lora: { r: this.trainer.adapter.config.r, targets: this.trainer.adapter.config.targets },
        criticHidden: query.criticHidden,
        criticBatch: query.criticBatch,
      });
      return plan.peakBytes;
    } catch {
      return null;
    }
  }

  dispose(): void {
    this.trainer.dispose();
  }
}

export class GpuTwosomeCritic implements TwosomeCritic {
  readonly sizes: readonly number[];
  private readonly passes = new Map<number, { features: GPUBuffer; pass: CriticPass }>();
  private dirty = false;

  private constructor(
    private readonly device: GPUDevice,
    readonly critic: GpuCritic,
    readonly optimizer: GpuAdam,
  ) {
    this.sizes = critic.sizes.slice();
  }

  static create(engine: LlamaEngine, critic: { sizes: number[]; weights: Float32Array[] }, settings: AdamSettings): GpuTwosomeCritic {
    const { device } = engine.gpu;
    const gpuCritic = GpuCritic.create(device, engine.pipelines, critic);
    const optimizer = GpuAdam.create(device, engine.pipelines, gpuCritic.paramGrads(), { lr: 0, ...settings });
    return new GpuTwosomeCritic(device, gpuCritic, optimizer);
  }

  /** A planned pass for `batch` rows with its input buffer (planned once per batch size). */
  private async passFor(features: readonly Float32Array[]): Promise<CriticPass> {
    const P = features.length;
    const D = this.sizes[0];
    let entry = this.passes.get(P);
    if (!entry) {
      const buffer = createStorageBuffer(this.device, P * D * 4, `critic features [${P}]`);
      entry = { features: buffer, pass: await this.critic.plan(buffer, P) };
      this.passes.set(P, entry);
    }
    const x = new Float32Array(P * D);
    features.forEach((f, i) => {
      if (f.length !== D) throw new RangeError(`critic: a feature row has ${f.length} values, expected ${D}`);
      x.set(f, i * D);
    });
    this.device.queue.writeBuffer(entry.features, 0, x);
    return entry.pass;
  }

  async values(features: readonly Float32Array[]): Promise<Float32Array> {
    return (await this.passFor(features)).forward();
  }

  async accumulate(features: readonly Float32Array[], lossGrad: (values: Float32Array) => ArrayLike<number>): Promise<Float32Array> {
    const pass = await this.passFor(features);
    const values = await pass.forward();
    this.dirty = true;
    pass.backward(Float32Array.from(lossGrad(values)));
    return values;
  }

  async zeroGrad(): Promise<void> {
    if (!this.dirty) return;
    clearBuffers(this.device, this.critic.grads);
    this.dirty = false;
  }

  async step(lr: number): Promise<OptimizerStepInfo> {
    await this.optimizer.step(lr, 1);
    this.dirty = false;
    return this.optimizer.readInfo();
  }

  async getState(): Promise<CriticState> {
    return { sizes: this.sizes.slice(), weights: await this.critic.readWeights(), optimizer: await this.optimizer.readState() };
  }

  async setState(state: CriticState): Promise<void> {
    if (state.sizes.join() !== this.sizes.join()) throw new Error(`the checkpoint's critic has sizes [${state.sizes.join(', ')}], this one [${this.sizes.join(', ')}]`);
    state.weights.forEach((w, l) => this.device.queue.writeBuffer(this.critic.weights[l], 0, new Float32Array(w)));
    this.optimizer.writeState(state.optimizer);
    clearBuffers(this.device, this.critic.grads);
    this.dirty = false;
    await this.device.queue.onSubmittedWorkDone();
  }

  dispose(): void {
    for (const { features, pass } of this.passes.values()) {
      pass.dispose();
      features.destroy();
    }
    this.passes.clear();
    this.optimizer.dispose();
    this.critic.dispose();
  }
}

/** Both optimizers' settings from the config (spec 2.2). */
export function adamSettings(config: PpoConfig, which: 'policy' | 'value'): AdamSettings {
  return { beta1: 0.9, beta2: 0.999, eps: config.adamEps, weightDecay: which === 'policy' ? config.policyWeightDecay : 0, maxGradNorm: config.maxGradNorm };
}

/**
 * The actor and critic of a run on the engine: fresh from the run's seeds (`twosomeSeeds` in the trainer),
 * or with a checkpoint's values (then `TwosomeTrainer.setState` restores the rest).
 */
export function createGpuTwosomeModels(
  engine: LlamaEngine,
  config: PpoConfig,
  seeds: { lora: number; critic: number },
  options: { featureCacheBytes?: number } = {},
): { actor: GpuTwosomeActor; critic: GpuTwosomeCritic } {
  if (config.critic.bias) throw new Error('the GPU critic has no biases (critic.bias must be false, as the paper)');
  const actor = GpuTwosomeActor.create(engine, { lora: engineLoraConfig(config.lora), optimizer: adamSettings(config, 'policy'), seed: seeds.lora, featureCacheBytes: options.featureCacheBytes });
  const init = initCritic(engine.config.hidden, new Rng(seeds.critic), config.critic.hiddenSizes);
  const critic = GpuTwosomeCritic.create(engine, init, adamSettings(config, 'value'));
  return { actor, critic };
}
