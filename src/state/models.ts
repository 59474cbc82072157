/**
 * The models the playground offers in its Model select and accepts in the URL (`model=micro`).
 *
 * Today that is the built-in micro model, served with the page from public/models/micro/ (offline, random
 * weights). Real models come from the catalog (src/llm/catalog.ts, being written): hand its entries to
 * setCatalogModels() at startup (before the URL is parsed) and they appear in the select and in links.
 * The worker gets a ModelSpec with an absolute URL, since it resolves URLs against its own script.
 */
import type { ModelSpec } from '../worker/protocol';

export interface ModelChoice {
  /** The URL's `model=` value; stable. */
  id: string;
  /** What the select shows. */
  label: string;
  /** One line for the panel (size, what it is). */
  description: string;
  /** The MLC model directory: relative to the page (built-in models) or an absolute https:// URL. */
  url: string;
}

export const DEFAULT_MODEL = 'micro';

const BUILT_IN: readonly ModelChoice[] = [
  {
    id: 'micro',
    label: 'micro (built-in)',
    description: 'A 2-layer Llama with random weights (115 KB), shipped with the page: works offline; its choices mean nothing.',
    url: 'models/micro/',
  },
];

let catalog: readonly ModelChoice[] = [];

/** Adds the catalog's models after the built-in ones (ids already taken are ignored). */
export function setCatalogModels(models: readonly ModelChoice[]): void {
  const taken = new Set(BUILT_IN.map((m) => m.id));
  catalog = models.filter((m) => !taken.has(m.id) && (taken.add(m.id), true));
}

export function modelChoices(): readonly ModelChoice[] {
  return [...BUILT_IN, ...catalog];
}

export function findModel(id: string): ModelChoice | undefined {
  return modelChoices().find((m) => m.id === id);
}

/** The worker's view of a model: its directory as an absolute URL (resolved against `base`, the page). */
export function modelSpec(choice: ModelChoice, base: string): ModelSpec {
  return { id: choice.id, label: choice.label, url: new URL(choice.url, base).href };
}
