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
 * - A rollout step (`GpuTwosomeActor.observe`) scores the new observations with the adapter, computes the
 *   features the memo lacks and runs the critic on every env's features in ONE submission with ONE readback:
 *   the CPU waits for the GPU once per step. The backward passes and optimizer steps are submitted without
 *   waiting (the queue orders them before the next pass).
 * - The engine keeps its activations and call plans between calls (engine.ts); the actor reserves them for the
 *   largest observations it has seen (as the memory plan sizes a pass), so a run allocates them a few times at
 *   its start and then never again.
 *
 * `createGpuTwosomeModels` builds both for a config, from the run's seeds or from a checkpoint.
 */
import { createStorageBuffer } from '../gpu/buffers';
import { disposeCalls, encodeCalls, type KernelCall } from '../gpu/kernel';
import { readbackPool } from '../gpu/readback';
import type { LlamaEngine, PreparedPass } from '../llm/engine/engine';
import { CriticPass, GpuCritic } from '../llm/train/gpu-critic';
import type { LoraHandle } from '../llm/train/gpu-lora';
import type { LoraConfig as EngineLoraConfig } from '../llm/train/lora';
import { LoraTrainer } from '../llm/train/lora-trainer';
import { batchTokens, type ActionScores, type PolicyRequest, type ScoringBatch } from '../llm/scores';
import { planTrainingMemory } from '../llm/engine/memory-plan';
import { GpuAdam } from '../llm/train/optimizer';
import { initCritic } from '../llm/reference/critic';
import { Rng } from '../util/rng';
import type { PpoConfig } from './config';
import type { ValueLossInput } from './ppo-loss';
import { VALUE_LOSS_WORDS, valueLossCall, valueLossTargets } from './value-loss-gpu';
import { GpuPolicyLoss, policyLossRoom } from './policy-loss-gpu';
import type { PolicyLossStats, PolicyPassLoss } from './policy-pass';
import {
  adamSettings,
  engineLoraConfig,
  type ActorState,
  type AdamSettings,
  type CriticState,
  type MemoryQuery,
  type ObservedStep,
  type OptimizerStepInfo,
  type TwosomeActor,
  type TwosomeCritic,
} from './twosome-model';

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
  /** The largest pass seen so far: prompts per call, prompt tokens, actions, action tokens (engine.reserve). */
  private readonly largest = { prompts: 1, promptTokens: 1, actions: 1, actionTokens: 1 };
  /** The engine's latest reservation for it. */
  private reserving: Promise<void> = Promise.resolve();
  /** PPO's policy loss on the GPU (rl/policy-loss-gpu.ts), its buffers kept between passes. */
  private readonly policyLoss: GpuPolicyLoss;

  private constructor(
    readonly engine: LlamaEngine,
    readonly trainer: LoraTrainer,
    featureCacheBytes: number,
  ) {
    this.featureDim = engine.config.hidden;
    this.cacheLimit = Math.floor(featureCacheBytes / (4 * this.featureDim));
    this.policyLoss = new GpuPolicyLoss({ device: engine.gpu.device, pipelines: engine.pipelines });
  }

  static create(engine: LlamaEngine, options: GpuActorOptions): GpuTwosomeActor {
    const trainer = LoraTrainer.create(engine, {
      lora: options.lora,
      seed: options.seed,
      optimizer: { lr: 0, ...options.optimizer },
    });
    return new GpuTwosomeActor(engine, trainer, options.featureCacheBytes ?? 64 * 2 ** 20);
  }

  get tokens(): number {
    return this.tokenCount;
  }

  holdAdapter(): LoraHandle {
    return this.trainer.holdLora();
  }

  /**
   * Tokenizes once, counts what the model will run, and has the engine hold the largest pass seen so far (every
   * call of the run, scoring or training, runs on the engine's one workspace, sized like the memory plan).
   */
  private tokenize(requests: readonly PolicyRequest[]): ScoringBatch {
    const batch = this.engine.tokenize(requests);
    this.tokenCount += batchTokens(batch);
    const l = this.largest;
    const before = JSON.stringify(l);
    l.prompts = Math.max(l.prompts, batch.length);
    for (const r of batch) {
      l.promptTokens = Math.max(l.promptTokens, r.promptTokens.length);
      l.actions = Math.max(l.actions, r.actionTokens.length);
      for (const a of r.actionTokens) l.actionTokens = Math.max(l.actionTokens, a.length);
    }
    // Queued on the engine before the pass that follows (engine.exclusive keeps their order); the caller awaits
    // it before its pass, so a failure surfaces there.
    if (JSON.stringify(l) === before) return batch;
    this.reserving = this.engine.reserve({ ...l }, { lora: this.trainer.lora, training: true });
    return batch;
  }

  async score(requests: readonly PolicyRequest[]): Promise<ActionScores[]> {
    const batch = this.tokenize(requests);
    await this.reserving;
    return this.engine.forwardScores(batch, { lora: this.trainer.lora });
  }

  /**
   * The requests whose prompts the feature memo lacks, with one action each (the prompt's hidden state does not
   * depend on the actions).
   */
  private missingFeatures(requests: readonly PolicyRequest[]): PolicyRequest[] {
    const missing = new Map<string, PolicyRequest>();
    for (const r of requests) {
      if (!this.cache.has(r.prompt)) missing.set(r.prompt, { prompt: r.prompt, actions: [r.actions[0]] });
    }
    return [...missing.values()];
  }

  async features(requests: readonly PolicyRequest[]): Promise<Float32Array[]> {
    const todo = this.missingFeatures(requests);
    const fresh = new Map<string, Float32Array>();
    if (todo.length > 0) {
      const batch = this.tokenize(todo);
      await this.reserving;
      const scored = await this.engine.forwardScores(batch);
      scored.forEach((s, i) => fresh.set(todo[i].prompt, s.promptHidden as Float32Array));
    }
    return this.featuresOf(requests, fresh);
  }

  /** Every request's features: memoized, or in `fresh` (which then joins the memo). */
  private featuresOf(requests: readonly PolicyRequest[], fresh: ReadonlyMap<string, Float32Array>): Float32Array[] {
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

  /**
   * One rollout step in one submission and one wait: `score` with the adapter (the observations not scored yet
   * in this rollout), the features of `observe` that the memo lacks (adapter off), and the critic's values of
   * every `observe` row. Falls back to separate calls where the critic is not this engine's or a pass would have
   * to be split (batch-plan.ts): the results are the same.
   */
  async observe(
    score: readonly PolicyRequest[],
    observe: readonly PolicyRequest[],
    critic: TwosomeCritic,
  ): Promise<ObservedStep> {
    const { device } = this.engine.gpu;
    const separately = async (): Promise<ObservedStep> => {
      const scores = score.length > 0 ? await this.score(score) : [];
      const features = await this.features(observe);
      return { scores, features, values: await critic.values(features) };
    };
    if (!(critic instanceof GpuTwosomeCritic) || critic.device !== device || observe.length === 0) return separately();
    const todo = this.missingFeatures(observe);
    const scoreBatch = score.length > 0 ? this.tokenize(score) : null;
    const featureBatch = todo.length > 0 ? this.tokenize(todo) : null;
    await this.reserving;
    const values = await critic.prepareValues(observe.length);
    // The passes load, run and hand over their results before another pass may use the engine's workspace.
    const submitted = await this.engine.exclusive(async () => {
      const scorePass = scoreBatch ? await this.engine.preparePass(scoreBatch, { lora: this.trainer.lora }) : null;
      const featurePass = featureBatch ? await this.engine.preparePass(featureBatch) : null;
      if ((scoreBatch && !scorePass) || (featureBatch && !featurePass)) return null;
      return this.submitStep(scorePass, featurePass, todo, observe, values);
    });
    if (!submitted) return separately();
    const { scorePass, featurePass, scored, featured, valuesRead } = submitted;
    const reads = [scored?.read(), featured?.read(), valuesRead.read()] as const;
    const [scoreResult, featureResult, criticValues] = await Promise.all(reads);
    const scores = scorePass && scoreResult ? this.engine.passScores(scoreBatch!, scorePass, scoreResult) : [];
    const fresh = new Map<string, Float32Array>();
    if (featurePass && featureResult) {
      const scored = this.engine.passScores(featureBatch!, featurePass, featureResult);
      scored.forEach((s, j) => fresh.set(todo[j].prompt, s.promptHidden as Float32Array));
    }
    return { scores, features: this.featuresOf(observe, fresh), values: criticValues };
  }

  /** observe()'s one submission: both passes and the critic, with their results staged for reading. */
  private submitStep(
    scorePass: PreparedPass | null,
    featurePass: PreparedPass | null,
    todo: readonly PolicyRequest[],
    observe: readonly PolicyRequest[],
    values: Awaited<ReturnType<GpuTwosomeCritic['prepareValues']>>,
  ) {
    const { device } = this.engine.gpu;
    const encoder = device.createCommandEncoder();
    const run = (pass: PreparedPass | null) => {
      if (!pass) return null;
      pass.forward.load(pass.layout);
      pass.forward.encode(encoder);
      return pass.forward.stageResults(encoder);
    };
    const scored = run(scorePass);
    const featured = run(featurePass);
    // The critic's input: memoized rows written now, fresh rows copied from the features pass in the encoder.
    const D = this.featureDim;
    const freshRow = new Map(todo.map((r, j) => [r.prompt, j]));
    const rows = observe.map((r) => this.cache.get(r.prompt) ?? null);
    values.write(rows);
    observe.forEach((r, i) => {
      const j = freshRow.get(r.prompt);
      if (j === undefined || this.cache.has(r.prompt)) return;
      encoder.copyBufferToBuffer(featurePass!.forward.promptHidden, 4 * j * D, values.features, 4 * i * D, 4 * D);
    });
    const valuesRead = values.encode(encoder);
    device.queue.submit([encoder.finish()]);
    return { scorePass, featurePass, scored, featured, valuesRead };
  }

  async accumulate(
    requests: readonly PolicyRequest[],
    lossGrad: (scores: ActionScores[]) => ArrayLike<number>[],
  ): Promise<void> {
    this.dirty = true;
    const batch = this.tokenize(requests);
    await this.reserving;
    await this.trainer.accumulate(batch, lossGrad);
  }

  /**
   * One policy pass with PPO's loss on the GPU (rl/policy-loss-gpu.ts): forward, loss and backward in one
   * submission and no wait; the minibatches' losses resolve when the GPU has run it. The loss's buffers are made
   * for the largest observations seen (as the engine's workspaces are), so a run makes them a few times at most.
   */
  async accumulatePolicyLoss(
    requests: readonly PolicyRequest[],
    loss: PolicyPassLoss,
  ): Promise<{ losses: Promise<PolicyLossStats[]> }> {
    this.dirty = true;
    const batch = this.tokenize(requests);
    await this.reserving;
    const pass = await this.policyLoss.prepare(batch, loss, policyLossRoom(loss.slots.length, this.largest));
    await this.trainer.accumulateGpuLoss(batch, pass);
    return { losses: pass.read() };
  }

  async zeroGrad(): Promise<void> {
    if (!this.dirty) return;
    clearBuffers(
      this.engine.gpu.device,
      this.trainer.lora.modules.flatMap((m) => [m.gradA, m.gradB]),
    );
    this.dirty = false;
  }

  /** Submits the step at once (after any accumulate); the info resolves when the GPU has run it. */
  step(lr: number): Promise<OptimizerStepInfo> {
    this.dirty = false;
    return this.trainer.step(lr, 1);
  }

  async getState(): Promise<ActorState> {
    return {
      adapter: await this.trainer.readAdapter(),
      tensors: [],
      optimizer: await this.trainer.optimizer.readState(),
    };
  }

  async setState(state: ActorState): Promise<void> {
    const { adapter } = state;
    if (!adapter) throw new Error('the checkpoint has no LoRA adapter');
    const mods = this.trainer.lora.modules;
    if (adapter.modules.length !== mods.length || adapter.config.r !== this.trainer.lora.r) {
      throw new Error(
        `the checkpoint's adapter (${adapter.modules.length} modules, r ${adapter.config.r}) does not fit this model (${mods.length} modules, r ${this.trainer.lora.r})`,
      );
    }
    const { queue } = this.engine.gpu.device;
    adapter.modules.forEach((m, i) => {
      const g = mods[i];
      if (
        m.layer !== g.layer ||
        m.slice.target !== g.slice.target ||
        m.a.length !== this.trainer.lora.r * g.slice.inDim ||
        m.b.length !== g.slice.outDim * this.trainer.lora.r
      ) {
        throw new Error(
          `the checkpoint's adapter module ${i} (layer ${m.layer} ${m.slice.target}) does not fit this model`,
        );
      }
      queue.writeBuffer(g.a, 0, new Float32Array(m.a));
      queue.writeBuffer(g.b, 0, new Float32Array(m.b));
    });
    this.trainer.optimizer.writeState(state.optimizer);
    clearBuffers(
      this.engine.gpu.device,
      mods.flatMap((m) => [m.gradA, m.gradB]),
    );
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
    this.policyLoss.dispose();
    this.trainer.dispose();
  }
}

/** One value minibatch size's value-loss inputs and output, and its calls by settings. */
interface ValueLossBuffers {
  targets: GPUBuffer;
  loss: GPUBuffer;
  calls: Map<string, KernelCall>;
}

export class GpuTwosomeCritic implements TwosomeCritic {
  readonly sizes: readonly number[];
  private readonly passes = new Map<number, { features: GPUBuffer; pass: CriticPass }>();
  /** Per batch size: the value loss's inputs and output, and its calls by settings (built once each). */
  private readonly valueLosses = new Map<number, ValueLossBuffers>();
  private dirty = false;

  private constructor(
    readonly device: GPUDevice,
    readonly critic: GpuCritic,
    readonly optimizer: GpuAdam,
  ) {
    this.sizes = critic.sizes.slice();
  }

  static create(
    engine: LlamaEngine,
    critic: { sizes: number[]; weights: Float32Array[] },
    settings: AdamSettings,
  ): GpuTwosomeCritic {
    const { device } = engine.gpu;
    const gpuCritic = GpuCritic.create(device, engine.pipelines, critic);
    const optimizer = GpuAdam.create(device, engine.pipelines, gpuCritic.paramGrads(), { lr: 0, ...settings });
    return new GpuTwosomeCritic(device, gpuCritic, optimizer);
  }

  /** The pass for `rows` feature rows with its input buffer (planned once per batch size). */
  private async entryFor(rows: number): Promise<{ features: GPUBuffer; pass: CriticPass }> {
    let entry = this.passes.get(rows);
    if (!entry) {
      const buffer = createStorageBuffer(this.device, rows * this.sizes[0] * 4, `critic features [${rows}]`);
      entry = { features: buffer, pass: await this.critic.plan(buffer, rows) };
      this.passes.set(rows, entry);
    }
    return entry;
  }

  /** Writes the rows (null: left to the caller, who fills them on the GPU before the pass runs). */
  private writeRows(features: GPUBuffer, rows: readonly (Float32Array | null)[]): void {
    const D = this.sizes[0];
    const x = new Float32Array(rows.length * D);
    rows.forEach((f, i) => {
      if (!f) return;
      if (f.length !== D) throw new RangeError(`critic: a feature row has ${f.length} values, expected ${D}`);
      x.set(f, i * D);
    });
    this.device.queue.writeBuffer(features, 0, x);
  }

  /** A planned pass over `features`, written (planned once per batch size). */
  private async passFor(features: readonly Float32Array[]): Promise<CriticPass> {
    const entry = await this.entryFor(features.length);
    this.writeRows(entry.features, features);
    return entry.pass;
  }

  /**
   * The values of `rows` feature rows inside a submission of the caller's (GpuTwosomeActor.observe): write()
   * the rows known on the CPU, fill the others into `features` on the GPU, then encode() the pass and read().
   */
  async prepareValues(rows: number): Promise<{
    features: GPUBuffer;
    write(rows: readonly (Float32Array | null)[]): void;
    encode(encoder: GPUCommandEncoder): { read(): Promise<Float32Array> };
  }> {
    const entry = await this.entryFor(rows);
    return {
      features: entry.features,
      write: (known) => this.writeRows(entry.features, known),
      encode: (encoder) => {
        entry.pass.encodeForward(encoder);
        return entry.pass.stageValues(encoder);
      },
    };
  }

  async values(features: readonly Float32Array[]): Promise<Float32Array> {
    return (await this.passFor(features)).forward();
  }

  async accumulate(
    features: readonly Float32Array[],
    lossGrad: (values: Float32Array) => ArrayLike<number>,
  ): Promise<Float32Array> {
    await this.optimizer.prepare(); // so that step() submits at once
    const pass = await this.passFor(features);
    const values = await pass.forward();
    this.dirty = true;
    pass.backward(Float32Array.from(lossGrad(values)));
    return values;
  }

  /**
   * The PPO value loss of the critic's values of `features` (rl/value-loss-gpu.ts), accumulating the critic's
   * gradients, in one submission and no wait: resolves once submitted, and its vLoss (0.5 mean of the squared
   * errors, the logged value) when the GPU has run it. The same gradients as accumulate() with ppo-loss.ts
   * valueLoss as the loss (float rounding aside: the loss's arithmetic is f32 here).
   */
  async accumulateValueLoss(
    features: readonly Float32Array[],
    input: Omit<ValueLossInput, 'newValues'>,
  ): Promise<{ vLoss: Promise<number> }> {
    await this.optimizer.prepare(); // so that step() submits at once
    const n = features.length;
    const entry = await this.entryFor(n);
    this.writeRows(entry.features, features);
    let vl = this.valueLosses.get(n);
    if (!vl) {
      vl = {
        targets: createStorageBuffer(this.device, 2 * n * 4, `critic value-loss targets [${n}]`),
        loss: createStorageBuffer(this.device, VALUE_LOSS_WORDS * 4, 'critic value loss'),
        calls: new Map(),
      };
      this.valueLosses.set(n, vl);
    }
    const { clipCoef, clipVloss, vfCoef } = input;
    const settings = { clipCoef, clipVloss, vfCoef, scale: input.scale ?? 1 };
    const key = JSON.stringify(settings);
    let call = vl.calls.get(key);
    if (!call) {
      const ctx = { device: this.device, pipelines: this.critic.pipelines };
      const buffers = { values: entry.pass.values, targets: vl.targets, dvalues: entry.pass.valueGrads, loss: vl.loss };
      call = await valueLossCall(ctx, buffers, n, settings);
      vl.calls.set(key, call);
    }
    this.device.queue.writeBuffer(vl.targets, 0, valueLossTargets(input.oldValues, input.returns));
    const encoder = this.device.createCommandEncoder();
    entry.pass.encodeForward(encoder);
    const pass = encoder.beginComputePass({ label: 'value loss' });
    encodeCalls(pass, [call]);
    pass.end();
    entry.pass.encodeBackward(encoder);
    const staged = readbackPool(this.device).stage(encoder, [{ buffer: vl.loss, count: VALUE_LOSS_WORDS }]);
    this.device.queue.submit([encoder.finish()]);
    this.dirty = true;
    return { vLoss: staged.read().then(([loss]) => loss[0]) };
  }

  async zeroGrad(): Promise<void> {
    if (!this.dirty) return;
    clearBuffers(this.device, this.critic.grads);
    this.dirty = false;
  }

  /** Submits the step at once (after any accumulate); the info resolves when the GPU has run it. */
  step(lr: number): Promise<OptimizerStepInfo> {
    this.dirty = false;
    if (!this.optimizer.prepared) return this.optimizer.prepare().then(() => this.optimizer.submitStep(lr, 1));
    return this.optimizer.submitStep(lr, 1);
  }

  async getState(): Promise<CriticState> {
    return {
      sizes: this.sizes.slice(),
      weights: await this.critic.readWeights(),
      optimizer: await this.optimizer.readState(),
    };
  }

  async setState(state: CriticState): Promise<void> {
    if (state.sizes.join() !== this.sizes.join())
      throw new Error(
        `the checkpoint's critic has sizes [${state.sizes.join(', ')}], this one [${this.sizes.join(', ')}]`,
      );
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
    for (const vl of this.valueLosses.values()) {
      disposeCalls([...vl.calls.values()]);
      vl.targets.destroy();
      vl.loss.destroy();
    }
    this.valueLosses.clear();
    this.optimizer.dispose();
    this.critic.dispose();
  }
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
  const actor = GpuTwosomeActor.create(engine, {
    lora: engineLoraConfig(config.lora),
    optimizer: adamSettings(config, 'policy'),
    seed: seeds.lora,
    featureCacheBytes: options.featureCacheBytes,
  });
  const init = initCritic(engine.config.hidden, new Rng(seeds.critic), config.critic.hiddenSizes);
  const critic = GpuTwosomeCritic.create(engine, init, adamSettings(config, 'value'));
  return { actor, critic };
}
