/**
 * `twosome bench plan --model ID|DIR [--task ID] [--prompts-per-pass N] [--matmul tiled|legacy] [--json]`: what
 * the engine asks of a GPU for one scoring call (a 150-token prompt, BOS included, with 8 actions of 5 tokens)
 * and for one PPO update of the `paper` preset (with the tiled or the legacy matrix products), counted on a
 * recording device (gpu/recording-device.ts) that runs the engine's own builders and allocates nothing: no model
 * is downloaded, nothing runs. Catalog ids resolve to their architecture as `bench memory` does.
 *
 * Per call and per update: dispatches, blocking waits (the CPU stands still until the GPU answers), bind groups
 * and buffers created, flops (the kernels' KernelCost) and weightReadFactor = the weight bytes the kernels read
 * (KernelCost.weightBytes) / the model's weight bytes. Each is counted twice: the first call and a repeat on the
 * warm engine, the first update and the second (a steady state creates nothing).
 *
 * The update's prompts come from the task's environments, tokenized by the model directory's tokenizer, or the
 * micro model's for a catalog id (Llama's own would give more tokens per prompt: the update's flops and weight
 * reads are then lower than the real model's; dispatches, waits and bind groups do not depend on it). Readbacks
 * return zeros, so the policy is uniform and the critic's values 0: every phase of the update runs in full.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countsSince, RecordingDevice, type DeviceCounts } from '../gpu/recording-device';
import type { MatmulKernels } from '../gpu/pipelines';
import { shaderSource } from '../gpu/shader-source';
import { LlamaEngine } from '../llm/engine/engine';
import { reserveLlamaWeights } from '../llm/engine/gpu-weights';
import { configInvFreq } from '../llm/engine/rope';
import { estimateSizes } from '../llm/model/catalog';
import { parseLlamaConfigText, type LlamaConfig } from '../llm/model/config';
import { LlmTokenizer } from '../llm/model/tokenizer';
import { TASK_IDS } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { paperPpoConfig, quickPpoConfig } from '../rl/config';
import { createGpuTwosomeModels } from '../rl/twosome-gpu';
import { TwosomeTrainer, twosomeSeeds } from '../rl/twosome-trainer';
import { parseFlags, parseIntFlag } from './args';
import { syntheticRequest } from './bench-batch';
import { resolveModelConfig } from './bench-memory';
import { UsageError } from './errors';
import { MICRO_MODEL_DIR } from './model-source';

const USAGE =
  'twosome bench plan --model ID|DIR [--task tomato-salad] [--preset paper|quick] [--updates 2] ' +
  '[--prompts-per-pass N] [--matmul tiled|legacy] [--json]';
/** Widths of the table's columns (dispatches, waits, bind groups, buffers, weight read, TFLOP). */
const WIDTHS = [10, 6, 11, 8, 11, 9];

/** The scoring call the goals are stated for. */
export const PLAN_CALL = { promptTokens: 150, actionCount: 8, actionTokens: 5 };

export interface PlanCounts {
  dispatches: number;
  blockingWaits: number;
  bindGroupsCreated: number;
  buffersCreated: number;
  submits: number;
  /** Sum of the dispatches' KernelCost.weightBytes / the model's weight bytes. */
  weightReadFactor: number;
  flops: number;
}

export interface PlanBenchResult {
  model: string;
  /** The model's weights on the GPU (bytes): weightReadFactor's denominator. */
  modelWeightBytes: number;
  /** One scoring call on a fresh engine (150-token prompt, 8 actions of 5 tokens). */
  call: PlanCounts;
  /** The same call again on the warm engine. */
  callRepeat: PlanCounts;
  /** The first PPO update of the paper preset (rollout and optimization). */
  update: PlanCounts;
  /** The second update: what a steady state creates and waits for. */
  update2: PlanCounts;
  /** Every update counted (--updates), the first two being update and update2. */
  updates: PlanCounts[];
  /**
   * The engine's static plan after the updates: workspaces allocated, forward and backward plans built, and the
   * distinct pass shapes the run asked for: exact (rows, scored tokens, prompts: what allocating per call would
   * size buffers for) and the plan rungs they ran on.
   */
  plan: { workspaces: number; forwardPlans: number; backwardPlans: number; exactShapes: number; rungsUsed: number };
  task: TaskId;
  preset: 'paper' | 'quick';
  promptsPerPass: number;
  /** The matrix-product kernels counted (PipelineCache.matmul): the tiled ones (default) or the legacy ones. */
  matmul: MatmulKernels;
}

function planCounts(c: DeviceCounts, modelWeightBytes: number): PlanCounts {
  return {
    dispatches: c.dispatches,
    blockingWaits: c.blockingWaits,
    bindGroupsCreated: c.bindGroupsCreated,
    buffersCreated: c.buffersCreated,
    submits: c.submits,
    weightReadFactor: Math.round((c.weightBytes / modelWeightBytes) * 100) / 100,
    flops: c.flops,
  };
}

/** The tokenizer of a model directory, else the micro model's (its ids fit any Llama vocabulary). */
function planTokenizerFile(model: string): { bytes: Uint8Array; file: string; bosId: number } {
  const dir = existsSync(join(model, 'tokenizer.json')) ? model : MICRO_MODEL_DIR;
  const micro = parseLlamaConfigText(
    readFileSync(join(dir, 'mlc-chat-config.json'), 'utf8'),
    join(dir, 'mlc-chat-config.json'),
  );
  const file = join(dir, 'tokenizer.json');
  return { bytes: readFileSync(file), file, bosId: micro.bosTokenId };
}

/** Counts one scoring call and `updates` (default 2) PPO updates of `config` on a recording device. */
export async function planBench(
  model: string,
  config: LlamaConfig,
  options: {
    task?: TaskId;
    preset?: 'paper' | 'quick';
    updates?: number;
    promptsPerPass?: number;
    matmul?: MatmulKernels;
  } = {},
): Promise<PlanBenchResult> {
  await shaderSource('rmsnorm.wgsl'); // read every shader first, so no file read falls inside a measurement
  const recording = new RecordingDevice();
  const gpu = recording.context();
  const weights = reserveLlamaWeights(gpu.device, config, configInvFreq(config));
  const { bytes, file, bosId } = planTokenizerFile(model === 'micro' ? MICRO_MODEL_DIR : model);
  const tokenizer = await LlmTokenizer.fromJSON(bytes, { bosId, file });
  const matmul = options.matmul ?? 'tiled';
  const engine = LlamaEngine.fromWeights(gpu, config, tokenizer, weights, { matmul });
  const modelWeightBytes = estimateSizes(config).gpuWeightBytes;
  const measure = async (body: () => Promise<unknown>) => {
    const before = recording.snapshot();
    await body();
    return planCounts(countsSince(before, recording.snapshot()), modelWeightBytes);
  };

  const request = syntheticRequest(
    { ...PLAN_CALL, model, repeats: 1, json: true },
    config.vocabSize,
    config.bosTokenId,
  );
  const call = await measure(() => engine.forwardTokenLogprobs([request]));
  const callRepeat = await measure(() => engine.forwardTokenLogprobs([request]));

  const task = options.task ?? 'tomato-salad';
  const preset = options.preset ?? 'paper';
  const ppo = preset === 'paper' ? paperPpoConfig(task) : quickPpoConfig(task);
  const models = createGpuTwosomeModels(engine, ppo, twosomeSeeds(ppo.seed));
  const trainer = new TwosomeTrainer(
    ppo,
    models,
    options.promptsPerPass ? { promptsPerPass: options.promptsPerPass } : {},
  );
  const updates: PlanCounts[] = [];
  for (let u = 0; u < Math.max(2, options.updates ?? 2); u++) updates.push(await measure(() => trainer.runUpdate()));
  const stats = engine.planStats;
  const plan = {
    workspaces: stats.workspaces,
    forwardPlans: stats.forwardPlans,
    backwardPlans: stats.backwardPlans,
    exactShapes: stats.exactShapes.size,
    rungsUsed: stats.bucketedShapes.size,
  };
  models.actor.dispose();
  models.critic.dispose();
  engine.dispose();
  return {
    model,
    modelWeightBytes,
    call,
    callRepeat,
    update: updates[0],
    update2: updates[1],
    updates,
    plan,
    task,
    preset,
    promptsPerPass: trainer.options.promptsPerPass,
    matmul,
  };
}

export async function benchPlanCommand(argv: string[]): Promise<number> {
  const flags = {
    model: { type: 'string', arg: 'ID|DIR', help: 'the model: a catalog id or a model directory (required)' },
    task: { type: 'string', arg: 'TASK', help: 'the task whose prompts the update scores (default tomato-salad)' },
    preset: { type: 'string', arg: 'paper|quick', help: 'the PPO preset of the counted update (default paper)' },
    updates: {
      type: 'string',
      arg: 'N',
      help: 'updates to count, at least 2: the first builds, later ones are warm (default 2)',
    },
    'prompts-per-pass': {
      type: 'string',
      arg: 'N',
      help: 'prompts per policy forward+backward pass (default: one minibatch)',
    },
    matmul: { type: 'string', arg: 'tiled|legacy', help: 'the matrix-product kernels counted (default tiled)' },
    json: { type: 'boolean', default: false, help: 'one JSON object instead of the table' },
  } as const;
  const { values } = parseFlags(argv, flags, USAGE);
  if (!values.model) throw new UsageError(`--model is required\nusage: ${USAGE}`);
  const task = (values.task ?? 'tomato-salad') as TaskId;
  if (!(TASK_IDS as readonly string[]).includes(task))
    throw new UsageError(`--task ${task}: unknown task (use ${TASK_IDS.join(', ')})`);
  const preset = values.preset ?? 'paper';
  if (preset !== 'paper' && preset !== 'quick') throw new UsageError(`--preset ${preset}: use paper or quick`);
  const promptsPerPass =
    values['prompts-per-pass'] === undefined
      ? undefined
      : parseIntFlag(values['prompts-per-pass'], 'prompts-per-pass', 4, 1);
  const updates = parseIntFlag(values.updates, 'updates', 2, 2);
  const matmul = values.matmul ?? 'tiled';
  if (matmul !== 'tiled' && matmul !== 'legacy') throw new UsageError(`--matmul ${matmul}: use tiled or legacy`);
  const config = await resolveModelConfig(values.model);
  const result = await planBench(values.model, config, { task, preset, updates, promptsPerPass, matmul });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  const cells = (name: string, values: string[]) =>
    `  ${name.padEnd(14)} ${values.map((v, i) => v.padStart(WIDTHS[i])).join(' ')}`;
  const row = (name: string, c: PlanCounts) =>
    cells(
      name,
      [c.dispatches, c.blockingWaits, c.bindGroupsCreated, c.buffersCreated]
        .map(String)
        .concat(c.weightReadFactor.toFixed(1), (c.flops / 1e12).toFixed(2)),
    );
  const p = result.plan;
  const { promptTokens, actionCount, actionTokens } = PLAN_CALL;
  const call = `${promptTokens}-token prompt, ${actionCount} actions of ${actionTokens} tokens`;
  const lines = [
    `${values.model}: one scoring call (${call}) and ${preset}-preset PPO updates on ${task} ` +
      `(prompts per pass ${result.promptsPerPass}, ${matmul} matrix products), on a recording device`,
    cells('', ['dispatches', 'waits', 'bind groups', 'buffers', 'weight read', 'TFLOP']),
    row('call', result.call),
    row('call again', result.callRepeat),
    ...result.updates.map((u, i) => row(`update ${i + 1}`, u)),
    `  plan: ${p.workspaces} workspaces, ${p.forwardPlans} forward and ${p.backwardPlans} backward plans built; ` +
      `${p.exactShapes} distinct pass shapes ran on ${p.rungsUsed} plan rungs`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
