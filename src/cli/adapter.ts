/**
 * `twosome adapter inspect FILE|DIR [--model M] [--json]`: checks a LoRA adapter (a PEFT directory,
 *     adapter_model.safetensors, adapter_config.json, or a twosome bundle .zip) and prints a summary: targets, r,
 *     alpha, layers, parameters, dtype, base model, size. Shapes are checked against --model M (catalog id,
 *     "micro" or an MLC model directory), else against the catalog architecture the base model names.
 *     Anything wrong: ONE line on stderr, exit 2 (whatever the input: no stack traces, bounded work).
 * `twosome adapter export BUNDLE --out DIR`: bundle -> PEFT files (adapter_config.json, adapter_model.safetensors).
 * `twosome adapter import DIR --out BUNDLE [--model M] [--task T] [--norm N] [--seed S] [--allow-base-mismatch]`:
 *     PEFT files -> bundle. The model defaults to the one the adapter's base_model_name_or_path names.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { FileReadError, readFileBoundedSync } from '../util/read-file-node';
import { terminalJson, terminalSafe } from '../util/terminal-text';
import { basename, dirname, join, resolve } from 'node:path';
import { isTaskId, TASK_IDS } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { architectureConfig, architectureOf } from '../llm/model/catalog';
import { parseLlamaConfigText, type LlamaConfig } from '../llm/model/config';
import { NORMALIZATIONS, type Normalization } from '../rl/policy';
import {
  adapterWeightsParameterCount,
  baseModelMismatch,
  bindAdapter,
  catalogModelsForBase,
  checkBaseModel,
  type AdapterWeights,
} from '../share/adapter';
import { BUNDLE_MANIFEST_FILE, decodeBundle, encodeBundle, type DecodedBundle } from '../share/bundle';
import { AdapterFormatError, oneLine, ShareLinkError } from '../share/errors';
import { DEFAULT_LIMITS } from '../share/limits';
import {
  decodePeftAdapter,
  encodePeftAdapter,
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  type DecodedPeftAdapter,
  type PeftWeightsDtype,
} from '../share/peft';
import { parseFlags, wantsHelp, type FlagSpec } from './args';
import { HelpRequest, UsageError } from './errors';
import { MICRO_MODEL_DIR } from './model-source';
import { describeError } from '../util/errors';

const INSPECT_USAGE = 'twosome adapter inspect FILE|DIR [--model M] [--json]';
const EXPORT_USAGE = 'twosome adapter export BUNDLE --out DIR';
const IMPORT_USAGE =
  'twosome adapter import DIR --out BUNDLE [--model M] [--task T] [--norm word|token|sum] [--seed S] ' +
  '[--allow-base-mismatch]';
const USAGE = `${INSPECT_USAGE} | ${EXPORT_USAGE} | ${IMPORT_USAGE}`;
const MODEL_HELP = 'a catalog id, micro, or an MLC model directory';

export async function adapterCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== undefined && wantsHelp([sub])) {
    const usages = `usage: ${INSPECT_USAGE}\n       ${EXPORT_USAGE}\n       ${IMPORT_USAGE}`;
    throw new HelpRequest(`${usages}\n\n\`twosome adapter SUBCOMMAND --help\` lists its options`);
  }
  try {
    if (sub === 'inspect') return await adapterInspect(rest);
    if (sub === 'export') return await adapterExport(rest);
    if (sub === 'import') return await adapterImport(rest);
  } catch (error) {
    // Paths and values from the command line may hold control characters: every user error stays one line.
    if (error instanceof UsageError) throw new UsageError(oneLine(error.message, 1000));
    throw error;
  }
  throw new UsageError(`${sub ? `unknown subcommand "adapter ${oneLine(sub, 40)}"; ` : ''}usage: ${USAGE}`);
}

function parse(argv: string[], options: Record<string, FlagSpec>, what: string, usage: string) {
  let parsed;
  try {
    parsed = parseFlags(argv, options, usage, { positionals: Number.MAX_SAFE_INTEGER });
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(oneLine(`${error.message.split('\n')[0]} (usage: ${usage})`));
    throw error;
  }
  if (parsed.positionals.length !== 1) {
    throw new UsageError(`expected one ${what}, got ${parsed.positionals.length} (usage: ${usage})`);
  }
  return { values: parsed.values as Record<string, string | boolean | undefined>, path: parsed.positionals[0] };
}

/** Any error from reading an input becomes one UsageError line (exit 2), even one we did not foresee. */
function asUserError(error: unknown, path: string): never {
  if (error instanceof UsageError) throw new UsageError(oneLine(error.message));
  if (error instanceof AdapterFormatError || error instanceof ShareLinkError) throw new UsageError(error.message);
  if (error instanceof Error && (error.name === 'ModelFormatError' || error.name === 'ModelUrlError'))
    throw new UsageError(oneLine(error.message));
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code))
    throw new UsageError(
      oneLine(
        `${path}: cannot read or write (${code}${code === 'EACCES' ? ': permission denied' : code === 'EISDIR' ? ': is a directory' : ''})`,
      ),
    );
  const message = describeError(error);
  throw new UsageError(oneLine(`${path}: cannot be read as an adapter (${message})`, 300));
}

// ---------------------------------------------------------------------------------------------------------
// Reading inputs.

/** A regular file's bytes, after checking its size against `max` (nothing is read when it is too large). */
function readCapped(path: string, max: number, what: string): Uint8Array {
  try {
    return readFileBoundedSync(path, { maxBytes: max, what });
  } catch (error) {
    if (error instanceof FileReadError) throw new UsageError(error.message);
    throw error;
  }
}

function firstBytes(path: string, n: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const out = new Uint8Array(n);
    const got = readSync(fd, out, 0, n, 0);
    return out.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const PICKLE_HINT =
  'pickle files (.bin, .pt, .pth, .pkl) are never loaded because loading them can run code; save the adapter with safetensors (save_pretrained(..., safe_serialization=True))';

type Loaded =
  | { kind: 'bundle'; file: string; bytes: number; bundle: DecodedBundle }
  | { kind: 'peft'; file: string; bytes: number; peft: DecodedPeftAdapter; configPath: string | null };

function loadPeftFiles(configPath: string | null, weightsPath: string, file: string): Loaded {
  const config = configPath ? readCapped(configPath, DEFAULT_LIMITS.maxConfigBytes, PEFT_CONFIG_FILE) : null;
  const weights = readCapped(weightsPath, DEFAULT_LIMITS.maxWeightsBytes, 'an adapter');
  const peft = decodePeftAdapter(
    { config, weights },
    { configFile: configPath ?? PEFT_CONFIG_FILE, weightsFile: weightsPath },
  );
  return { kind: 'peft', file, bytes: weights.length, peft, configPath };
}

function loadAdapterPath(path: string, requireConfig: boolean): Loaded {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file or directory`);
  const st = statSync(path);
  if (st.isDirectory()) {
    const config = join(path, PEFT_CONFIG_FILE);
    const weights = join(path, PEFT_WEIGHTS_FILE);
    if (!existsSync(weights)) {
      if (existsSync(join(path, 'adapter_model.bin')))
        throw new UsageError(`${path}: holds adapter_model.bin, not ${PEFT_WEIGHTS_FILE}: ${PICKLE_HINT}`);
      throw new UsageError(
        `${path}: no ${PEFT_WEIGHTS_FILE} in this directory (a PEFT adapter directory holds ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE})`,
      );
    }
    if (!existsSync(config) && requireConfig)
      throw new UsageError(
        `${path}: no ${PEFT_CONFIG_FILE} in this directory (it holds r, lora_alpha and the targets)`,
      );
    return loadPeftFiles(existsSync(config) ? config : null, weights, path);
  }
  if (!st.isFile()) throw new UsageError(`${path}: not a regular file or directory`);
  const head = firstBytes(path, 16);
  const lower = path.toLowerCase();
  const dir = dirname(path);
  const isZip = head[0] === 0x50 && head[1] === 0x4b;
  const isPickle = head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
  const looksSafetensors = head.length > 8 && head[8] === 0x7b; // "{" right after the 8-byte length
  let kind: 'bundle' | 'config' | 'weights';
  if (lower.endsWith('.safetensors')) kind = 'weights';
  else if (lower.endsWith('.json')) kind = 'config';
  else if (lower.endsWith('.zip')) kind = 'bundle';
  else if (isPickle) throw new UsageError(`${path}: ${PICKLE_HINT}`);
  else if (isZip) kind = 'bundle';
  else if (looksSafetensors) kind = 'weights';
  else if (head[0] === 0x7b) kind = 'config';
  else if (/\.(bin|pt|pth|pkl|pickle|ckpt)$/.test(lower)) throw new UsageError(`${path}: ${PICKLE_HINT}`);
  else kind = 'weights';

  if (kind === 'bundle') {
    const bytes = readCapped(path, DEFAULT_LIMITS.maxBundleBytes, 'a bundle');
    try {
      return { kind: 'bundle', file: path, bytes: bytes.length, bundle: decodeBundle(bytes, { file: path }) };
    } catch (error) {
      // A PyTorch .pt/.bin file is a zip holding a pickle.
      if (error instanceof AdapterFormatError && /\.pkl"/.test(error.message))
        throw new UsageError(`${path}: a PyTorch checkpoint (zip with a pickle), not a bundle: ${PICKLE_HINT}`);
      throw error;
    }
  }
  if (kind === 'config') {
    const weights = join(dir, PEFT_WEIGHTS_FILE);
    if (!existsSync(weights))
      throw new UsageError(
        `${path}: no ${PEFT_WEIGHTS_FILE} beside it (a PEFT adapter is ${PEFT_CONFIG_FILE} plus ${PEFT_WEIGHTS_FILE} in one directory)`,
      );
    return loadPeftFiles(path, weights, path);
  }
  const config = join(dir, PEFT_CONFIG_FILE);
  const hasConfig = existsSync(config) && statSync(config).isFile();
  if (!hasConfig && requireConfig)
    throw new UsageError(`${path}: no ${PEFT_CONFIG_FILE} beside it (it holds r, lora_alpha and the targets)`);
  return loadPeftFiles(hasConfig ? config : null, path, path);
}

// ---------------------------------------------------------------------------------------------------------
// Models.

interface ModelChoice {
  modelId: string;
  config: LlamaConfig;
}

/** --model M: a catalog id, "micro", or an MLC model directory (its mlc-chat-config.json). */
function resolveModel(model: string): ModelChoice {
  if (architectureOf(model)) return { modelId: model, config: architectureConfig(model) };
  const dir = model === 'micro' ? MICRO_MODEL_DIR : model;
  const file = join(dir, 'mlc-chat-config.json');
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(file)) {
    throw new UsageError(
      `--model ${oneLine(model, 200)}: not a catalog id (\`twosome models list\`), "micro", or an MLC model directory with mlc-chat-config.json`,
    );
  }
  const text = readCapped(file, 1 << 20, 'mlc-chat-config.json');
  return {
    modelId: model === 'micro' ? 'micro' : basename(resolve(dir)),
    config: parseLlamaConfigText(new TextDecoder().decode(text), file),
  };
}

/** Models an adapter's base model names: catalog models, or micro. */
function modelsForBase(base: string | null): ModelChoice[] {
  if (base !== null && baseModelMismatch(base, 'micro') === null) return [resolveModel('micro')];
  return catalogModelsForBase(base);
}

// ---------------------------------------------------------------------------------------------------------
// inspect

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export async function adapterInspect(argv: string[]): Promise<number> {
  const { values, path } = parse(
    argv,
    {
      model: {
        type: 'string',
        arg: 'M',
        help: `check the shapes against this model (${MODEL_HELP}); default: the base model's`,
      },
      json: { type: 'boolean', default: false, help: 'one JSON object' },
    },
    'FILE or DIR',
    INSPECT_USAGE,
  );
  let loaded: Loaded;
  let checked: string;
  const warnings: string[] = [];
  try {
    loaded = loadAdapterPath(path, false);
    const weights = loaded.kind === 'bundle' ? loaded.bundle.weights : loaded.peft.weights;
    const base = loaded.kind === 'bundle' ? loaded.bundle.baseModel : loaded.peft.baseModel;
    warnings.push(...(loaded.kind === 'bundle' ? loaded.bundle.warnings : loaded.peft.warnings));
    if (typeof values.model === 'string') {
      const m = resolveModel(values.model);
      bindAdapter(weights, m.config, path, m.modelId);
      if (loaded.kind === 'bundle' && loaded.bundle.critic && loaded.bundle.critic.sizes[0] !== m.config.hidden) {
        throw new AdapterFormatError(
          path,
          `the critic reads ${loaded.bundle.critic.sizes[0]} features but ${m.modelId} has hidden size ${m.config.hidden}`,
        );
      }
      // A bundle names its exact model id; a PEFT adapter only its base model.
      const named =
        loaded.kind === 'bundle' && baseModelMismatch(loaded.bundle.modelId, m.modelId) === null
          ? loaded.bundle.modelId
          : (base ?? (loaded.kind === 'bundle' ? loaded.bundle.modelId : null));
      const mismatch = checkBaseModel(named, m.modelId, 'warn', path);
      warnings.push(...mismatch.map((w) => w.replace(/; its shapes fit.*$/, '; the shapes fit')));
      checked = `shapes fit ${m.modelId} (${m.config.layers} layers, hidden ${m.config.hidden})`;
    } else {
      const candidates = modelsForBase(base ?? (loaded.kind === 'bundle' ? loaded.bundle.modelId : null));
      if (candidates.length > 0) {
        const m = candidates[0];
        bindAdapter(weights, m.config, path, `${m.modelId} (the model its base_model_name_or_path names)`);
        checked = `shapes fit the architecture of ${m.modelId.startsWith('micro') ? 'micro' : (architectureOf(m.modelId)?.hfConfig ?? m.modelId)} (${m.config.layers} layers, hidden ${m.config.hidden})`;
      } else checked = 'not checked against a model (the base model is not in the catalog; pass --model M)';
    }
  } catch (error) {
    return asUserError(error, path);
  }

  const w: AdapterWeights = loaded.kind === 'bundle' ? loaded.bundle.weights : loaded.peft.weights;
  const hasAlpha = loaded.kind === 'bundle' || loaded.peft.hasConfig;
  const dtype: PeftWeightsDtype = loaded.kind === 'bundle' ? loaded.bundle.dtype : loaded.peft.dtype;
  const base = loaded.kind === 'bundle' ? loaded.bundle.baseModel : loaded.peft.baseModel;
  const summary: Record<string, unknown> = {
    valid: true,
    file: path,
    kind: loaded.kind === 'bundle' ? 'twosome bundle' : 'PEFT LoRA adapter',
    baseModel: base,
    checked,
    targets: w.config.targets,
    r: w.config.r,
    alpha: hasAlpha ? w.config.alpha : null,
    scale: hasAlpha ? w.config.alpha / w.config.r : null,
    layers: w.layers,
    parameters: adapterWeightsParameterCount(w),
    dtype,
    bytes: loaded.bytes,
  };
  if (loaded.kind === 'bundle') {
    const b = loaded.bundle;
    summary.bundle = {
      modelId: b.modelId,
      task: b.task,
      normalization: b.normalization,
      seed: b.seed,
      critic: b.critic ? b.critic.sizes : null,
      training: b.training !== null,
      metricsRows: b.metrics.length,
      entries: b.entryBytes,
    };
  }
  summary.warnings = warnings;
  if (values.json) {
    process.stdout.write(`${terminalJson(summary)}\n`);
    return 0;
  }
  const row = (label: string, value: string) => `  ${label.padEnd(14)}${value}`;
  const lines = [
    `${path}: valid ${summary.kind}`,
    row('base model', base ?? '(not named)'),
    row('checked', checked),
    row('targets', w.config.targets.join(', ')),
    row('r', String(w.config.r)),
    row(
      'alpha',
      hasAlpha
        ? `${w.config.alpha} (scale ${+(w.config.alpha / w.config.r).toPrecision(6)})`
        : 'unknown (no adapter_config.json)',
    ),
    row('layers', String(w.layers)),
    row('parameters', formatCount(adapterWeightsParameterCount(w))),
    row('dtype', dtype),
    row('size', `${formatCount(loaded.bytes)} bytes`),
  ];
  if (loaded.kind === 'bundle') {
    const b = loaded.bundle;
    lines.push(
      row('model id', b.modelId),
      row('task', b.task ?? '(none)'),
      row('normalization', b.normalization),
      row('seed', String(b.seed)),
      row('critic', b.critic ? b.critic.sizes.join(' -> ') : '(none)'),
      row('training', b.training ? 'config included' : '(none)'),
      row('metrics', `${formatCount(b.metrics.length)} row${b.metrics.length === 1 ? '' : 's'}`),
    );
  }
  process.stdout.write(`${lines.map((l) => terminalSafe(oneLine(l, 400))).join('\n')}\n`);
  for (const warning of warnings) process.stderr.write(`twosome: warning: ${terminalSafe(oneLine(warning))}\n`);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// export / import

/** mkdir -p without { recursive: true } (which loops forever on some paths, e.g. under /proc, in Node 20). */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.push(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing.reverse()) mkdirSync(m);
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

export async function adapterExport(argv: string[]): Promise<number> {
  const outFlag = { type: 'string', arg: 'DIR', help: 'where the PEFT files go (required)' } as const;
  const { values, path } = parse(argv, { out: outFlag }, 'BUNDLE', EXPORT_USAGE);
  if (typeof values.out !== 'string' || values.out === '')
    throw new UsageError(`--out DIR is required (usage: ${USAGE})`);
  const out = values.out;
  let bundle: DecodedBundle;
  try {
    if (!existsSync(path)) throw new UsageError(`${path}: no such file`);
    bundle = decodeBundle(readCapped(path, DEFAULT_LIMITS.maxBundleBytes, 'a bundle'), { file: path });
  } catch (error) {
    return asUserError(error, path);
  }
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new UsageError(`--out ${out}: exists and is not a directory`);
  const files = encodePeftAdapter(bundle.weights, { baseModel: bundle.baseModel });
  try {
    makeDirs(out);
    writeAtomic(join(out, PEFT_CONFIG_FILE), files.config);
    writeAtomic(join(out, PEFT_WEIGHTS_FILE), files.weights);
  } catch (error) {
    return asUserError(error, out);
  }
  process.stdout.write(
    `wrote ${join(out, PEFT_CONFIG_FILE)} and ${join(out, PEFT_WEIGHTS_FILE)} (${bundle.weights.config.targets.join(', ')}, r ${bundle.weights.config.r}, ${bundle.weights.layers} layers, ${formatCount(files.weights.length)} bytes); load with PeftModel.from_pretrained(model, "${out}")\n`,
  );
  for (const warning of bundle.warnings) process.stderr.write(`twosome: warning: ${terminalSafe(oneLine(warning))}\n`);
  return 0;
}

export async function adapterImport(argv: string[]): Promise<number> {
  const { values, path } = parse(
    argv,
    {
      out: { type: 'string', arg: 'BUNDLE', help: 'the bundle file to write (required), e.g. adapter.zip' },
      model: {
        type: 'string',
        arg: 'M',
        help: `the model the adapter is for (${MODEL_HELP}); default: its base model's`,
      },
      task: { type: 'string', arg: 'T', help: 'the task it was trained on (default none)' },
      norm: { type: 'string', arg: 'word|token|sum', help: 'its action-probability normalization (default word)' },
      seed: { type: 'string', arg: 'S', help: "the training run's seed (default 0)" },
      'allow-base-mismatch': {
        type: 'boolean',
        default: false,
        help: 'write the bundle although the base model differs',
      },
    },
    'DIR',
    IMPORT_USAGE,
  );
  if (typeof values.out !== 'string' || values.out === '')
    throw new UsageError(`--out BUNDLE is required (usage: ${USAGE})`);
  const task = values.task as string | undefined;
  if (task !== undefined && !isTaskId(task))
    throw new UsageError(`--task: unknown task "${oneLine(task, 60)}" (use one of ${TASK_IDS.join(', ')})`);
  const norm = (values.norm as string | undefined) ?? 'word';
  if (!(NORMALIZATIONS as readonly string[]).includes(norm))
    throw new UsageError(`--norm: "${oneLine(norm, 40)}" is not one of ${NORMALIZATIONS.join(', ')}`);
  const seedText = (values.seed as string | undefined) ?? '0';
  if (!/^\d{1,15}$/.test(seedText))
    throw new UsageError(`--seed: "${oneLine(seedText, 40)}" must be a non-negative integer`);

  let loaded: Loaded;
  let model: ModelChoice;
  const warnings: string[] = [];
  try {
    loaded = loadAdapterPath(path, true);
    if (loaded.kind !== 'peft')
      throw new UsageError(
        `${path}: is already a bundle (import reads a PEFT adapter directory; use \`twosome adapter export\` to get PEFT files)`,
      );
    const peft = loaded.peft;
    warnings.push(...peft.warnings);
    if (typeof values.model === 'string') model = resolveModel(values.model);
    else {
      const candidates = modelsForBase(peft.baseModel);
      const exact = candidates.find((c) => c.modelId === peft.baseModel);
      const families = new Set(candidates.map((c) => architectureOf(c.modelId)?.hfConfig ?? c.modelId));
      if (exact) model = exact;
      else if (candidates.length === 0) {
        throw new UsageError(
          `${path}: its base model ${peft.baseModel === null ? '(not named)' : `"${oneLine(peft.baseModel, 100)}"`} is not in the catalog; pass --model M (a catalog id, "micro" or an MLC model directory)`,
        );
      } else if (families.size === 1) {
        // One Hugging Face model, several MLC quantizations: q4f16_1 (web-llm's usual pick) unless told otherwise.
        model = candidates.find((c) => c.modelId.endsWith('-q4f16_1-MLC')) ?? candidates[0];
        if (candidates.length > 1)
          warnings.push(
            `model ${model.modelId} chosen for base model ${peft.baseModel}; pass --model M for another quantization (${candidates
              .map((c) => c.modelId)
              .filter((id) => id !== model.modelId)
              .slice(0, 3)
              .join(', ')}${candidates.length > 4 ? ', ...' : ''})`,
          );
      } else {
        throw new UsageError(
          `${path}: base model "${oneLine(peft.baseModel ?? '', 100)}" matches several models (${candidates
            .slice(0, 4)
            .map((c) => c.modelId)
            .join(', ')}${candidates.length > 4 ? ', ...' : ''}); pass --model M to pick one`,
        );
      }
    }
    bindAdapter(peft.weights, model.config, path, model.modelId);
    warnings.push(
      ...checkBaseModel(peft.baseModel, model.modelId, values['allow-base-mismatch'] ? 'warn' : 'refuse', path),
    );
  } catch (error) {
    if (error instanceof AdapterFormatError && /trained on .* but the model in use/.test(error.message))
      throw new UsageError(`${error.message.replace(/ \(or allow.*\)$/, '')} (or pass --allow-base-mismatch)`);
    return asUserError(error, path);
  }
  const out = values.out;
  if (existsSync(out) && statSync(out).isDirectory())
    throw new UsageError(`--out ${out}: is a directory; give the bundle's file name (e.g. adapter.zip)`);
  const parent = dirname(resolve(out));
  const bytes = encodeBundle({
    modelId: model.modelId,
    baseModel: loaded.peft.baseModel,
    task: (task as TaskId | undefined) ?? null,
    normalization: norm as Normalization,
    seed: Number(seedText),
    training: null,
    adapter: loaded.peft.weights,
    critic: null,
    metrics: [],
  });
  try {
    makeDirs(parent);
    writeAtomic(out, bytes);
  } catch (error) {
    return asUserError(error, out);
  }
  const w = loaded.peft.weights;
  process.stdout.write(
    `wrote ${out} (${BUNDLE_MANIFEST_FILE} model ${model.modelId}; ${w.config.targets.join(', ')}, r ${w.config.r}, ${w.layers} layers; ${formatCount(bytes.length)} bytes)\n`,
  );
  for (const warning of warnings) process.stderr.write(`twosome: warning: ${terminalSafe(oneLine(warning))}\n`);
  return 0;
}
