/**
 * A twosome bundle: everything a training run produced, in one zip file that any unzip tool opens.
 *
 *   adapter_config.json         PEFT config, exactly as `adapter export` writes it
 *   adapter_model.safetensors   PEFT weights (F32), exactly as `adapter export` writes them
 *   twosome.json                {"format": "twosome-bundle", "version": 1, "modelId", "baseModel", "task",
 *                                "normalization", "seed", "training", "critic": {"sizes": [...]} | null}
 *   critic.safetensors          (when critic is not null) the value head, F32, as torch.nn.Sequential names it:
 *                                "0.weight" [h1, hidden], "2.weight" [h2, h1], ..., "{2k}.weight" [1, hk]
 *                                (Linear, ReLU, Linear, ReLU, ..., Linear; no biases), __metadata__ {"format": "pt"}
 *   metrics.jsonl               (optional) one JSON object per line: the metrics history
 *
 * Unzipped, the first two files are a PEFT adapter directory. Entries are deflated except the safetensors
 * files (stored: float data does not compress). Reading validates every entry (zip.ts, safetensors.ts, peft.ts)
 * before returning anything.
 */
import { isTaskId } from '../envs/registry';
import type { TaskId } from '../envs/types';
import type { CriticWeights } from '../llm/train/gpu-critic';
import type { LoraAdapter } from '../llm/train/lora';
import { NORMALIZATIONS, type Normalization } from '../rl/policy';
import {
  adapterHiddenSize,
  adapterWeightsOf,
  baseModelMismatch,
  bindAdapter,
  checkAdapterWeights,
  checkBaseModel,
  checkValues,
  baseModelName,
  type AdapterModelShape,
  type AdapterWeights,
  type BaseModelPolicy,
} from './adapter';
import { bytesToFloat32, decodeUtf8, encodeUtf8, float32ToBytes, halfBytesToFloat32 } from './bytes';
import { AdapterFormatError, quote } from './errors';
import { hasKey, isJsonObject, JsonParseError, parseJsonStrict, type JsonObject, type JsonValue } from './json';
import { DEFAULT_LIMITS, limitsWith, type AdapterLimits } from './limits';
import {
  decodePeftAdapter,
  encodePeftAdapter,
  parsePeftConfig,
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  type PeftWeightsDtype,
} from './peft';
import {
  parseSafetensorsHeader,
  readSafetensors,
  readSafetensorsHeaderLength,
  tensorData,
  writeSafetensors,
} from './safetensors';
import { openZip, writeZip, type ZipArchive } from './zip';

export const BUNDLE_FORMAT = 'twosome-bundle';
export const BUNDLE_VERSION = 1;
export const BUNDLE_MANIFEST_FILE = 'twosome.json';
export const BUNDLE_CRITIC_FILE = 'critic.safetensors';
export const BUNDLE_METRICS_FILE = 'metrics.jsonl';

export interface BundleInput {
  /** The model id in use (catalog id, "micro", a directory name). */
  modelId: string;
  /** base_model_name_or_path; default baseModelName(modelId). */
  baseModel?: string | null;
  task: TaskId | null;
  normalization: Normalization;
  seed: number;
  /** The training configuration (e.g. a PpoConfig): any JSON object. */
  training?: object | null;
  adapter: LoraAdapter | AdapterWeights;
  critic?: CriticWeights | null;
  /** Metrics history: one JSON object per entry. */
  metrics?: readonly object[];
}

export interface Bundle {
  modelId: string;
  baseModel: string | null;
  task: TaskId | null;
  normalization: Normalization;
  seed: number;
  training: JsonObject | null;
  weights: AdapterWeights;
  critic: CriticWeights | null;
  metrics: JsonObject[];
}

export interface DecodedBundle extends Bundle {
  /** The PEFT tensors' dtype as stored. */
  dtype: PeftWeightsDtype;
  warnings: string[];
  /** Uncompressed sizes of the entries. */
  entryBytes: Record<string, number>;
}

// Control characters are what the id must not contain.
// eslint-disable-next-line no-control-regex
const MODEL_ID = /^[^\u0000-\u001f\u007f]{1,256}$/;

function toJsonObject(value: unknown, what: string): JsonObject {
  const text = JSON.stringify(value);
  if (text === undefined) throw new RangeError(`bundle: ${what} is not JSON-serializable`);
  const parsed = parseJsonStrict(text, { maxDepth: 32 });
  if (!isJsonObject(parsed)) throw new RangeError(`bundle: ${what} must be a JSON object`);
  return parsed;
}

function checkCritic(critic: CriticWeights, file: string, maxAbs: number, maxDim: number): void {
  const { sizes, weights } = critic;
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.length > 17)
    throw new AdapterFormatError(file, `critic sizes must list 2..17 layer widths (got ${quote(sizes)})`);
  if (!sizes.every((s) => Number.isInteger(s) && s >= 1 && s <= maxDim))
    throw new AdapterFormatError(file, `critic sizes must be integers in 1..${maxDim} (got ${quote(sizes)})`);
  if (sizes[sizes.length - 1] !== 1)
    throw new AdapterFormatError(file, `the critic's last size must be 1 (one value), got ${quote(sizes)}`);
  if (weights.length !== sizes.length - 1)
    throw new AdapterFormatError(file, `critic has ${weights.length} weight matrices for sizes ${quote(sizes)}`);
  weights.forEach((w, l) => {
    if (!(w instanceof Float32Array) || w.length !== sizes[l] * sizes[l + 1])
      throw new AdapterFormatError(
        file,
        `critic layer ${l} has ${w?.length} values, expected ${sizes[l + 1]} x ${sizes[l]}`,
      );
    checkValues(w, `critic layer ${l}`, file, maxAbs);
  });
}

/** The bundle's bytes (a zip). */
/**
 * critic.safetensors: the value head as torch.nn.Sequential(Linear, ReLU, Linear, ...) names its weights
 * ("0.weight", "2.weight", ...; [out, in], F32, no biases), with its sizes in the metadata.
 */
export function encodeCritic(critic: CriticWeights): Uint8Array {
  checkCritic(critic, 'critic', Infinity, Number.MAX_SAFE_INTEGER);
  return writeSafetensors(
    critic.weights.map((w, l) => ({
      name: `${2 * l}.weight`,
      dtype: 'F32' as const,
      shape: [critic.sizes[l + 1], critic.sizes[l]],
      data: float32ToBytes(w),
    })),
    { format: 'pt', sizes: critic.sizes.join(',') },
  );
}

export function encodeBundle(input: BundleInput): Uint8Array {
  if (!MODEL_ID.test(input.modelId)) throw new RangeError(`bundle: bad model id ${quote(input.modelId)}`);
  if (input.task !== null && !isTaskId(input.task)) throw new RangeError(`bundle: unknown task ${quote(input.task)}`);
  if (!NORMALIZATIONS.includes(input.normalization))
    throw new RangeError(`bundle: unknown normalization ${quote(input.normalization)}`);
  if (!Number.isSafeInteger(input.seed) || input.seed < 0)
    throw new RangeError(`bundle: seed must be a non-negative integer (got ${input.seed})`);
  const weights = 'dims' in input.adapter ? input.adapter : adapterWeightsOf(input.adapter);
  checkAdapterWeights(weights, 'bundle');
  const baseModel = input.baseModel === undefined ? baseModelName(input.modelId) : input.baseModel;
  const peft = encodePeftAdapter(weights, { baseModel });
  const critic = input.critic ?? null;
  if (critic) checkCritic(critic, 'bundle', Infinity, Number.MAX_SAFE_INTEGER);
  const manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    modelId: input.modelId,
    baseModel,
    task: input.task,
    normalization: input.normalization,
    seed: input.seed,
    training: input.training == null ? null : toJsonObject(input.training, 'training'),
    critic: critic ? { sizes: critic.sizes.slice() } : null,
  };
  const entries = [
    { name: PEFT_CONFIG_FILE, data: encodeUtf8(peft.config) },
    { name: PEFT_WEIGHTS_FILE, data: peft.weights, compress: false },
    { name: BUNDLE_MANIFEST_FILE, data: encodeUtf8(`${JSON.stringify(manifest, null, 2)}\n`) },
  ];
  if (critic) {
    entries.push({
      name: BUNDLE_CRITIC_FILE,
      data: encodeCritic(critic),
      compress: false,
    });
  }
  if (input.metrics && input.metrics.length > 0) {
    const lines = input.metrics.map((m, i) => JSON.stringify(toJsonObject(m, `metrics[${i}]`)));
    entries.push({ name: BUNDLE_METRICS_FILE, data: encodeUtf8(`${lines.join('\n')}\n`) });
  }
  return writeZip(entries);
}

export interface BundleDecodeOptions {
  limits?: Partial<AdapterLimits>;
  /** Name of the bundle in messages. */
  file?: string;
}

function parseJsonEntry(bytes: Uint8Array, file: string, maxDepth: number): JsonValue {
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new AdapterFormatError(file, 'not valid UTF-8 text');
  try {
    return parseJsonStrict(text, { maxDepth, maxStringLength: 1 << 16 });
  } catch (error) {
    if (error instanceof JsonParseError) throw new AdapterFormatError(file, `not valid JSON (${error.message})`);
    throw error;
  }
}

/** Reads and validates critic.safetensors of the given sizes (see encodeCritic). */
export function decodeCritic(
  bytes: Uint8Array,
  sizes: number[],
  file: string,
  lim: AdapterLimits = DEFAULT_LIMITS,
): CriticWeights {
  if (bytes.length > lim.maxCriticBytes) {
    throw new AdapterFormatError(file, `${bytes.length} bytes, over the limit of ${lim.maxCriticBytes} for a critic`);
  }
  const st = readSafetensors(bytes, file, { maxHeaderBytes: lim.maxHeaderBytes, maxTensors: 64 });
  const expected = sizes.length - 1;
  const names = st.header.tensors.map((t) => t.name);
  for (let l = 0; l < expected; l++)
    if (!names.includes(`${2 * l}.weight`))
      throw new AdapterFormatError(
        file,
        `missing tensor "${2 * l}.weight" (critic layer ${l} of sizes ${JSON.stringify(sizes)})`,
      );
  if (names.length !== expected)
    throw new AdapterFormatError(
      file,
      `holds ${names.length} tensors; the critic of sizes ${JSON.stringify(sizes)} has ${expected} ("0.weight", "2.weight", ...)`,
    );
  const weights: Float32Array[] = [];
  for (let l = 0; l < expected; l++) {
    const t = st.header.tensors.find((x) => x.name === `${2 * l}.weight`)!;
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16')
      throw new AdapterFormatError(
        file,
        `tensor ${quote(t.name)} is ${t.dtype}; critic weights must be F32, F16 or BF16`,
      );
    if (t.shape.length !== 2 || t.shape[0] !== sizes[l + 1] || t.shape[1] !== sizes[l]) {
      throw new AdapterFormatError(
        file,
        `tensor ${quote(t.name)} has shape ${JSON.stringify(t.shape)}, expected [${sizes[l + 1]}, ${sizes[l]}] from the critic sizes ${JSON.stringify(sizes)} in twosome.json`,
      );
    }
  }
  for (let l = 0; l < expected; l++) {
    const t = st.header.tensors.find((x) => x.name === `${2 * l}.weight`)!;
    const data = tensorData(st, t);
    weights.push(t.dtype === 'F32' ? bytesToFloat32(data) : halfBytesToFloat32(data, t.dtype as 'F16' | 'BF16'));
  }
  const critic = { sizes: sizes.slice(), weights };
  checkCritic(critic, file, lim.maxAbsWeight, lim.maxDim);
  return critic;
}

/**
 * adapter_model.safetensors' header, read from the entry's first bytes only: its tensors must fill exactly
 * the entry's declared size, each a LoRA matrix of rank r (lora_A [r, in], lora_B [out, r]) within the limits.
 */
function checkWeightsHeader(archive: ZipArchive, r: number, file: string, lim: AdapterLimits): void {
  const size = archive.sizes.get(PEFT_WEIGHTS_FILE)!;
  const limits = { maxHeaderBytes: lim.maxHeaderBytes, maxTensors: lim.maxTensors };
  const n = readSafetensorsHeaderLength(archive.readPrefix(PEFT_WEIGHTS_FILE, 8), size, file, limits);
  const header = parseSafetensorsHeader(archive.readPrefix(PEFT_WEIGHTS_FILE, 8 + n).subarray(8), size, file, limits);
  for (const t of header.tensors) {
    const [rows, cols] = t.shape;
    const rankFits = t.name.includes('lora_A') ? rows === r : cols === r;
    if (t.shape.length !== 2 || !rankFits || rows > lim.maxDim || cols > lim.maxDim) {
      const lora = `a LoRA matrix of r = ${r} (adapter_config.json) within ${lim.maxDim} rows and columns`;
      throw new AdapterFormatError(file, `tensor ${quote(t.name)} has shape ${quote(t.shape)}, not ${lora}`);
    }
  }
}

function decodeMetrics(bytes: Uint8Array, mfile: string, lim: AdapterLimits): JsonObject[] {
  const metrics: JsonObject[] = [];
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new AdapterFormatError(mfile, 'not valid UTF-8 text');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > lim.maxMetricsLines) {
    throw new AdapterFormatError(mfile, `${lines.length} lines, over the limit of ${lim.maxMetricsLines}`);
  }
  lines.forEach((line, i) => {
    let v: JsonValue;
    try {
      v = parseJsonStrict(line.endsWith('\r') ? line.slice(0, -1) : line, { maxDepth: 8, maxStringLength: 4096 });
    } catch (error) {
      if (error instanceof JsonParseError) {
        throw new AdapterFormatError(mfile, `line ${i + 1} is not valid JSON (${error.message})`);
      }
      throw error;
    }
    if (!isJsonObject(v)) throw new AdapterFormatError(mfile, `line ${i + 1} must be a JSON object`);
    metrics.push(v);
  });
  return metrics;
}

/** Bytes a critic of these sizes takes in critic.safetensors: F16 at least, F32 with the largest header at most. */
function criticBytesBound(sizes: readonly number[], maxHeaderBytes: number): { min: number; max: number } {
  let weights = 0;
  for (let l = 0; l + 1 < sizes.length; l++) weights += sizes[l] * sizes[l + 1];
  return { min: 8 + 2 + 2 * weights, max: 8 + maxHeaderBytes + 4 * weights };
}

/**
 * Decodes and validates a bundle; throws AdapterFormatError naming the entry and the problem. Everything that
 * can be checked without the large entries is checked before any of them is inflated: the archive's structure
 * and declared sizes, the manifest, which entries are needed, adapter_config.json, the safetensors header of
 * the weights (its tensors must fill exactly the declared size, with LoRA shapes of the config's r), and the
 * critic's declared size against its sizes. Entries are then inflated smallest first, each into one buffer of
 * its declared size, so a bundle that is refused costs little and one that loads costs its entries once.
 */
export function decodeBundle(bytes: Uint8Array, options: BundleDecodeOptions = {}): DecodedBundle {
  const lim = limitsWith(options.limits);
  const file = options.file ?? 'bundle';
  if (bytes.length > lim.maxBundleBytes)
    throw new AdapterFormatError(file, `${bytes.length} bytes, over the limit of ${lim.maxBundleBytes} for a bundle`);
  const caps: Record<string, number> = {
    [PEFT_CONFIG_FILE]: lim.maxConfigBytes,
    [PEFT_WEIGHTS_FILE]: lim.maxWeightsBytes,
    [BUNDLE_MANIFEST_FILE]: lim.maxManifestBytes,
    [BUNDLE_CRITIC_FILE]: lim.maxCriticBytes,
    [BUNDLE_METRICS_FILE]: lim.maxMetricsBytes,
  };
  const archive = openZip(bytes, file, {
    maxEntries: 16,
    maxEntryBytes: (name) => (Object.prototype.hasOwnProperty.call(caps, name) ? caps[name] : 0),
    maxTotalBytes: Object.values(caps).reduce((a, b) => a + b, 0),
  });
  const at = (name: string) => `${file}:${name}`;
  for (const name of [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, BUNDLE_MANIFEST_FILE]) {
    if (!archive.sizes.has(name)) {
      const holds = `a bundle holds ${PEFT_CONFIG_FILE}, ${PEFT_WEIGHTS_FILE} and ${BUNDLE_MANIFEST_FILE}`;
      const hint = '(for a PEFT directory use `twosome adapter import`)';
      throw new AdapterFormatError(file, `missing ${name}: ${holds} ${hint}`);
    }
  }

  // twosome.json
  const mf = at(BUNDLE_MANIFEST_FILE);
  const m = parseJsonEntry(archive.read(BUNDLE_MANIFEST_FILE), mf, 32);
  const fail = (detail: string): never => {
    throw new AdapterFormatError(mf, detail);
  };
  if (!isJsonObject(m)) return fail('expected a JSON object');
  const get = (key: string) => (hasKey(m, key) ? m[key] : undefined);
  if (get('format') !== BUNDLE_FORMAT)
    fail(
      `"format" must be ${JSON.stringify(BUNDLE_FORMAT)} (got ${quote(get('format') ?? null)}): not a twosome bundle`,
    );
  const version = get('version');
  if (typeof version !== 'number' || !Number.isInteger(version))
    return fail(`"version" must be an integer (got ${quote(version ?? null)})`);
  if (version > BUNDLE_VERSION)
    fail(`bundle version ${version} is newer than this twosome reads (${BUNDLE_VERSION}); update twosome`);
  if (version < 1) fail(`bundle version ${version} is not valid`);
  const modelId = get('modelId');
  if (typeof modelId !== 'string' || !MODEL_ID.test(modelId))
    return fail(`"modelId" must be a model id (got ${quote(modelId ?? null)})`);
  const baseModel = get('baseModel');
  if (baseModel !== null && typeof baseModel !== 'string')
    return fail(`"baseModel" must be a string or null (got ${quote(baseModel ?? null)})`);
  const task = get('task');
  if (task !== null && (typeof task !== 'string' || !isTaskId(task)))
    return fail(`unknown task ${quote(task ?? null)}; this bundle may come from a newer twosome`);
  const normalization = get('normalization');
  if (typeof normalization !== 'string' || !(NORMALIZATIONS as readonly string[]).includes(normalization))
    return fail(`"normalization" must be one of ${NORMALIZATIONS.join(', ')} (got ${quote(normalization ?? null)})`);
  const seed = get('seed');
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0)
    return fail(`"seed" must be a non-negative integer (got ${quote(seed ?? null)})`);
  const training = get('training') ?? null;
  if (training !== null && !isJsonObject(training))
    return fail(`"training" must be an object or null (got ${quote(training)})`);
  const criticInfo = get('critic') ?? null;
  let criticSizes: number[] | null = null;
  if (criticInfo !== null) {
    if (!isJsonObject(criticInfo) || !Array.isArray(criticInfo.sizes))
      return fail(`"critic" must be {"sizes": [...]} or null (got ${quote(criticInfo)})`);
    const sizes = criticInfo.sizes as JsonValue[];
    if (
      sizes.length < 2 ||
      sizes.length > 17 ||
      !sizes.every((s) => typeof s === 'number' && Number.isInteger(s) && s >= 1 && s <= lim.maxDim) ||
      sizes[sizes.length - 1] !== 1
    ) {
      return fail(`"critic.sizes" must be 2..17 integers in 1..${lim.maxDim} ending in 1 (got ${quote(sizes)})`);
    }
    criticSizes = sizes as number[];
  }
  const hasCritic = archive.sizes.has(BUNDLE_CRITIC_FILE);
  if (criticSizes && !hasCritic) fail(`"critic" is set but ${BUNDLE_CRITIC_FILE} is missing`);
  if (!criticSizes && hasCritic) fail(`${BUNDLE_CRITIC_FILE} is present but "critic" is null`);
  if (criticSizes) {
    const declared = archive.sizes.get(BUNDLE_CRITIC_FILE)!;
    const bound = criticBytesBound(criticSizes, lim.maxHeaderBytes);
    if (declared < bound.min || declared > bound.max) {
      const takes = `a critic of sizes ${quote(criticSizes)} takes ${bound.min} to ${bound.max}`;
      const detail = `declares ${declared} bytes, but ${takes}: the bundle is corrupt`;
      throw new AdapterFormatError(at(BUNDLE_CRITIC_FILE), detail);
    }
  }

  // PEFT files: the config, then the weights' header against it, before the weights themselves.
  const configBytes = archive.read(PEFT_CONFIG_FILE);
  const peftConfig = parsePeftConfig(configBytes, at(PEFT_CONFIG_FILE), options.limits);
  if ((baseModel ?? null) !== peftConfig.baseModel) {
    const differs = `differs from base_model_name_or_path ${quote(peftConfig.baseModel)} in ${PEFT_CONFIG_FILE}`;
    fail(`"baseModel" ${quote(baseModel)} ${differs}: the bundle was altered`);
  }
  checkWeightsHeader(archive, peftConfig.r, at(PEFT_WEIGHTS_FILE), lim);

  // metrics.jsonl (within its cap) and the critic, then the largest entry.
  const hasMetrics = archive.sizes.has(BUNDLE_METRICS_FILE);
  const metrics = hasMetrics ? decodeMetrics(archive.read(BUNDLE_METRICS_FILE), at(BUNDLE_METRICS_FILE), lim) : [];
  const critic = criticSizes
    ? decodeCritic(archive.read(BUNDLE_CRITIC_FILE), criticSizes, at(BUNDLE_CRITIC_FILE), lim)
    : null;
  const peft = decodePeftAdapter(
    { config: configBytes, weights: archive.read(PEFT_WEIGHTS_FILE) },
    { limits: options.limits, configFile: at(PEFT_CONFIG_FILE), weightsFile: at(PEFT_WEIGHTS_FILE) },
  );
  const hidden = adapterHiddenSize(peft.weights);
  if (critic && hidden !== critic.sizes[0]) {
    throw new AdapterFormatError(
      at(BUNDLE_CRITIC_FILE),
      `the critic reads ${critic.sizes[0]} features but the adapter's model has hidden size ${hidden}: the files do not belong together`,
    );
  }

  const entryBytes: Record<string, number> = {};
  for (const [name, size] of archive.sizes) entryBytes[name] = size;
  return {
    modelId,
    baseModel: (baseModel as string | null) ?? null,
    task: task as TaskId | null,
    normalization: normalization as Normalization,
    seed,
    training: training as JsonObject | null,
    weights: peft.weights,
    critic,
    metrics,
    dtype: peft.dtype,
    warnings: peft.warnings,
    entryBytes,
  };
}

export interface BoundBundle {
  adapter: LoraAdapter;
  critic: CriticWeights | null;
  warnings: string[];
}

/**
 * Puts a decoded bundle on the model in use: shapes must fit (else AdapterFormatError); a different base model
 * is a warning or an error by `policy`.
 */
export function bindBundle(
  bundle: Bundle,
  model: AdapterModelShape,
  modelId: string,
  policy: BaseModelPolicy = 'warn',
  file = 'bundle',
): BoundBundle {
  const warnings =
    baseModelMismatch(bundle.modelId, modelId) === null
      ? []
      : checkBaseModel(bundle.baseModel ?? bundle.modelId, modelId, policy, file);
  const adapter = bindAdapter(bundle.weights, model, file, modelId);
  if (bundle.critic && bundle.critic.sizes[0] !== model.hidden) {
    throw new AdapterFormatError(
      file,
      `the critic reads ${bundle.critic.sizes[0]} features but ${modelId} has hidden size ${model.hidden}: it was trained on another model`,
    );
  }
  return { adapter, critic: bundle.critic, warnings };
}
