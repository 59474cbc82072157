/**
 * `twosome train --task ID --model M [--algo twosome|ppo-mlp|saycan] [--preset paper|quick] [--steps N]
 *  [--seed S] [--out DIR] [--resume DIR]`: trains one agent and writes its run directory:
 *
 *   run.json                    what was run (algo, task, model, preset, config)
 *   metrics.jsonl               one JSON object per update (TWOSOME/PPO-MLP) or the evaluation (SayCan)
 *   checkpoint.bin              the whole trainer state after the last update (`--resume DIR` continues it)
 *   adapter_config.json         TWOSOME: the LoRA adapter in PEFT layout (peft_type LORA, CAUSAL_LM) ...
 *   adapter_model.safetensors   ... A [r, in] and B [out, r] per layer and target, float32
 *   critic.safetensors          TWOSOME: the critic head
 *
 * Progress goes to stderr: a live bar when stderr is a terminal, else one line per update. Ctrl-C stops after
 * the update in progress (its checkpoint is written). `--algo saycan` trains nothing: it evaluates the frozen
 * model greedily (`--episodes`, default 10) and writes that as its metrics.
 */
import { appendFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isTaskId, TASK_IDS } from '../envs/registry';
import type { TaskId } from '../envs/types';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { CheckpointError, makeCheckpoint, type Checkpoint, type RunInfo } from '../rl/checkpoint';
import {
  CHECKPOINT_FILE,
  loadCheckpoint,
  removeStaleTemporaries,
  saveCheckpoint,
  writeFileAtomic,
} from '../rl/checkpoint-node';
import {
  ConfigError,
  presetConfig,
  PRESETS,
  type ConfigOverrides,
  type PpoConfig,
  type PpoMlpConfig,
  type Preset,
  type PresetOptions,
} from '../rl/config';
import { NORMALIZATIONS, type Normalization } from '../rl/policy';
import { evaluatePolicy, type BatchScorer, type PolicyEvaluation } from '../rl/evaluate';
import { PpoMlpTrainer } from '../rl/ppo-mlp';
import { trainLoop } from '../rl/ppo-run';
import type { UpdateMetrics } from '../rl/rollout';
import { createGpuTwosomeModels } from '../rl/twosome-gpu';
import { baseModelName, encodeCritic, encodePeftAdapter } from '../share';
import {
  trainTwosome,
  twosomeSeeds,
  type TwosomeModels,
  type TwosomeState,
  type TwosomeUpdateMetrics,
} from '../rl/twosome-trainer';
import { parseFlags, parseIntFlag, parseNumberFlag, type FlagSpec } from './args';
import { UsageError } from './errors';
import { MICRO_MODEL_DIR, MODEL_FLAG, resolveModelSource } from './model-source';
import type { LoraAdapter } from '../llm/train/lora';
import { destroyLora, uploadLora } from '../llm/train/gpu-lora';
import { scoreBatch } from '../llm/reference/backward';
import { tokenizeRequests } from '../llm/scores';
import type { LlmTokenizer } from '../llm/model/tokenizer';
import type { LlamaWeights } from '../llm/model/weights';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { createCpuTwosomeModels } from '../rl/twosome-cpu';
import { formatBytes } from '../util/format';
import { FileReadError, readFileBoundedSync } from '../util/read-file-node';

export const ALGOS = ['twosome', 'ppo-mlp', 'saycan'] as const;
export type Algo = (typeof ALGOS)[number];
export const BACKENDS = ['webgpu', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

/** The --backend flag that checkBackend reads (train, eval, compare). */
export const BACKEND_FLAG = {
  type: 'string',
  arg: BACKENDS.join('|'),
  help: 'where the LLM runs: the WebGPU engine (default) or the CPU reference',
} satisfies FlagSpec;

const USAGE =
  'twosome train --task ID --model DIR|URL|micro [--algo twosome|ppo-mlp|saycan] [--preset paper|quick] [--steps N] [--seed S] [--out DIR] [--resume DIR] ' +
  '[--envs N] [--rollout-steps N] [--policy-minibatches N] [--value-minibatches N] [--grad-accum N] [--policy-lr X] [--value-lr X] [--ent-coef X] [--normalization word|token|sum] [--prompts-per-pass N] [--episodes N] [--backend webgpu|cpu] [--max-updates N]';

// ---------------------------------------------------------------------------------------------------------
// Options shared with `compare`

export const OVERRIDE_FLAGS = {
  envs: { type: 'string', arg: 'N', help: 'parallel environments' },
  'rollout-steps': { type: 'string', arg: 'N', help: 'steps per environment per update' },
  'policy-minibatches': { type: 'string', arg: 'N', help: 'policy minibatches per epoch' },
  'value-minibatches': { type: 'string', arg: 'N', help: 'value minibatches per epoch' },
  'grad-accum': { type: 'string', arg: 'N', help: 'gradient accumulation steps of the policy' },
  'policy-lr': { type: 'string', arg: 'X', help: 'learning rate of the LoRA policy' },
  'value-lr': { type: 'string', arg: 'X', help: 'learning rate of the critic' },
  'ent-coef': { type: 'string', arg: 'X', help: 'entropy bonus coefficient' },
  normalization: { type: 'string', arg: 'word|token|sum', help: 'how action log-probs are normalized' },
  'prompts-per-pass': {
    type: 'string',
    arg: 'N',
    help: 'prompts per forward+backward pass (GPU memory against speed)',
  },
} as const;

export function parseOverrides(values: Partial<Record<keyof typeof OVERRIDE_FLAGS, string | undefined>>): {
  overrides: ConfigOverrides;
  promptsPerPass?: number;
} {
  const int = (name: keyof typeof OVERRIDE_FLAGS) =>
    values[name] === undefined ? undefined : parseIntFlag(values[name], name, 0, 1);
  const num = (name: keyof typeof OVERRIDE_FLAGS) =>
    values[name] === undefined ? undefined : parseNumberFlag(values[name], name, 0, 0);
  if (values.normalization !== undefined && !NORMALIZATIONS.includes(values.normalization as Normalization)) {
    throw new UsageError(`--normalization: "${values.normalization}" is not one of ${NORMALIZATIONS.join(', ')}`);
  }
  return {
    overrides: {
      numEnvs: int('envs'),
      numSteps: int('rollout-steps'),
      policyNumMinibatches: int('policy-minibatches'),
      valueNumMinibatches: int('value-minibatches'),
      gradientAccumulationSteps: int('grad-accum'),
      policyLr: num('policy-lr'),
      valueLr: num('value-lr'),
      entCoef: num('ent-coef'),
      normalization: values.normalization as Normalization | undefined,
    },
    promptsPerPass: int('prompts-per-pass'),
  };
}

export function checkTask(task: string | undefined): TaskId {
  if (!task) throw new UsageError('--task is required (one of ' + TASK_IDS.join(', ') + ')');
  if (!isTaskId(task)) throw new UsageError(`unknown task "${task}": use one of ${TASK_IDS.join(', ')}`);
  return task;
}

export function checkAlgo(algo: string | undefined): Algo {
  if (algo === undefined) return 'twosome';
  if (!(ALGOS as readonly string[]).includes(algo))
    throw new UsageError(`unknown algorithm "${algo}": use one of ${ALGOS.join(', ')}`);
  return algo as Algo;
}

export function checkBackend(backend: string | undefined): Backend {
  if (backend === undefined) return 'webgpu';
  if (!(BACKENDS as readonly string[]).includes(backend))
    throw new UsageError(
      `unknown backend "${backend}": use webgpu (the engine) or cpu (the reference implementation, for tiny models)`,
    );
  return backend as Backend;
}

export function checkPreset(preset: string | undefined): Preset {
  if (preset === undefined) return 'quick';
  if (!(PRESETS as readonly string[]).includes(preset))
    throw new UsageError(`unknown preset "${preset}": use one of ${PRESETS.join(', ')}`);
  return preset as Preset;
}

/**
 * The run's config from the one preset builder (src/rl/config.ts); a bad combination of flags is a usage
 * error. PPO-MLP from the command line runs the baseline script's length under either preset (the playground's
 * quick preset shortens it to TWOSOME's): --steps sets it.
 */
export function runConfig(algo: 'twosome', task: TaskId, preset: Preset, options: PresetOptions): PpoConfig;
export function runConfig(algo: 'ppo-mlp', task: TaskId, preset: Preset, options: PresetOptions): PpoMlpConfig;
export function runConfig(
  algo: 'twosome' | 'ppo-mlp',
  task: TaskId,
  preset: Preset,
  options: PresetOptions,
): PpoConfig | PpoMlpConfig;
export function runConfig(
  algo: 'twosome' | 'ppo-mlp',
  task: TaskId,
  preset: Preset,
  options: PresetOptions,
): PpoConfig | PpoMlpConfig {
  try {
    return algo === 'twosome'
      ? presetConfig('twosome', task, preset, options)
      : presetConfig('ppo-mlp', task, 'paper', options);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new UsageError(`bad ${algo === 'twosome' ? 'training' : 'PPO-MLP'} config: ${error.message}`);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Engines (one GPU device and one engine per model, shared by the runs of a process)

export class EngineHost {
  private gpu: GpuContext | null = null;
  private readonly engines = new Map<string, LlamaEngine>();
  private readonly cpuModels = new Map<string, { weights: LlamaWeights; tokenizer: LlmTokenizer }>();

  /** The model as float32 weights for the CPU reference (a model directory or 'micro'; not a URL). */
  async cpuModel(model: string): Promise<{ weights: LlamaWeights; tokenizer: LlmTokenizer }> {
    const cached = this.cpuModels.get(model);
    if (cached) return cached;
    if (/^[a-z]+:\/\//i.test(model))
      throw new UsageError(`--backend cpu needs a model directory or "micro", not a URL (${model})`);
    resolveModelSource(model);
    const loaded = await loadLlamaModelAndTokenizer(model === 'micro' ? MICRO_MODEL_DIR : model);
    const entry = { weights: loaded.weights, tokenizer: loaded.tokenizer };
    this.cpuModels.set(model, entry);
    return entry;
  }

  /** Scores with the frozen model (adapter off) or with an adapter, on the chosen backend. */
  async scorer(
    model: string,
    backend: Backend,
    adapter: LoraAdapter | null,
  ): Promise<{ scorer: BatchScorer; dispose(): void }> {
    if (backend === 'cpu') {
      const { weights, tokenizer } = await this.cpuModel(model);
      const { contextWindow } = weights.config;
      return {
        scorer: async (requests) => scoreBatch(weights, adapter, tokenizeRequests(tokenizer, requests, contextWindow)),
        dispose: () => {},
      };
    }
    const engine = await this.engine(model);
    const lora = adapter ? uploadLora(engine.gpu.device, adapter) : null;
    return {
      scorer: (requests) => engine.forwardScores(engine.tokenize(requests), { lora }),
      dispose: () => {
        if (lora) destroyLora(lora);
      },
    };
  }

  async engine(model: string): Promise<LlamaEngine> {
    const cached = this.engines.get(model);
    if (cached) return cached;
    const source = resolveModelSource(model);
    this.gpu ??= await requestNodeGpuContext();
    const engine = await LlamaEngine.load(this.gpu, source);
    this.engines.set(model, engine);
    return engine;
  }

  dispose(): void {
    for (const e of this.engines.values()) e.dispose();
    this.engines.clear();
    this.gpu?.device.destroy();
    this.gpu = null;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Progress on stderr

const fmt = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
/** The planned GPU memory ('-' on the CPU backend, which plans none). */
const fmtBytes = (bytes: number | null) => (bytes === null ? '-' : formatBytes(bytes));

/** One update as a line: progress, return, success, losses, KL, speed. */
export function metricsLine(label: string, m: UpdateMetrics & Partial<TwosomeUpdateMetrics>): string {
  const parts = [
    `${label} update ${m.update}/${m.numUpdates}`,
    `step ${m.globalStep}`,
    `return ${fmt(m.episodicReturn)}`,
    `success ${fmt(m.successRate, 2)}`,
    `episodes ${m.episodes}`,
    `pg ${fmt(m.policyLoss, 4)}`,
    `v ${fmt(m.valueLoss, 4)}`,
    `ent ${fmt(m.entropy)}`,
    `kl ${fmt(m.approxKl, 4)}${m.klStopped ? ' (stop)' : ''}`,
    `clip ${fmt(m.clipFrac, 2)}`,
    `${fmt(m.timing.sps, 2)} steps/s`,
  ];
  if (m.tokensPerSecond !== undefined) parts.push(`${fmt(m.tokensPerSecond, 0)} tok/s`);
  if (m.gpuMemoryBytes !== undefined) parts.push(`gpu ~${fmtBytes(m.gpuMemoryBytes)}`);
  return parts.join('  ');
}

export class Progress {
  private readonly tty: boolean;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  /** A status line: redrawn in place on a terminal, a new line otherwise. */
  update(label: string, m: UpdateMetrics & Partial<TwosomeUpdateMetrics>): void {
    if (!this.tty) {
      this.stream.write(`${metricsLine(label, m)}\n`);
      return;
    }
    const width = Math.max(40, (this.stream.columns || 120) - 1);
    const barWidth = 24;
    const filled = Math.round((barWidth * m.update) / Math.max(1, m.numUpdates));
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`;
    const line1 = `${bar} ${label} ${m.update}/${m.numUpdates} updates, ${m.globalStep} steps, ${fmt(m.timing.sps, 2)} steps/s${m.tokensPerSecond !== undefined ? `, ${fmt(m.tokensPerSecond, 0)} tok/s` : ''}`;
    const gpu = m.gpuMemoryBytes !== undefined ? `  gpu ~${fmtBytes(m.gpuMemoryBytes)}` : '';
    const line2 =
      `  return ${fmt(m.episodicReturn)}  success ${fmt(m.successRate, 2)}  pg ${fmt(m.policyLoss, 4)}` +
      `  v ${fmt(m.valueLoss, 4)}  ent ${fmt(m.entropy)}  kl ${fmt(m.approxKl, 4)}${m.klStopped ? ' stop' : ''}` +
      `  clip ${fmt(m.clipFrac, 2)}${gpu}`;
    const clip = (s: string) => (s.length > width ? s.slice(0, width) : s);
    this.stream.write(`${this.drawn ? '\x1b[1A\r\x1b[2K' : ''}${clip(line1)}\n\x1b[2K${clip(line2)}\r`);
    this.drawn = true;
  }

  note(text: string): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
    this.stream.write(`${text}\n`);
  }

  end(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// One run

export interface RunRequest {
  algo: Algo;
  task: TaskId;
  /** --model: 'micro', a directory or a URL (unused by PPO-MLP). */
  model: string;
  preset: Preset;
  /** Where the LLM runs (default webgpu). */
  backend?: Backend;
  seed?: number;
  steps?: number;
  overrides?: ConfigOverrides;
  promptsPerPass?: number;
  /** SayCan: evaluation episodes. */
  episodes?: number;
  out: string;
  /** A loaded checkpoint to continue (its algo, task and config win). */
  resume?: Checkpoint;
  /** Stop after this many updates of this call (continue later with --resume). */
  maxUpdates?: number;
  /** Prefix of progress lines (compare runs several). */
  label?: string;
}

export interface RunOutcome {
  algo: Algo;
  dir: string;
  /** Per-update metrics (all of the run's, resumed ones included). */
  metrics: (UpdateMetrics & Partial<TwosomeUpdateMetrics>)[];
  /** SayCan's evaluation. */
  evaluation?: PolicyEvaluation;
  /** Stopped by Ctrl-C / the signal before the run completed. */
  interrupted: boolean;
}

const METRICS_FILE = 'metrics.jsonl';
/** metrics.jsonl of a resumed PPO-MLP run is read whole: one line per update, ~600 bytes each. */
const MAX_METRICS_BYTES = 256 * 1024 * 1024;

/** A checkpoint's error, naming the file. */
function inCheckpoint(dir: string, error: CheckpointError): CheckpointError {
  return new CheckpointError(`${join(dir, CHECKPOINT_FILE)}: ${error.message}`);
}

/** The first `updates` lines of the run's metrics.jsonl (the updates its checkpoint holds). */
function previousMetrics(dir: string, updates: number): UpdateMetrics[] {
  const path = join(dir, METRICS_FILE);
  let bytes: Uint8Array | undefined;
  try {
    bytes = readFileBoundedSync(path, { maxBytes: MAX_METRICS_BYTES, what: 'metrics.jsonl', missingOk: true });
  } catch (error) {
    if (error instanceof FileReadError) throw new UsageError(`--resume: ${error.message}`);
    throw error;
  }
  if (!bytes) return [];
  const lines = new TextDecoder().decode(bytes).split('\n').filter(Boolean).slice(0, updates);
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as UpdateMetrics;
    } catch {
      const what = "the run's metrics are damaged (delete the file to start them afresh)";
      throw new UsageError(`--resume: ${path} line ${i + 1} is not JSON; ${what}`);
    }
  });
}

function writeMetricsFile(dir: string, algo: Algo, metrics: readonly object[]): void {
  writeFileAtomic(join(dir, METRICS_FILE), metrics.map((m) => `${JSON.stringify({ algo, ...m })}\n`).join(''));
}

/** Trains (or, for SayCan, evaluates) one agent into `request.out`. */
export async function runTraining(
  request: RunRequest,
  host: EngineHost,
  progress: Progress,
  signal?: AbortSignal,
): Promise<RunOutcome> {
  const dir = resolve(request.out);
  mkdirSync(dir, { recursive: true });
  const label = request.label ?? request.algo;
  const backend = request.backend ?? 'webgpu';
  const run: RunInfo = request.resume?.run ?? {
    task: request.task,
    model: request.algo === 'ppo-mlp' ? null : request.model,
    preset: request.preset,
    backend,
    startedAt: new Date().toISOString(),
  };

  if (request.algo === 'saycan') {
    const episodes = request.episodes ?? 10;
    const normalization = request.overrides?.normalization ?? 'word';
    const runJson = { algo: 'saycan', ...run, backend, normalization, episodes, greedy: true };
    writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(runJson, null, 2)}\n`);
    const frozen = await host.scorer(request.model, backend, null);
    const evaluation = await evaluatePolicy(request.task, frozen.scorer, { episodes, greedy: true, normalization });
    frozen.dispose();
    const line = {
      update: 0,
      numUpdates: 0,
      globalStep: 0,
      episodes: evaluation.episodes,
      episodicReturn: evaluation.meanReturn,
      successRate: evaluation.successRate,
      episodeLength: evaluation.meanLength,
      greedy: true,
    };
    writeMetricsFile(dir, 'saycan', [line]);
    progress.note(
      `${label}: greedy frozen model on ${request.task}: success ${fmt(evaluation.successRate, 2)}, return ${fmt(evaluation.meanReturn)} over ${evaluation.episodes} episodes`,
    );
    return { algo: 'saycan', dir, metrics: [], evaluation, interrupted: false };
  }

  if (request.algo === 'ppo-mlp') {
    const state = request.resume?.algo === 'ppo-mlp' ? request.resume.state : undefined;
    const config = state?.config ?? runConfig('ppo-mlp', request.task, request.preset, request);
    // The saved state is validated (PpoMlpTrainer.setState) before anything in the run directory changes.
    let trainer: PpoMlpTrainer;
    try {
      trainer = state ? PpoMlpTrainer.fromState(state) : new PpoMlpTrainer(config);
    } catch (error) {
      if (error instanceof CheckpointError) throw inCheckpoint(dir, error);
      throw error;
    }
    removeStaleTemporaries(dir);
    // PPO-MLP's state has no metrics history: keep the file's first `update` lines (read before anything is written).
    const previous = trainer.update > 0 ? previousMetrics(dir, trainer.update) : [];
    writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify({ algo: 'ppo-mlp', ...run, config }, null, 2)}\n`);
    writeMetricsFile(dir, 'ppo-mlp', previous);
    const metrics: UpdateMetrics[] = previous;
    await trainLoop<PpoMlpTrainer, UpdateMetrics>(trainer, {
      signal,
      maxUpdates: request.maxUpdates,
      onUpdate: async (m, t) => {
        metrics.push(m);
        appendFileSync(join(dir, METRICS_FILE), `${JSON.stringify({ algo: 'ppo-mlp', ...m })}\n`);
        saveCheckpoint(dir, makeCheckpoint('ppo-mlp', run, t.getState()));
        progress.update(label, m);
        // Let Ctrl-C through between CPU updates.
        await new Promise((r) => setImmediate(r));
      },
    });
    progress.end();
    return { algo: 'ppo-mlp', dir, metrics, interrupted: !trainer.done };
  }

  // TWOSOME
  const resume = request.resume?.algo === 'twosome' ? request.resume.state : undefined;
  const config = resume?.config ?? runConfig('twosome', request.task, request.preset, request);
  const seeds = twosomeSeeds(config.seed);
  let models: TwosomeModels;
  if (backend === 'cpu') {
    const { weights, tokenizer } = await host.cpuModel(request.model);
    models = createCpuTwosomeModels(weights, tokenizer, config, seeds);
  } else {
    models = createGpuTwosomeModels(await host.engine(request.model), config, seeds);
  }
  const baseModel = baseModelName(run.model ?? 'micro');
  /** The files derived from a state (adapter, critic), written before the checkpoint that makes them current. */
  const writeDerived = (state: TwosomeState) => {
    if (state.actor.adapter) {
      const peft = encodePeftAdapter(state.actor.adapter, { baseModel });
      writeFileAtomic(join(dir, 'adapter_config.json'), peft.config);
      writeFileAtomic(join(dir, 'adapter_model.safetensors'), peft.weights);
    }
    writeFileAtomic(join(dir, 'critic.safetensors'), encodeCritic(state.critic));
  };
  try {
    const trainer = await trainTwosome(config, models, {
      state: resume,
      signal,
      maxUpdates: request.maxUpdates,
      run: { promptsPerPass: request.promptsPerPass },
      // The checkpoint restored (or the fresh run set up): only now is anything in the directory written, and
      // a resumed run's files are rewritten from its checkpoint, whatever a kill left them at.
      onReady: async (t) => {
        removeStaleTemporaries(dir);
        const runJson = { algo: 'twosome', ...run, backend, config };
        writeFileAtomic(join(dir, 'run.json'), `${JSON.stringify(runJson, null, 2)}\n`);
        writeMetricsFile(dir, 'twosome', resume?.metrics ?? []);
        if (resume) writeDerived(await t.getState());
      },
      // Metrics, adapter and critic first, the checkpoint last: a kill in between leaves a checkpoint one
      // update behind the other files, and resuming rewrites them from it.
      onUpdate: async (m, t) => {
        const state = await t.getState();
        appendFileSync(join(dir, METRICS_FILE), `${JSON.stringify({ algo: 'twosome', ...m })}\n`);
        writeDerived(state);
        saveCheckpoint(dir, makeCheckpoint('twosome', run, state));
        progress.update(label, m);
      },
    });
    progress.end();
    return { algo: 'twosome', dir, metrics: trainer.history, interrupted: !trainer.done };
  } catch (error) {
    if (error instanceof CheckpointError && resume) throw inCheckpoint(dir, error);
    throw error;
  } finally {
    models.actor.dispose?.();
    models.critic.dispose?.();
  }
}

// ---------------------------------------------------------------------------------------------------------
// The command

/** An AbortSignal that fires on the first Ctrl-C (the second one kills the process as usual). */
export function interruptSignal(progress: Progress): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    progress.note('stopping after the update in progress (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, release: () => process.off('SIGINT', onSigint) };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      task: { type: 'string', arg: 'ID', help: `the task: ${TASK_IDS.join(', ')}` },
      model: MODEL_FLAG,
      algo: { type: 'string', arg: ALGOS.join('|'), help: 'the algorithm (default twosome)' },
      preset: {
        type: 'string',
        arg: PRESETS.join('|'),
        help: "TWOSOME's configuration: the paper's or a short one (default quick)",
      },
      steps: { type: 'string', arg: 'N', help: "environment steps in all (default: the preset's)" },
      seed: { type: 'string', arg: 'S', help: "the run's seed (default: the preset's)" },
      out: { type: 'string', arg: 'DIR', help: 'the run directory (default runs/TASK-ALGO-seedS)' },
      resume: { type: 'string', arg: 'DIR', help: 'continue the run in DIR from its checkpoint.bin' },
      episodes: { type: 'string', arg: 'N', help: 'SayCan: evaluation episodes (default 10)' },
      backend: BACKEND_FLAG,
      'max-updates': {
        type: 'string',
        arg: 'N',
        help: 'stop after N updates of this call (continue later with --resume)',
      },
      ...OVERRIDE_FLAGS,
    },
    USAGE,
  );
  const { overrides, promptsPerPass } = parseOverrides(values);
  const maxUpdates =
    values['max-updates'] === undefined ? undefined : parseIntFlag(values['max-updates'], 'max-updates', 0, 1);
  const steps = values.steps === undefined ? undefined : parseIntFlag(values.steps, 'steps', 0, 1);
  const seed = values.seed === undefined ? undefined : parseIntFlag(values.seed, 'seed', 0, 0);
  const episodes = parseIntFlag(values.episodes, 'episodes', 10, 1);

  let resume: Checkpoint | undefined;
  let algo: Algo;
  let task: TaskId;
  let preset: Preset;
  let out: string;
  if (values.resume !== undefined) {
    if (!existsSync(values.resume) || !statSync(values.resume).isDirectory())
      throw new UsageError(`--resume ${values.resume}: no such run directory`);
    try {
      resume = await loadCheckpoint(values.resume);
    } catch (error) {
      if (error instanceof CheckpointError) throw new UsageError(`--resume: ${error.message}`);
      throw error;
    }
    algo = resume.algo;
    if (values.algo !== undefined && checkAlgo(values.algo) !== algo)
      throw new UsageError(`--resume ${values.resume} is a ${algo} run, not ${values.algo}`);
    task = resume.run.task;
    if (values.task !== undefined && checkTask(values.task) !== task)
      throw new UsageError(`--resume ${values.resume} trains ${task}, not ${values.task}`);
    preset = checkPreset(resume.run.preset);
    if (values.out !== undefined && resolve(values.out) !== resolve(values.resume))
      throw new UsageError('--out: a resumed run continues in its own directory (leave --out out)');
    out = values.resume;
  } else {
    task = checkTask(values.task);
    algo = checkAlgo(values.algo);
    preset = checkPreset(values.preset);
    out = values.out ?? join('runs', `${task}-${algo}-seed${seed ?? 'default'}`);
  }
  const model = values.model ?? resume?.run.model ?? 'micro';
  // A checkpoint is a file like any other: the URL it names is fetched only when the user asks for it.
  if (values.model === undefined && resume?.run.model && /^[a-z]+:/i.test(resume.run.model)) {
    const url = JSON.stringify(resume.run.model);
    const ask = `add --model ${url} to continue with it (or --model DIR for a copy you have)`;
    const which = `the run's model is the URL ${url}, which is not fetched unless you ask`;
    throw new UsageError(`--resume ${values.resume}: ${which}: ${ask}`);
  }
  const backend = checkBackend(values.backend ?? resume?.run.backend);
  // Validate the model argument and the config before any GPU work.
  if (algo !== 'ppo-mlp') resolveModelSource(model);
  if (algo !== 'ppo-mlp' && backend === 'cpu' && /^[a-z]+:\/\//i.test(model))
    throw new UsageError(`--backend cpu needs a model directory or "micro", not a URL (${model})`);
  if (!resume && algo !== 'saycan') runConfig(algo, task, preset, { seed, steps, overrides });

  const progress = new Progress();
  const host = new EngineHost();
  const interrupt = interruptSignal(progress);
  try {
    const outcome = await runTraining(
      { algo, task, model, preset, backend, seed, steps, overrides, promptsPerPass, episodes, out, resume, maxUpdates },
      host,
      progress,
      interrupt.signal,
    );
    const last = outcome.metrics[outcome.metrics.length - 1];
    const summary =
      outcome.algo === 'saycan'
        ? `saycan ${task}: success ${fmt(outcome.evaluation?.successRate, 2)}, return ${fmt(outcome.evaluation?.meanReturn)}`
        : `${outcome.algo} ${task}: ${last ? `${last.update}/${last.numUpdates} updates, ${last.globalStep} steps, last return ${fmt(last.episodicReturn)}, success ${fmt(last.successRate, 2)}` : 'no updates'}${outcome.interrupted ? ` (stopped early; continue with --resume ${outcome.dir})` : ''}`;
    process.stdout.write(`${summary}; wrote ${outcome.dir}\n`);
    return interrupt.signal.aborted ? 130 : 0;
  } finally {
    interrupt.release();
    host.dispose();
  }
}
