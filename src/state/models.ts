/**
 * The models the playground offers and accepts in the URL (`model=`):
 *   - the built-in micro model, served with the page from public/models/micro/ (offline, random weights);
 *   - every record of the catalog (src/llm/model/catalog.ts: web-llm's Llama records, which the models worker
 *     loads with web-llm after the first screen; the models slice keeps them), read from the browser cache once
 *     downloaded (the Model panel downloads; nothing is downloaded without the user asking);
 *   - a custom MLC repo: its id is the base URL of its files (`https://huggingface.co/<org>/<repo>` becomes
 *     `.../resolve/main/`), read from the cache as well;
 *   - a folder the user picked (this page only: the files cannot be reopened from a link).
 * The worker gets a ModelSpec with an absolute URL, since it resolves URLs against its own script. These are
 * pure functions of what is known (KnownModels: the models slice's catalog and picked folders).
 */
import { catalogBaseUrl, resolveModelBaseUrl, type CatalogRecord } from '../llm/model/catalog';
import type { ModelSourceKind, ModelSpec, PickedFileSpec } from '../worker/protocol';

export interface ModelChoice {
  /** The URL's `model=` value; stable. */
  id: string;
  /** What the select shows. */
  label: string;
  /** One line for the panel (size, what it is). */
  description: string;
  /** The MLC model directory: relative to the page (built-in models) or an absolute https:// URL. */
  url: string;
  /** Where the worker reads the files (default 'url'). */
  source?: ModelSourceKind;
  /** source 'files': the picked folder. */
  files?: PickedFileSpec[];
  /** Untrained weights: its probabilities mean nothing until an adapter is trained or loaded. */
  randomWeights?: boolean;
}

export const DEFAULT_MODEL = 'micro';

const BUILT_IN: readonly ModelChoice[] = [
  {
    id: 'micro',
    label: 'micro (built-in)',
    description:
      'A 2-layer Llama with random weights (115 KB), shipped with the page: works offline; its choices mean nothing.',
    url: 'models/micro/',
    source: 'url',
    randomWeights: true,
  },
];

/** What the page knows beyond the built-in models: the catalog (null while loading) and folders picked here. */
export interface KnownModels {
  catalog: readonly CatalogRecord[] | null;
  /** Models picked from a folder in this page, by id ("folder:<name>"). */
  folders: Readonly<Record<string, ModelChoice>>;
}

/** Nothing but the built-in models and custom URLs (before the catalog is in). */
export const NO_MODELS_KNOWN: KnownModels = { catalog: null, folders: {} };

function choiceOf(r: CatalogRecord): ModelChoice {
  const mb = r.vramRequiredMB;
  const vram = mb === undefined ? '' : ` · web-llm needs about ${Math.ceil(mb)} MB of GPU memory`;
  const description = `${r.quantization}${vram} · context ${r.contextWindow ?? '?'}`;
  return { id: r.id, label: r.id, description, url: catalogBaseUrl(r), source: 'cache' };
}

/** The catalog's models (ids taken by a built-in model or an earlier record are left out); memoized per list. */
const catalogChoicesOf = new WeakMap<readonly CatalogRecord[], readonly ModelChoice[]>();
function catalogChoices(records: readonly CatalogRecord[]): readonly ModelChoice[] {
  let choices = catalogChoicesOf.get(records);
  if (!choices) {
    const taken = new Set(BUILT_IN.map((m) => m.id));
    choices = records.map(choiceOf).filter((m) => !taken.has(m.id) && (taken.add(m.id), true));
    catalogChoicesOf.set(records, choices);
  }
  return choices;
}

/** The built-in and catalog models (not custom URLs or picked folders). */
export function modelChoices(known: KnownModels): readonly ModelChoice[] {
  return [...BUILT_IN, ...catalogChoices(known.catalog ?? [])];
}

export function isBuiltIn(id: string): boolean {
  return BUILT_IN.some((m) => m.id === id);
}

/** A short name for a custom model's base URL: "org/repo" for Hugging Face, else the URL. */
export function customLabel(baseUrl: string): string {
  const m = /^https:\/\/(?:www\.)?(?:huggingface\.co|hf\.co)\/([^/]+)\/([^/]+)\/resolve\/main\/$/.exec(baseUrl);
  return m ? `${m[1]}/${m[2]}` : baseUrl;
}

/** The model of a custom repo URL; throws a ModelUrlError with a clear message for bad input. */
export function customModel(url: string, records: readonly CatalogRecord[] = []): ModelChoice {
  const text = url.trim();
  if (!/^https?:\/\//i.test(text))
    throw new Error(
      `"${text}" is not a model URL: give https://huggingface.co/<org>/<repo> (an MLC model repo) or the https:// URL of an MLC model directory`,
    );
  const base = resolveModelBaseUrl(text, records);
  return { id: base, label: customLabel(base), description: `custom MLC model at ${base}`, url: base, source: 'cache' };
}

/** The model of a picked folder (the models slice keeps it in `folders` for this page). */
export function folderModel(name: string, files: PickedFileSpec[]): ModelChoice {
  const id = `folder:${name || 'model'}`;
  const description = `picked folder "${name}" (${files.length} files)`;
  return { id, label: `${name || 'model'} (folder)`, description, url: '', source: 'files', files };
}

/** The model `id` names (built in, catalog, picked folder, custom URL), or undefined. */
export function findModel(known: KnownModels, id: string): ModelChoice | undefined {
  const found = modelChoices(known).find((m) => m.id === id) ?? known.folders[id];
  if (found) return found;
  if (!/^https?:\/\//i.test(id)) return undefined;
  try {
    return customModel(id, known.catalog ?? []);
  } catch {
    return undefined;
  }
}

/**
 * Why model `id` is not in use, as one line: `problem` with the model named in front, unless it names the model
 * itself ("X is not downloaded: ...") and would then say it twice.
 */
export function modelProblem(id: string, problem: string): string {
  return problem.includes(id) ? problem : `${id}: ${problem}`;
}

/** The worker's view of a model: its directory as an absolute URL (resolved against `base`, the page). */
export function modelSpec(choice: ModelChoice, base: string): ModelSpec {
  const source = choice.source ?? 'url';
  if (source === 'files') return { id: choice.id, label: choice.label, url: '', source, files: choice.files ?? [] };
  return { id: choice.id, label: choice.label, url: new URL(choice.url, base).href, source };
}
