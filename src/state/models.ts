/**
 * The models the playground offers and accepts in the URL (`model=`):
 *   - the built-in micro model, served with the page from public/models/micro/ (offline, random weights);
 *   - every record of the catalog (src/llm/model/catalog.ts: web-llm's Llama records, which the models worker
 *     loads with web-llm after the first screen: loadCatalogWith), read from the browser cache once downloaded (the
 *     Model panel downloads; nothing is downloaded without the user asking);
 *   - a custom MLC repo: its id is the base URL of its files (`https://huggingface.co/<org>/<repo>` becomes
 *     `.../resolve/main/`), read from the cache as well;
 *   - a folder the user picked (this page only: the files cannot be reopened from a link).
 * The worker gets a ModelSpec with an absolute URL, since it resolves URLs against its own script.
 */
import { catalogBaseUrl, resolveModelBaseUrl, type CatalogRecord } from '../llm/model/catalog';
import type { ModelSourceKind, ModelSpec, PickedFileSpec } from '../worker/protocol';
import { describeError } from '../util/errors';

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
}

export const DEFAULT_MODEL = 'micro';

const BUILT_IN: readonly ModelChoice[] = [
  {
    id: 'micro',
    label: 'micro (built-in)',
    description: 'A 2-layer Llama with random weights (115 KB), shipped with the page: works offline; its choices mean nothing.',
    url: 'models/micro/',
    source: 'url',
  },
];

function choiceOf(r: CatalogRecord): ModelChoice {
  const vram = r.vramRequiredMB === undefined ? '' : ` · web-llm needs about ${Math.ceil(r.vramRequiredMB)} MB of GPU memory`;
  return { id: r.id, label: r.id, description: `${r.quantization}${vram} · context ${r.contextWindow ?? '?'}`, url: catalogBaseUrl(r), source: 'cache' };
}

let catalog: readonly ModelChoice[] = [];
let records: readonly CatalogRecord[] = [];
let catalogLoad: Promise<void> = Promise.resolve();
let catalogProblem: string | null = null;
/** Models picked from a folder in this page (id "folder:<name>"). */
const session = new Map<string, ModelChoice>();

/** Replaces the catalog's models (after the built-in ones; ids already taken are ignored). */
export function setCatalogModels(models: readonly ModelChoice[]): void {
  const taken = new Set(BUILT_IN.map((m) => m.id));
  catalog = models.filter((m) => !taken.has(m.id) && (taken.add(m.id), true));
}

/** Sets the catalog from web-llm's records (catalog.ts). */
export function setCatalog(next: readonly CatalogRecord[]): void {
  records = next;
  setCatalogModels(next.map(choiceOf));
}

/** The catalog records loaded so far (none before loadCatalogWith has finished). */
export function catalogRecords(): readonly CatalogRecord[] {
  return records;
}

/** Loads the catalog (the models worker's); a failure leaves it empty and is kept for catalogError(). */
export function loadCatalogWith(load: () => Promise<readonly CatalogRecord[]>): Promise<void> {
  catalogLoad = load().then(
    (next) => {
      catalogProblem = null;
      setCatalog(next);
    },
    (error: unknown) => {
      catalogProblem = describeError(error);
    },
  );
  return catalogLoad;
}

/** Settles when the latest catalog load has (at once when none was started). */
export function catalogLoaded(): Promise<void> {
  return catalogLoad;
}

/** Why the catalog could not be loaded, or null. */
export function catalogError(): string | null {
  return catalogProblem;
}

/** The built-in and catalog models (not custom URLs or picked folders). */
export function modelChoices(): readonly ModelChoice[] {
  return [...BUILT_IN, ...catalog];
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
export function customModel(url: string): ModelChoice {
  const text = url.trim();
  if (!/^https?:\/\//i.test(text)) throw new Error(`"${text}" is not a model URL: give https://huggingface.co/<org>/<repo> (an MLC model repo) or the https:// URL of an MLC model directory`);
  const base = resolveModelBaseUrl(text, records);
  return { id: base, label: customLabel(base), description: `custom MLC model at ${base}`, url: base, source: 'cache' };
}

/** Registers the model of a picked folder for this page; returns its choice. */
export function addFolderModel(name: string, files: PickedFileSpec[]): ModelChoice {
  const id = `folder:${name || 'model'}`;
  const choice: ModelChoice = { id, label: `${name || 'model'} (folder)`, description: `picked folder "${name}" (${files.length} files)`, url: '', source: 'files', files };
  session.set(id, choice);
  return choice;
}

export function findModel(id: string): ModelChoice | undefined {
  const known = modelChoices().find((m) => m.id === id) ?? session.get(id);
  if (known) return known;
  if (!/^https?:\/\//i.test(id)) return undefined;
  try {
    return customModel(id);
  } catch {
    return undefined;
  }
}

/** The worker's view of a model: its directory as an absolute URL (resolved against `base`, the page). */
export function modelSpec(choice: ModelChoice, base: string): ModelSpec {
  const source = choice.source ?? 'url';
  if (source === 'files') return { id: choice.id, label: choice.label, url: '', source, files: choice.files ?? [] };
  return { id: choice.id, label: choice.label, url: new URL(choice.url, base).href, source };
}
