/**
 * HellaSwag as its authors distribute it (rowanz/hellaswag `data/hellaswag_val.jsonl`): one object per line,
 *   {"ind", "activity_label", "ctx_a", "ctx_b", "ctx", "split", "split_type", "label", "endings", "source_id"}
 * with four `endings` and `label` the index (0-3) of the true one. The test file has no labels and cannot be
 * scored. The Hugging Face copy (`Rowan/hellaswag`) keeps these fields (its `label` is a string); both forms
 * of the label are read. Only the fields the harness's preprocessing uses are kept.
 */
import { arrayField, decodeUtf8, fail, jsonLines, shown, stringField, type At, type JsonObject } from './text';

export interface HellaswagDoc {
  ind: number | null;
  activity_label: string;
  ctx_a: string;
  /** Often a sentence's first word or empty (an ActivityNet context split at its last sentence). */
  ctx_b: string;
  endings: string[];
  label: number;
}

export function parseHellaswag(bytes: Uint8Array, file: string): HellaswagDoc[] {
  return jsonLines(decodeUtf8(bytes, file), file).map(({ line, row }) => hellaswagDoc(row, { file, line }));
}

/** One row, a line of the JSONL file or a row of the hub's Parquet (the same fields). */
export function hellaswagDoc(row: JsonObject, at: At): HellaswagDoc {
  const endings = arrayField(row, 'endings', at);
  if (endings.length !== 4) fail(at, 'endings', `has ${endings.length} endings; expected 4`);
  const texts = endings.map((ending, k) => {
    if (typeof ending !== 'string' || ending.trim() === '') {
      fail(at, `endings[${k}]`, `${shown(ending)}; expected a non-empty string`);
    }
    return ending;
  });
  const label = row.label;
  if (label === undefined || label === '') {
    fail(at, 'label', 'missing; the test split has no labels, use the validation file (hellaswag_val.jsonl)');
  }
  const index = typeof label === 'string' && /^[0-3]$/.test(label) ? Number(label) : label;
  if (index !== 0 && index !== 1 && index !== 2 && index !== 3) {
    fail(at, 'label', `${shown(label)}; expected 0, 1, 2 or 3`);
  }
  return {
    ind: typeof row.ind === 'number' ? row.ind : typeof row.ind === 'bigint' ? Number(row.ind) : null,
    activity_label: stringField(row, 'activity_label', at),
    ctx_a: stringField(row, 'ctx_a', at, true),
    ctx_b: stringField(row, 'ctx_b', at, true),
    endings: texts,
    label: index,
  };
}
