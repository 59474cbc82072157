/**
 * The playground's setup lives in the URL query (`?task=entertainment&seed=3&model=micro&norm=word`) so that
 * a link reopens the same task, seed, model and normalization. Parsing never throws: a bad value falls back
 * to the default and says why.
 */
import { TASK_IDS, isTaskId } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { NORMALIZATIONS, type Normalization } from '../rl/policy';
import { DEFAULT_MODEL, findModel, modelChoices, NO_MODELS_KNOWN, type KnownModels } from './models';

export const DEFAULT_TASK: TaskId = 'tomato-salad';
export const DEFAULT_SEED = 0;
/** The paper's normalization (TWOSOME's word normalization). */
export const DEFAULT_NORM: Normalization = 'word';

export interface Setup {
  taskId: TaskId;
  seed: number;
  modelId: string;
  norm: Normalization;
}

export interface ParsedSetup extends Setup {
  /** Human-readable problems found in the query (unknown task, bad seed); empty when it was fine. */
  problems: string[];
}

export function isNormalization(value: string): value is Normalization {
  return (NORMALIZATIONS as readonly string[]).includes(value);
}

/** The setup in `search`; `known`: the models a `model=` may name beyond the built-in ones and custom URLs. */
export function parseSetup(search: string, known: KnownModels = NO_MODELS_KNOWN): ParsedSetup {
  const params = new URLSearchParams(search);
  const problems: string[] = [];
  let taskId = DEFAULT_TASK;
  let seed = DEFAULT_SEED;
  let modelId = DEFAULT_MODEL;
  let norm = DEFAULT_NORM;

  const task = params.get('task');
  if (task !== null) {
    if (isTaskId(task)) taskId = task;
    else
      problems.push(
        `Unknown task "${task}" in the URL. Showing the default task "${DEFAULT_TASK}" instead. Available tasks: ${TASK_IDS.join(', ')}.`,
      );
  }

  const seedText = params.get('seed');
  if (seedText !== null) {
    const value = Number(seedText);
    if (seedText.trim() !== '' && Number.isSafeInteger(value) && value >= 0) seed = value;
    else
      problems.push(`Invalid seed "${seedText}" in the URL (use a non-negative integer). Using seed ${DEFAULT_SEED}.`);
  }

  const model = params.get('model');
  if (model !== null) {
    if (findModel(known, model)) modelId = model;
    else
      problems.push(
        `Unknown model "${model}" in the URL. Using "${DEFAULT_MODEL}" instead. Available models: ${DEFAULT_MODEL}, a catalog id (listed in the Model panel, e.g. ${
          modelChoices(known)[1]?.id ?? DEFAULT_MODEL
        }) or an https:// URL of an MLC model repo.`,
      );
  }

  const normText = params.get('norm');
  if (normText !== null) {
    if (isNormalization(normText)) norm = normText;
    else
      problems.push(
        `Unknown normalization "${normText}" in the URL (use ${NORMALIZATIONS.join(', ')}). Using "${DEFAULT_NORM}".`,
      );
  }
  return { taskId, seed, modelId, norm, problems };
}

/** The query string for a setup, keeping any other parameters already in `search`. */
export function formatSetup(setup: Setup, search = ''): string {
  const params = new URLSearchParams(search);
  params.set('task', setup.taskId);
  params.set('seed', String(setup.seed));
  params.set('model', setup.modelId);
  params.set('norm', setup.norm);
  return `?${params.toString()}`;
}

/** Writes the setup into the address bar: `push` adds a history entry (back returns), `replace` does not. */
export function writeSetupToUrl(setup: Setup, mode: 'push' | 'replace'): void {
  if (typeof window === 'undefined') return;
  const query = formatSetup(setup, window.location.search);
  if (query === window.location.search) return;
  const url = `${window.location.pathname}${query}${window.location.hash}`;
  if (mode === 'push') window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
}
