/**
 * "Can run here": whether this engine can train a catalog model on an adapter, decided before anything is
 * downloaded, from the architecture (catalog.ts), the adapter's limits and features, and a memory budget.
 * Platform-neutral: the models worker (browser) and `twosome models list --fit` (Node) give the adapter facts.
 *
 * The rules, in order (the first "no" wins):
 *   1. Architecture unknown (a record of a web-llm newer than the table): "unknown"; checked at load time
 *      against the downloaded mlc-chat-config.json.
 *   2. Buffer limits: a tensor larger than one buffer is uploaded in row chunks (engine/gpu-weights.ts), but one row
 *      must fit min(maxStorageBufferBindingSize, maxBufferSize).
 *   3. Memory: the peak of one training step by this engine's own plan (engine/memory-plan.ts, for FIT_CHECK_BATCH)
 *      against a budget: the caller's, else, on a software adapter (whose "GPU memory" is the computer's
 *      memory), half the memory the system reports (the browser, the OS and the page need the rest). WebGPU
 *      does not report a hardware GPU's memory, so there the plan's figure is only shown.
 *   4. Speed, on a software adapter only: the estimated time to score one environment step (the forward pass
 *      of FIT_CHECK_BATCH's prompt and actions, 2 FLOPs per weight per token) at SOFTWARE_GFLOPS_PER_CORE per
 *      core; over MAX_SOFTWARE_STEP_SECONDS is "no" (a PPO run scores thousands of steps), under it a warning
 *      gives the estimate.
 * Precision: every kernel of this engine computes in f32 (f16 data is unpacked with unpack2x16float, which needs
 * no `shader-f16`), so it runs on adapters without `shader-f16`, where web-llm refuses the q4f16/q0f16 records.
 * The fit check says which path a model takes and what an f16 path would be expected to gain (precisionNote).
 */
import { estimateSizes, catalogConfig, type CatalogRecord } from './catalog';
import type { LlamaConfig } from './config';
import { planTrainingMemory, type TrainingBatch } from '../engine/memory-plan';
import { expectedLlamaTensors } from './tensor-cache';
import { formatBytes } from '../../util/format';

/** What the fit check knows about an adapter (the models worker's adapter() reply, or Dawn's in Node). */
export interface AdapterFacts {
  features: readonly string[];
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  /** A CPU implementation (SwiftShader, lavapipe): isSoftwareAdapter of gpu/device.ts. */
  software: boolean;
  /** Logical CPU cores (navigator.hardwareConcurrency, os.availableParallelism()). */
  cores?: number;
  /** System memory in bytes as reported (navigator.deviceMemory GiB, which Chrome caps at 8; os.totalmem()). */
  systemMemoryBytes?: number;
}

export interface FitOptions {
  /** GPU memory the user allows, in bytes; overrides the derived budget. */
  memoryBudgetBytes?: number;
  /** The training micro-batch the memory plan is made for (default FIT_CHECK_BATCH). */
  batch?: TrainingBatch;
}

export type FitVerdict = 'yes' | 'no' | 'unknown';

export interface FitCheck {
  verdict: FitVerdict;
  /** Why "no" or "unknown"; '' for "yes". */
  reason: string;
  /** Peak GPU memory of one training step by this engine's plan (undefined when the architecture is unknown). */
  neededBytes: number | undefined;
  /** The memory budget used and where it comes from (undefined bytes: none known). */
  budget: { bytes: number | undefined; source: string };
  /** Estimated seconds to score one environment step (software adapters only). */
  stepSeconds: number | undefined;
  /** The compute path and its expected cost (always set). */
  precision: PrecisionNote;
  /** Things that do not stop the model but the user may want to know. */
  warnings: string[];
}

/**
 * A policy minibatch of 4 prompts (the paper's), each of 200 tokens (about VirtualHome's longest prompt) with
 * 8 actions of 5 tokens: the defaults of `twosome bench memory`.
 */
export const FIT_CHECK_BATCH: TrainingBatch = { prompts: 4, promptTokens: 200, actions: 8, actionTokens: 5 };

/**
 * f32 throughput of a software adapter per CPU core: platform notes, SwiftShader on this project's 2-core
 * machine, about 0.5 GFLOP/s for a plain f32 matmul. An estimate (llvmpipe measured 3-4x faster on one naive
 * kernel); it only decides between "slow" and "far too slow".
 */
export const SOFTWARE_GFLOPS_PER_CORE = 0.25;

/** Over this estimated time to score one environment step, a software adapter cannot run the model. */
export const MAX_SOFTWARE_STEP_SECONDS = 3600;

/**
 * Whether the engine has f16 kernels (`enable f16;` shaders): its matrix products do (kernels/linear.ts, the
 * tiled GEMM and matrix-vector kernels), and its flash attention backward keeps its tiles in f16
 * (kernels/attention.ts), both taken by default on hardware GPUs with `shader-f16` (one decision:
 * PipelineCache.f16); norms, softmax, attention's products and forward and the optimizers compute in f32.
 */
export const ENGINE_HAS_F16_KERNELS = true;

export interface PrecisionNote {
  path: 'f16' | 'f32';
  /** The adapter has `shader-f16`. */
  shaderF16: boolean;
  /** One line for the panel and the CLI. */
  text: string;
}

/**
 * Which arithmetic a model runs in here, and the expected cost of f32 against an f16 path. The factor is an
 * estimate, not a measurement: GPUs with packed f16 math (e.g. AMD RDNA, Intel Xe) run f16 at twice their f32
 * rate, others (e.g. NVIDIA GeForce outside tensor cores) at the same rate, and f32 activations take twice the
 * memory traffic of f16 ones; the 4-bit weights, which dominate single-token work, are read the same way in
 * both paths.
 */
export function precisionNote(
  features: readonly string[],
  record?: CatalogRecord,
  /** A software adapter (AdapterFacts.software): the engine keeps f32 there (LoadEngineOptions.f16). */
  software = false,
): PrecisionNote {
  const shaderF16 = features.includes('shader-f16');
  const webllmNeedsF16 = record?.requiredFeatures.includes('shader-f16') ?? false;
  const webllm =
    webllmNeedsF16 && !shaderF16 ? '; web-llm itself cannot run this record here (its wasm needs shader-f16)' : '';
  if (shaderF16 && ENGINE_HAS_F16_KERNELS && !software)
    return {
      path: 'f16',
      shaderF16,
      text:
        'f16 path (shader-f16): matrix products in f16, summed in f32 across tiles; attention backward tiles in ' +
        'f16; norms, softmax and attention arithmetic in f32',
    };
  const slowdown =
    'expected up to about 2x slower to score and train than an f16 path (estimate: f16 math at twice the f32 rate ' +
    'on GPUs with packed f16, and half the activation traffic)';
  if (shaderF16)
    return {
      path: 'f32',
      shaderF16,
      text: software
        ? 'f32 path: this software adapter offers shader-f16 but runs it as f32 arithmetic plus conversions ' +
          '(on lavapipe f16 was no faster: a scoring pass took 1.19x as long), so the engine keeps f32 here'
        : `f32 path: this engine has no f16 kernels, so shader-f16 goes unused; ${slowdown}`,
    };
  return {
    path: 'f32',
    shaderF16,
    text: `f32 path (no shader-f16 here: f16 data unpacked to f32 in the shaders); ${slowdown}${webllm}`,
  };
}

/** Multiply-adds of one forward pass of `rows` token rows, `logitRows` of which go through the LM head. */
function forwardFlops(config: LlamaConfig, rows: number, logitRows: number): number {
  let linear = 0;
  for (const t of expectedLlamaTensors(config)) {
    // Layer matrices (q4: q_weight [N, K/8] words; q0: weight [N, K]); the embedding is a lookup, not a product.
    if (!t.name.startsWith('model.layers.') || t.shape.length !== 2 || t.name.endsWith('.q_scale')) continue;
    linear += t.shape[0] * (t.name.endsWith('.q_weight') ? t.shape[1] * 8 : t.shape[1]);
  }
  return 2 * linear * rows + 2 * config.vocabSize * config.hidden * logitRows;
}

const GiB = 2 ** 30;
/** Fixed-unit GiB (not formatBytes): the memory needed and the budget it is compared with read in one unit. */
const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The memory budget: the caller's, else half the system memory on a software adapter, else none known. */
export function memoryBudget(
  adapter: AdapterFacts,
  options: FitOptions = {},
): { bytes: number | undefined; source: string } {
  if (options.memoryBudgetBytes !== undefined) return { bytes: options.memoryBudgetBytes, source: 'the budget given' };
  if (adapter.software && adapter.systemMemoryBytes) {
    return {
      bytes: adapter.systemMemoryBytes / 2,
      source:
        `half of the ${gib(adapter.systemMemoryBytes)} of memory this computer reports ` +
        "(a software adapter's GPU memory is system memory)",
    };
  }
  return { bytes: undefined, source: 'WebGPU does not report GPU memory' };
}

export function checkFit(record: CatalogRecord, adapter: AdapterFacts, options: FitOptions = {}): FitCheck {
  const precision = precisionNote(adapter.features, record, adapter.software);
  const budget = memoryBudget(adapter, options);
  const warnings: string[] = [];
  const result = (verdict: FitVerdict, reason: string, neededBytes?: number, stepSeconds?: number): FitCheck => ({
    verdict,
    reason,
    neededBytes,
    budget,
    stepSeconds,
    precision,
    warnings,
  });

  const config = catalogConfig(record);
  if (!config)
    return result(
      'unknown',
      `the architecture of ${record.id} is not in this app's table (a newer web-llm?); ` +
        'it is checked against its mlc-chat-config.json when loaded',
    );
  const batch = options.batch ?? FIT_CHECK_BATCH;

  const sizes = estimateSizes(config);
  const binding = Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize);
  if (sizes.largestRowBytes > binding) {
    const which =
      sizes.largestRowBytes > adapter.limits.maxStorageBufferBindingSize
        ? `maxStorageBufferBindingSize ${adapter.limits.maxStorageBufferBindingSize} bytes`
        : `maxBufferSize ${adapter.limits.maxBufferSize} bytes`;
    return result(
      'no',
      `one row of tensor ${sizes.largestRowTensor} needs ${sizes.largestRowBytes} bytes in one GPU buffer ` +
        `(rows cannot be split) but this adapter allows ${which}`,
    );
  }
  if (sizes.largestTensorBytes > binding) {
    warnings.push(
      `${sizes.largestTensor} (${formatBytes(sizes.largestTensorBytes)}) is larger than one GPU buffer ` +
        `may be (${formatBytes(binding)}): it is uploaded in row chunks`,
    );
  }

  const plan = planTrainingMemory(config, { batch, maxBindingBytes: binding });
  const needed = plan.peakBytes;
  const planText =
    `${gib(needed)} to train (weights ${gib(plan.weightsBytes)}, this engine's memory plan for ` +
    `${batch.prompts} prompts of ${batch.promptTokens} tokens)`;
  if (budget.bytes !== undefined && needed > budget.bytes) {
    return result('no', `needs about ${planText} but the budget is ${gib(budget.bytes)}: ${budget.source}`, needed);
  }
  if (budget.bytes === undefined) warnings.push(`needs about ${planText}; ${budget.source}, so this is not checked`);

  let stepSeconds: number | undefined;
  if (adapter.software) {
    const cores = Math.max(1, adapter.cores ?? 1);
    const rows = batch.promptTokens + batch.actions * batch.actionTokens;
    stepSeconds =
      forwardFlops(config, rows, batch.actions * batch.actionTokens) / (SOFTWARE_GFLOPS_PER_CORE * 1e9 * cores);
    const estimate =
      `about ${duration(stepSeconds)} to score one environment step on this ${cores}-core software adapter ` +
      `(estimate: ${SOFTWARE_GFLOPS_PER_CORE} GFLOP/s per core)`;
    if (stepSeconds > MAX_SOFTWARE_STEP_SECONDS)
      return result(
        'no',
        `${estimate}; too slow to train (a run scores thousands of steps): use a GPU`,
        needed,
        stepSeconds,
      );
    warnings.push(`slow: ${estimate}`);
  }
  if (record.arch?.unsure.length)
    warnings.push(
      `catalog architecture of ${record.id} has unverified fields (${record.arch.unsure.join('; ')}); ` +
        'the downloaded mlc-chat-config.json decides',
    );
  return result('yes', '', needed, stepSeconds);
}
