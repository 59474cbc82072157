// The training memory plan against what the engine really allocates: every buffer the device creates while the
// micro model loads, while the LoRA trainer and the critic are set up, and during one training micro-batch
// (forward, PPO policy loss and backward; critic pass; both optimizer steps) is recorded, and the plan's sums and
// largest buffers must equal the recorded ones exactly (every buffer is a whole number of 4-byte words, so no
// rounding differs).
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../../gpu/device';
import { requestNodeGpuContext } from '../../gpu/node-gpu';
import { GpuTwosomeCritic } from '../../rl/twosome-gpu';
import { GpuPolicyLoss, policyLossRoom } from '../../rl/policy-loss-gpu';
import type { PolicyPassLoss } from '../../rl/policy-pass';
import { Rng } from '../../util/rng';
import { LlamaEngine } from './engine';
import { LORA_TARGETS, type LoraTarget } from '../train/lora';
import { LoraTrainer } from '../train/lora-trainer';
import { planTrainingMemory, type TrainingBatch } from './memory-plan';
import { initCritic } from '../reference/critic';
import { directorySource } from '../model/weights-node';

interface Recorded {
  label: string;
  size: number;
  usage: number;
  destroyed: boolean;
}

/** Every buffer the device creates, in phases; storage bytes live now and their peak in the phase. */
class BufferRecorder {
  private phase: Recorded[] = [];
  private live = 0;
  private peak = 0;

  constructor(device: GPUDevice) {
    const create = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor) => {
      const buffer = create(descriptor);
      const record: Recorded = {
        label: descriptor.label ?? '',
        size: descriptor.size,
        usage: descriptor.usage,
        destroyed: false,
      };
      this.phase.push(record);
      const storage = (descriptor.usage & GPUBufferUsage.STORAGE) !== 0;
      if (storage) this.peak = Math.max(this.peak, (this.live += descriptor.size));
      const destroy = buffer.destroy.bind(buffer);
      buffer.destroy = () => {
        if (storage && !record.destroyed) this.live -= descriptor.size;
        record.destroyed = true;
        destroy();
      };
      return buffer;
    };
  }

  /** Runs `body`, returning the buffers it created and the peak of live storage bytes above those live before. */
  async record(body: () => Promise<unknown>): Promise<{ buffers: Recorded[]; peak: number }> {
    this.phase = [];
    const before = this.live;
    this.peak = before;
    await body();
    return { buffers: this.phase, peak: this.peak - before };
  }
}

const isStorage = (b: Recorded) => (b.usage & GPUBufferUsage.STORAGE) !== 0;
const storageOf = (buffers: Recorded[]) => buffers.filter(isStorage);
const total = (buffers: Recorded[]) => buffers.reduce((s, b) => s + b.size, 0);
const largest = (buffers: Recorded[]) => buffers.reduce((a, b) => (b.size > a.size ? b : a));
/** Bytes per label (layer numbers folded), for a failure's message. */
const byLabel = (buffers: Recorded[]) => {
  const sums = new Map<string, number>();
  for (const b of buffers) {
    const label = b.label.replace(/\d+/g, '#');
    sums.set(label, (sums.get(label) ?? 0) + b.size);
  }
  return [...sums].map(([label, bytes]) => `${label}: ${bytes}`).join('\n');
};

/**
 * Besides storage buffers the engine creates only kernel-call uniforms (never storage) and the device's pooled
 * readback staging buffers (a few small ones, reused by every read: gpu/readback.ts): neither is in the plan.
 */
function checkOthers(buffers: Recorded[]): { uniformBytes: number; uniforms: number } {
  const others = buffers.filter((b) => !isStorage(b));
  const uniforms = others.filter((b) => b.usage & GPUBufferUsage.UNIFORM);
  const staging = others.filter((b) => b.usage & GPUBufferUsage.MAP_READ);
  expect(uniforms.length + staging.length).toBe(others.length);
  expect(staging.length).toBeLessThanOrEqual(4);
  expect(total(staging)).toBeLessThanOrEqual(64 * 1024);
  return { uniformBytes: total(uniforms), uniforms: uniforms.length };
}

// Two prompts of 13 tokens (BOS included), each with 3 actions of 4 tokens: the plan's P, T, N, n describe the
// layout exactly. The test checks the token counts, so a tokenizer change fails here, not silently.
const prompts = ['the tomato is on the counter', 'the bowl is on the counter'];
const actions = ['take the bowl', 'serve the dish', 'take the tomato'];
const batch: TrainingBatch = { prompts: 2, promptTokens: 13, actions: 3, actionTokens: 4 };
const criticHidden = [1024, 512];

let ctx: GpuContext;
let recorder: BufferRecorder;
let engine: LlamaEngine;
let weightBuffers: Recorded[];
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
  recorder = new BufferRecorder(ctx.device);
  ({ buffers: weightBuffers } = await recorder.record(async () => {
    engine = await LlamaEngine.load(ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
  }));
});
afterAll(() => {
  engine?.dispose();
  ctx?.device.destroy();
});

describe('training memory plan = what the engine allocates (micro model)', () => {
  it('the batch has exactly P prompts of T tokens with N actions of n tokens', () => {
    for (const prompt of prompts) {
      expect(engine.tokenizer.encodePrompt(prompt).length).toBe(batch.promptTokens);
      for (const a of actions) expect(engine.tokenizer.encodeAction(prompt, a).length).toBe(batch.actionTokens);
    }
  });

  it('weights: the plan equals the buffers the engine uploads', () => {
    const plan = planTrainingMemory(engine.config, { batch });
    const storage = storageOf(weightBuffers);
    expect(total(storage), byLabel(storage)).toBe(plan.weightsBytes);
  });

  // The paper's value minibatch of 32 rows makes the critic's a1 [32, 1024] the largest activation; with 2 rows
  // the actor's logits [J, V] are, so both kinds of term are checked for the largest buffer.
  const cases: { name: string; r: number; targets: LoraTarget[]; criticBatch: number; largest: string }[] = [
    {
      name: 'r 8 on q_proj, v_proj (the default), value minibatch 32',
      r: 8,
      targets: ['q_proj', 'v_proj'],
      criticBatch: 32,
      largest: 'critic a1',
    },
    {
      name: 'r 4 on all seven targets, value minibatch 2',
      r: 4,
      targets: [...LORA_TARGETS],
      criticBatch: 2,
      largest: 'logits',
    },
  ];
  it.each(cases)(
    'LoRA $name: optimizer, activations and the largest buffers equal the recorded ones',
    async ({ r, targets, criticBatch, largest: largestLabel }) => {
      const plan = planTrainingMemory(engine.config, { batch, lora: { r, targets }, criticHidden, criticBatch });
      const settings = { beta1: 0.9, beta2: 0.999, eps: 1e-5, weightDecay: 0, maxGradNorm: 0.5 };
      let trainer!: LoraTrainer;
      let critic!: GpuTwosomeCritic;
      let policyLoss: GpuPolicyLoss | undefined;
      engine.releasePlans(); // the other case's workspace holds its own adapter's shapes
      try {
        // Parameters, gradients and optimizer state of both heads.
        const setup = await recorder.record(async () => {
          trainer = LoraTrainer.create(engine, { lora: { r, alpha: 2 * r, dropout: 0, targets }, seed: 3 });
          critic = GpuTwosomeCritic.create(
            engine,
            initCritic(engine.config.hidden, new Rng(4), criticHidden),
            settings,
          );
        });
        expect(total(storageOf(setup.buffers)), byLabel(storageOf(setup.buffers))).toBe(plan.optimizerBytes);
        checkOthers(setup.buffers);

        // One training micro-batch as the GPU actor runs it: forward, PPO's policy loss and backward (the loss's
        // buffers made for the batch's shape, policyLossRoom), then the critic's pass over a value minibatch (kept
        // for the next minibatch of that size) and both steps.
        const requests = prompts.map((prompt) => ({ prompt, actions }));
        const P = requests.length;
        const loss: PolicyPassLoss = {
          slots: Int32Array.from(requests, (_, i) => i),
          actions: new Int32Array(P),
          oldLogProbs: new Float32Array(P).fill(-1),
          advantages: Float64Array.from(requests, (_, i) => (i % 2 ? 1 : -1)),
          minibatchSizes: [P],
          normalization: 'word',
          clipCoef: 0.2,
          entCoef: 0.01,
          scale: 1,
        };
        // As an RL run uses the engine: the workspace reserved for the batch (then every plan of its ladders is
        // built), the micro-batch, and its features (the frozen model's plans, for the critic's input).
        const actor = await recorder.record(async () => {
          await engine.reserve(batch, { lora: trainer.lora, training: true });
          policyLoss = new GpuPolicyLoss({ device: ctx.device, pipelines: engine.pipelines });
          const tokenized = engine.tokenize(requests);
          const room = policyLossRoom(P, batch);
          const pass = await policyLoss.prepare(tokenized, loss, room);
          await trainer.accumulateGpuLoss(tokenized, pass);
          await pass.read();
          await engine.forwardScores(engine.tokenize(requests));
        });
        const features = Array.from({ length: criticBatch }, (_, i) =>
          Float32Array.from({ length: engine.config.hidden }, (_, d) => Math.sin(i + d)),
        );
        const rest = await recorder.record(async () => {
          const zeros = new Float64Array(criticBatch);
          await critic.accumulateValueLoss(features, {
            oldValues: zeros,
            returns: zeros.map(() => 1),
            clipCoef: 0.2,
            clipVloss: true,
            vfCoef: 0.5,
          });
          await trainer.step(1e-3);
          await critic.step(1e-3);
        });
        const all = [...actor.buffers, ...rest.buffers];
        const storage = storageOf(all);
        expect(total(storage), byLabel(storage)).toBe(plan.activationBytes);
        // One pass (no batch split): every buffer of the actor's step is live at once, as the plan sums them, and
        // stays allocated for the next micro-batch of its shape.
        expect(actor.peak).toBe(total(storageOf(actor.buffers)));
        expect(storageOf(actor.buffers).some((b) => b.destroyed)).toBe(false);
        const { uniformBytes, uniforms } = checkOthers(all);
        console.log(
          `memory plan: ${plan.activationBytes} activation bytes in ${storage.length} buffers, ${plan.optimizerBytes} optimizer bytes; not planned: ${uniforms} uniforms (${uniformBytes} bytes)`,
        );

        const big = largest(storage);
        expect(plan.largestActivation.bytes).toBe(big.size);
        expect(big.label).toBe(largestLabel);
        expect(plan.largestActivation.name).toContain(big.label);
        const everything = storageOf([...weightBuffers, ...setup.buffers, ...all]);
        expect(plan.largestBuffer.bytes).toBe(largest(everything).size);
      } finally {
        trainer?.dispose();
        critic?.dispose();
        policyLoss?.dispose();
      }
    },
  );
});
