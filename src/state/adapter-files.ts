/**
 * Turns what the user hands the page (picked or dropped files, a downloaded file) into validated, model-free
 * adapter weights, before anything touches state. Sizes are checked against the caps before a byte is read;
 * the bytes are decoded by src/share (strict: headers, JSON, dtypes, shapes, finite values); nothing is ever
 * evaluated. Binding to the model in use (shapes, base model) happens in the worker, which knows the model.
 */
import type { TaskId } from '../envs/types';
import type { AdapterPayload } from '../persist/adapter-store';
import type { Normalization } from '../rl/policy';
import {
  AdapterDownloadCancelled,
  AdapterFormatError,
  BUNDLE_MANIFEST_FILE,
  checkAdapterUrl,
  DEFAULT_LIMITS,
  decodeBundle,
  decodePeftAdapter,
  decodeShareLink,
  fetchAdapterBytes,
  PEFT_CONFIG_FILE,
  PEFT_WEIGHTS_FILE,
  type AdapterWeights,
} from '../share';

/** What a File gives (a DOM File, or a stand-in in tests). */
export interface FileLike {
  name: string;
  size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** A decoded adapter, ready for the worker. */
export interface LoadedAdapter {
  weights: AdapterWeights;
  label: string;
  /**
   * The base model the file names (checked against the model in use); null: the file names none (PEFT
   * weights without adapter_config.json: the user is warned instead).
   */
  baseModel: string | null;
  warnings: string[];
  /** A bundle's setup (model id, task, normalization, seed), restored with it when it names a task. */
  setup: { modelId: string; taskId: TaskId; norm: Normalization; seed: number } | null;
  /** What it was decoded from, as given: saved (src/persist/adapter-store) and decoded the same way again. */
  source: AdapterPayload;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ZIP_MAGIC.every((b, i) => bytes[i] === b);
}

function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes.subarray(0, 64)) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x7b; // '{'
  }
  return false;
}

async function readCapped(file: FileLike, max: number, what: string): Promise<Uint8Array> {
  if (!Number.isFinite(file.size) || file.size < 0)
    throw new AdapterFormatError(file.name, 'its size cannot be read; pick the file again');
  if (file.size > max)
    throw new AdapterFormatError(file.name, `${file.size} bytes, over the limit of ${max} for ${what}`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  // The size can change between the check and the read (a file being written): check what was read too.
  if (bytes.length > max)
    throw new AdapterFormatError(file.name, `${bytes.length} bytes, over the limit of ${max} for ${what}`);
  return bytes;
}

/** Decodes one downloaded or read file: a twosome bundle (.zip) or adapter_model.safetensors (+ config). */
export function decodeAdapterBytes(
  bytes: Uint8Array,
  name: string,
  config: Uint8Array | null = null,
  configName = PEFT_CONFIG_FILE,
): LoadedAdapter {
  if (isZip(bytes)) {
    const bundle = decodeBundle(bytes, { file: name });
    return {
      weights: bundle.weights,
      label: name,
      baseModel: bundle.baseModel ?? bundle.modelId,
      warnings: bundle.warnings,
      setup: bundle.task
        ? { modelId: bundle.modelId, taskId: bundle.task, norm: bundle.normalization, seed: bundle.seed }
        : null,
      source: { kind: 'files', main: { name, bytes }, config: null },
    };
  }
  if (/\.zip$/i.test(name)) {
    // Named as a bundle but not a zip archive: say so, not "not a safetensors file".
    const detail =
      'is named .zip but is not a zip archive (a twosome bundle is one): it is damaged, or another kind of file';
    throw new AdapterFormatError(name, detail);
  }
  if (looksLikeJson(bytes)) {
    throw new AdapterFormatError(
      name,
      `this is JSON (adapter_config.json?), not adapter weights; give ${PEFT_WEIGHTS_FILE} (with its ${PEFT_CONFIG_FILE}) or a twosome bundle .zip`,
    );
  }
  const peft = decodePeftAdapter({ config, weights: bytes }, { weightsFile: name, configFile: configName });
  const warnings = peft.warnings.slice();
  if (!peft.hasConfig)
    warnings.push(
      `no ${PEFT_CONFIG_FILE}: lora_alpha and the base model are unknown (alpha taken as r); add the config for the exact scale`,
    );
  const source: AdapterPayload = {
    kind: 'files',
    main: { name, bytes },
    config: config ? { name: configName, bytes: config } : null,
  };
  return {
    weights: peft.weights,
    label: name,
    baseModel: peft.hasConfig ? peft.baseModel : null,
    warnings,
    setup: null,
    source,
  };
}

/** A share link's fragment ("#share=..."): its adapter with the setup it names. Throws ShareLinkError. */
export function decodeLinkAdapter(fragment: string): LoadedAdapter {
  const link = decodeShareLink(fragment);
  return {
    weights: link.weights,
    label: `shared link (${link.precision})`,
    baseModel: null, // the link names its model id, which is loaded for it
    warnings: [],
    setup: { modelId: link.modelId, taskId: link.task, norm: link.normalization, seed: link.seed },
    source: { kind: 'link', fragment },
  };
}

/**
 * Picked or dropped files: a bundle (.zip), or adapter_model.safetensors with or without adapter_config.json.
 * Throws AdapterFormatError (or RangeError for a wrong selection) saying what is wrong and what to give.
 */
export async function readAdapterFiles(files: readonly FileLike[]): Promise<LoadedAdapter> {
  const selection = 'pick a twosome bundle (.zip), or adapter_model.safetensors together with its adapter_config.json';
  if (files.length === 0) throw new RangeError(`no files: ${selection}`);
  const zips = files.filter((f) => /\.zip$/i.test(f.name));
  const weights = files.filter((f) => /\.safetensors$/i.test(f.name));
  const configs = files.filter((f) => /\.json$/i.test(f.name));
  const others = files.filter((f) => !zips.includes(f) && !weights.includes(f) && !configs.includes(f));
  if (others.length > 0) {
    const bin = others.find((f) => /\.(bin|pt|pth|ckpt|pkl)$/i.test(f.name));
    if (bin)
      throw new AdapterFormatError(
        bin.name,
        'pickled PyTorch files are never loaded (they can run code); save the adapter as safetensors (PEFT: save_pretrained(..., safe_serialization=True))',
      );
    throw new RangeError(`${others[0].name} is not an adapter file: ${selection}`);
  }
  if (zips.length > 0) {
    if (files.length > 1) throw new RangeError(`a bundle (${zips[0].name}) holds everything: pick it alone`);
    const zip = zips[0];
    return decodeAdapterBytes(await readCapped(zip, DEFAULT_LIMITS.maxBundleBytes, 'a bundle'), zip.name);
  }
  if (weights.length !== 1)
    throw new RangeError(
      weights.length === 0
        ? `no ${PEFT_WEIGHTS_FILE}: ${selection}`
        : `${weights.length} .safetensors files: ${selection}`,
    );
  if (configs.length > 1) throw new RangeError(`${configs.length} .json files: give one ${PEFT_CONFIG_FILE}`);
  const config = configs[0];
  if (config && config.name === BUNDLE_MANIFEST_FILE)
    throw new RangeError(`${BUNDLE_MANIFEST_FILE} belongs in a bundle .zip; pick the .zip, or ${PEFT_CONFIG_FILE}`);
  const weightBytes = await readCapped(weights[0], DEFAULT_LIMITS.maxWeightsBytes, 'adapter weights');
  const configBytes = config ? await readCapped(config, DEFAULT_LIMITS.maxConfigBytes, PEFT_CONFIG_FILE) : null;
  return decodeAdapterBytes(weightBytes, weights[0].name, configBytes, config?.name ?? PEFT_CONFIG_FILE);
}

/** How fetchAdapter downloads: an injected fetch (tests), the user's cancel, the idle timeout. */
export interface FetchAdapterRequest {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** No bytes for this long: the attempt is abandoned, retried once, then reported (default 30 s). */
  idleMs?: number;
}

/**
 * Downloads an adapter from an https:// (or same-origin) URL, capped before and while streaming: a bundle,
 * or adapter_model.safetensors, whose adapter_config.json is looked for next to it (a Hugging Face
 * `resolve/main/` URL has it there); without one the adapter still loads, with a warning. A server that stalls
 * is given up on after the idle timeout (and one retry); `signal` cancels (AdapterDownloadCancelled).
 */
export async function fetchAdapter(
  url: string,
  pageUrl: string,
  request: FetchAdapterRequest = {},
): Promise<LoadedAdapter> {
  const href = checkAdapterUrl(url, pageUrl);
  const parsed = new URL(href);
  let name = parsed.pathname.split('/').pop() ?? '';
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it encoded
  }
  const label = `${parsed.host}/${name || 'adapter'}`;
  const options = { pageUrl, fetch: request.fetch, signal: request.signal, idleMs: request.idleMs };
  const bytes = await fetchAdapterBytes(href, { ...options, maxBytes: DEFAULT_LIMITS.maxBundleBytes });
  if (isZip(bytes) || looksLikeJson(bytes)) return decodeAdapterBytes(bytes, label);
  const configUrl = new URL(PEFT_CONFIG_FILE, href).href;
  let config: Uint8Array | null;
  try {
    config = await fetchAdapterBytes(configUrl, { ...options, maxBytes: DEFAULT_LIMITS.maxConfigBytes });
  } catch (error) {
    if (error instanceof AdapterDownloadCancelled) throw error;
    config = null; // absent or unreadable: decodeAdapterBytes warns that alpha and the base model are unknown
  }
  return decodeAdapterBytes(bytes, label, config, configUrl);
}
