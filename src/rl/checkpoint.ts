/**
 * Training checkpoints as one plain, structured-cloneable object (typed arrays, numbers, strings, arrays and
 * plain objects only): it goes as it is into IndexedDB in the browser, and through the structured-clone
 * serializer (node:v8) into `checkpoint.bin` in a run directory (checkpoint-node.ts).
 *
 * A checkpoint is input like any file: it is validated before it changes anything. `checkCheckpoint` checks
 * what needs no model (the run record, counters, seeds, config, metrics); the trainers then compare the state
 * with their own (`checkStateShape`: every array of the model-sized state, the LoRA layout) before restoring
 * any of it, so a checkpoint of another model, or a damaged one, is refused whole, never partly applied.
 */
import { isTaskId } from '../envs/registry';
import type { TaskId } from '../envs/types';
import {
  ConfigError,
  derivePpo,
  derivePpoMlp,
  paperPpoConfig,
  paperPpoMlpConfig,
  quickPpoConfig,
  type PpoConfig,
  type PpoMlpConfig,
} from './config';
import type { PpoMlpState } from './ppo-mlp';
import type { TwosomeState } from './twosome-trainer';

export const CHECKPOINT_FORMAT = 'twosome-web/checkpoint';
export const CHECKPOINT_VERSION = 1;

/** How the run was started (what `--resume` needs besides the trainer state). */
export interface RunInfo {
  task: TaskId;
  /** The --model argument ('micro', a directory or a URL); null for runs without an LLM. */
  model: string | null;
  preset: string;
  /** Where the LLM ran: 'webgpu' (the engine) or 'cpu' (the reference); absent means webgpu. */
  backend?: string;
  /** Wall-clock ISO time the run started. */
  startedAt: string;
}

interface CheckpointOf<A extends string, S> {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  algo: A;
  run: RunInfo;
  state: S;
}

export type Checkpoint = CheckpointOf<'twosome', TwosomeState> | CheckpointOf<'ppo-mlp', PpoMlpState>;

/** A checkpoint that cannot be resumed: damaged, of another version, or not for this model; nothing was restored. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export function makeCheckpoint(algo: 'twosome', run: RunInfo, state: TwosomeState): Checkpoint;
export function makeCheckpoint(algo: 'ppo-mlp', run: RunInfo, state: PpoMlpState): Checkpoint;
export function makeCheckpoint(
  algo: 'twosome' | 'ppo-mlp',
  run: RunInfo,
  state: TwosomeState | PpoMlpState,
): Checkpoint {
  return { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, algo, run, state } as Checkpoint;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** A value from the file, for a message: JSON, cut short (no control or bidi character reaches a terminal raw). */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = text.replace(/[\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** Throws a one-line CheckpointError unless `value` is a checkpoint this version can resume (no model needed). */
export function checkCheckpoint(value: unknown, where = 'checkpoint'): Checkpoint {
  // "checkpoint.bin is not ...", "checkpoint.bin: run.task ... is not ...".
  const fail = (detail: string): never => {
    throw new CheckpointError(`${where}${/^(is|has) /.test(detail) ? ' ' : ': '}${detail}`);
  };
  if (!isObject(value) || value.format !== CHECKPOINT_FORMAT) return fail('is not a twosome-web checkpoint');
  const c = value as Obj;
  if (c.version !== CHECKPOINT_VERSION) fail(`has version ${show(c.version)}; this build reads ${CHECKPOINT_VERSION}`);
  if (c.algo !== 'twosome' && c.algo !== 'ppo-mlp') fail(`has an unknown algorithm ${show(c.algo)}`);
  if (!isObject(c.state)) fail('has no trainer state');
  if (!isObject(c.run)) fail('has no run record ("run")');
  const run = c.run as Obj;
  if (typeof run.task !== 'string' || !isTaskId(run.task)) fail(`run.task ${show(run.task)} is not a task here`);
  const model = run.model;
  const modelOk =
    // eslint-disable-next-line no-control-regex -- control characters have no place in a model name
    typeof model === 'string' && model.length > 0 && model.length <= 4096 && !/[\u0000-\u001f\u007f]/.test(model);
  if (model !== null && !modelOk) fail(`run.model ${show(model)} is not a model name, directory or URL`);
  if (c.algo === 'twosome' && model === null) fail('run.model is missing: a TWOSOME run names its model');
  if (typeof run.preset !== 'string' || !['paper', 'quick'].includes(run.preset)) {
    fail(`run.preset ${show(run.preset)} is not paper or quick`);
  }
  if (run.backend !== undefined && run.backend !== 'webgpu' && run.backend !== 'cpu') {
    fail(`run.backend ${show(run.backend)} is not webgpu or cpu`);
  }
  if (typeof run.startedAt !== 'string' || run.startedAt.length > 64) {
    fail(`run.startedAt ${show(run.startedAt)} is not a time`);
  }
  checkTrainerState(c.algo as 'twosome' | 'ppo-mlp', c.state as Obj, run.task as TaskId, fail);
  return value as unknown as Checkpoint;
}

/** The counters, seeds, config, env count and metrics of a state: what can be checked without the model. */
function checkTrainerState(algo: 'twosome' | 'ppo-mlp', state: Obj, task: TaskId, fail: (d: string) => never): void {
  if (state.version !== 1) fail(`state.version ${show(state.version)} is not 1`);
  if (!isObject(state.config)) fail('state.config is missing');
  const config = state.config as Obj;
  if (config.taskId !== task) fail(`state.config.taskId ${show(config.taskId)} differs from run.task ${show(task)}`);
  const references =
    algo === 'twosome'
      ? [paperPpoConfig(task), quickPpoConfig(task)]
      : [paperPpoMlpConfig(task), paperPpoMlpConfig(task, 'released')];
  checkConfigTypes(references, config, 'state.config', fail);
  let numUpdates: number;
  try {
    numUpdates =
      algo === 'twosome'
        ? derivePpo(config as unknown as PpoConfig).numUpdates
        : derivePpoMlp(config as unknown as PpoMlpConfig).numUpdates;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TypeError || error instanceof RangeError) {
      return fail(`state.config is not a valid ${algo} config (${(error as Error).message})`);
    }
    throw error;
  }
  for (const key of ['update', 'globalStep', 'primitiveSteps', 'episodesTotal']) {
    if (!isCount(state[key])) fail(`state.${key} ${show(state[key])} is not a non-negative integer`);
  }
  if ((state.update as number) > numUpdates) {
    fail(`state.update ${state.update as number} is past the run's ${numUpdates} updates`);
  }
  if (!isObject(state.rng)) fail('state.rng is missing');
  for (const stream of ['sample', 'shuffle']) {
    const s = (state.rng as Obj)[stream];
    const words = Array.isArray(s) && s.length === 4 && s.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32);
    if (!words || s.every((v: number) => v === 0)) {
      fail(`state.rng.${stream} ${show(s)} is not a generator state (4 unsigned 32-bit integers, not all 0)`);
    }
  }
  const numEnvs = config.numEnvs as number;
  if (!isObject(state.envs)) fail('state.envs is missing');
  const envs = state.envs as Obj;
  for (const key of ['envs', 'lengths', 'primitiveSteps']) {
    const list = envs[key];
    if (!Array.isArray(list) || list.length !== numEnvs) {
      const has = Array.isArray(list) ? list.length : show(list);
      fail(`state.envs.${key} must list the ${numEnvs} environments (has ${has})`);
    }
  }
  (envs.envs as unknown[]).forEach((snapshot, i) => {
    if (!isObject(snapshot) || snapshot.taskId !== task || !isObject(snapshot.data)) {
      fail(`state.envs.envs[${i}] is not a ${task} environment state`);
    }
  });
  for (const key of ['lengths', 'primitiveSteps']) {
    (envs[key] as unknown[]).forEach((v, i) => isCount(v) || fail(`state.envs.${key}[${i}] ${show(v)} is not a count`));
  }
  if (algo === 'twosome') {
    if (!isObject(state.options) || !isCount((state.options as Obj).promptsPerPass)) {
      fail('state.options.promptsPerPass is not a count');
    }
    const metrics = state.metrics;
    if (!Array.isArray(metrics) || metrics.length !== state.update) {
      fail(`state.metrics must hold one entry per update done (${state.update as number})`);
    }
    (metrics as unknown[]).forEach((m, i) => {
      if (!isObject(m) || m.update !== i + 1 || !isObject(m.timing) || !isCount(m.skippedSteps)) {
        fail(`state.metrics[${i}] is not the metrics of update ${i + 1}`);
      }
    });
  }
}

/**
 * Every field of a config has the type it has in the presets (`references`): the same keys, numbers where they
 * hold numbers, list elements of the type the presets' lists hold, null only where a preset has null. The
 * values are checked by derivePpo/derivePpoMlp; this keeps a field they do not range-check (a flag such as
 * normAdv) from arriving as a string and changing what the trainer does.
 */
function checkConfigTypes(references: readonly unknown[], given: unknown, path: string, fail: (d: string) => never) {
  const kinds = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);
  const expected = new Set(references.map(kinds));
  const kind = kinds(given);
  if (!expected.has(kind)) {
    return fail(`${path} ${show(given)} is not a ${[...expected].filter((k) => k !== 'null').join(' or ')}`);
  }
  if (kind === 'number' && !Number.isFinite(given)) fail(`${path} is ${String(given)}`);
  if (kind === 'list') {
    const elements = references.filter(Array.isArray).flat();
    if (elements.length === 0) return;
    (given as unknown[]).forEach((v, i) => checkConfigTypes(elements, v, `${path}[${i}]`, fail));
  } else if (kind === 'object') {
    const objects = references.filter((r): r is Obj => isObject(r));
    for (const key of new Set(objects.flatMap((o) => Object.keys(o)))) {
      checkConfigTypes(
        objects.filter((o) => key in o).map((o) => o[key]),
        (given as Obj)[key],
        `${path}.${key}`,
        fail,
      );
    }
  }
}

export interface ShapeCheckOptions {
  /** Paths whose content is not compared (validated elsewhere). */
  skip?: (path: string) => boolean;
  /** Paths whose numbers and strings must equal the trainer's own (layer indices, dimensions, the LoRA config). */
  exact?: (path: string) => boolean;
}

/**
 * Throws a CheckpointError at the first place `given` (a saved state) differs in structure from `expected`
 * (the trainer's own state): a missing key, another type, an array or typed array of another length, a
 * non-finite number or weight, or (at `exact` paths) another value. Run before anything is restored.
 */
export function checkStateShape(expected: unknown, given: unknown, path = 'state', options: ShapeCheckOptions = {}) {
  if (options.skip?.(path)) return;
  const fail = (detail: string): never => {
    throw new CheckpointError(`${path}: ${detail}`);
  };
  if (ArrayBuffer.isView(expected)) {
    const kind = (expected as object).constructor.name;
    if (!ArrayBuffer.isView(given) || (given as object).constructor.name !== kind) {
      const found = typeof given === 'object' && given ? (given as object).constructor.name : given;
      return fail(`expected a ${kind}, found ${show(found)}`);
    }
    const a = expected as unknown as ArrayLike<number>;
    const b = given as unknown as ArrayLike<number>;
    if (b.length !== a.length) {
      fail(`has ${b.length} values, this model's has ${a.length} (a checkpoint of another model or configuration?)`);
    }
    if (!kind.startsWith('Float')) return;
    for (let i = 0; i < b.length; i++) if (!Number.isFinite(b[i])) fail(`value ${i} is ${b[i]}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(given)) return fail(`expected a list, found ${show(given)}`);
    if (given.length !== expected.length) fail(`lists ${given.length} entries, this model's has ${expected.length}`);
    expected.forEach((e, i) => checkStateShape(e, given[i], `${path}[${i}]`, options));
    return;
  }
  if (isObject(expected)) {
    if (!isObject(given)) return fail(`expected an object, found ${show(given)}`);
    for (const key of Object.keys(expected)) checkStateShape(expected[key], given[key], `${path}.${key}`, options);
    return;
  }
  if (expected === null) {
    if (given !== null) fail(`expected null, found ${show(given)}`);
    return;
  }
  if (typeof given !== typeof expected) fail(`expected a ${typeof expected}, found ${show(given)}`);
  if (typeof given === 'number' && !Number.isFinite(given)) fail(`${given} is not a finite number`);
  if (options.exact?.(path) && given !== expected) fail(`is ${show(given)}, this model's is ${show(expected)}`);
}
