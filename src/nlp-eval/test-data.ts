/**
 * For the tests: the real benchmark files of shared/data/nlp-eval/ (never committed here). Looked for at
 * $TWOSOME_NLP_EVAL_DATA, then ../shared/data/nlp-eval (a checkout beside shared/), then shared/data/nlp-eval (a
 * copy with shared/ inside). Tests that need the files skip, saying why, where none is found.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const CANDIDATES = [process.env.TWOSOME_NLP_EVAL_DATA, '../shared/data/nlp-eval', 'shared/data/nlp-eval'];

/** The data directory, or null. */
export const NLP_EVAL_DATA: string | null =
  CANDIDATES.filter((dir): dir is string => !!dir)
    .map((dir) => resolve(process.cwd(), dir))
    .find((dir) => existsSync(join(dir, 'README.md'))) ?? null;

/** Appended to a describe title: says why it is skipped when the data is missing. */
export const NEEDS_DATA = NLP_EVAL_DATA
  ? ''
  : ' [SKIPPED: benchmark files not found; set TWOSOME_NLP_EVAL_DATA or put shared/data/nlp-eval beside the checkout]';

if (!NLP_EVAL_DATA) console.warn(`nlp-eval tests:${NEEDS_DATA}`);

/** A data file's bytes (only call where NLP_EVAL_DATA is set). */
export function dataFile(path: string): Uint8Array {
  return new Uint8Array(readFileSync(join(NLP_EVAL_DATA!, path)));
}
