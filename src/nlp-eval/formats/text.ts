/**
 * Shared reading of the official files: strict UTF-8, lines, JSON Lines, label lists, and field getters whose
 * errors name the file, line and field (BenchDataError).
 */
import { BenchDataError } from '../errors';

/** The bytes as UTF-8 text (a leading byte-order mark is dropped); invalid UTF-8 is an error, not U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BenchDataError(file, null, null, 'not valid UTF-8 text; is this the right file?');
  }
}

/**
 * The file's lines, each with its 1-based number, without line terminators ("\n" or "\r\n"). One final line
 * terminator is allowed; any other empty line is an error, because the data and label files are aligned row by
 * row and a stray blank line would shift every label after it.
 */
export function textLines(text: string, file: string): { line: number; text: string }[] {
  const parts = text.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((raw, i) => {
    const body = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (body.trim() === '') throw new BenchDataError(file, i + 1, null, 'empty line; every line must hold one row');
    return { line: i + 1, text: body };
  });
}

export type JsonObject = Record<string, unknown>;

/** One JSON object per line. */
export function jsonLines(text: string, file: string): { line: number; row: JsonObject }[] {
  return textLines(text, file).map(({ line, text: body }) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      const detail = `not valid JSON (${(error as Error).message})`;
      throw new BenchDataError(file, line, null, `${detail}; expected one JSON object per line`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BenchDataError(file, line, null, 'not a JSON object; expected one JSON object per line');
    }
    return { line, row: value as JsonObject };
  });
}

/** Where a value came from, for error messages. */
export interface At {
  file: string;
  line: number;
  /** Path of the enclosing object, e.g. "question.choices[2]." for a nested field. */
  prefix?: string;
  /** `line` is a row of a Parquet file (a hub download), not a line of text. */
  unit?: 'line' | 'row';
}

export function fail(at: At, field: string, detail: string): never {
  throw new BenchDataError(at.file, at.line, `${at.prefix ?? ''}${field}`, detail, at.unit);
}

/** A string field (empty allowed only where `allowEmpty`). */
export function stringField(row: JsonObject, field: string, at: At, allowEmpty = false): string {
  const value = row[field];
  if (typeof value !== 'string') fail(at, field, `${describe(value)}; expected a string`);
  if (!allowEmpty && value.trim() === '') fail(at, field, 'empty; expected text');
  return value;
}

/** A field holding an object. */
export function objectField(row: JsonObject, field: string, at: At): JsonObject {
  const value = row[field];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(at, field, `${describe(value)}; expected an object`);
  }
  return value as JsonObject;
}

/** A field holding an array. */
export function arrayField(row: JsonObject, field: string, at: At): unknown[] {
  const value = row[field];
  if (!Array.isArray(value)) fail(at, field, `${describe(value)}; expected an array`);
  return value;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value} (${shown(value).slice(0, 40)})`;
}

/** A value as JSON, for messages; a Parquet INT64 (a bigint, which JSON.stringify refuses) as its digits. */
export function shown(value: unknown): string {
  return typeof value === 'bigint' ? String(value) : (JSON.stringify(value) ?? 'missing');
}

/**
 * A label list (`valid-labels.lst`, `dev-labels.lst`): one label per line, each one of `allowed`, as many as the
 * data file has rows.
 */
export function labelLines(
  text: string,
  file: string,
  allowed: readonly string[],
  rows: number,
  dataFile: string,
): string[] {
  const lines = textLines(text, file);
  const labels = lines.map(({ line, text: body }) => {
    const label = body.trim();
    if (!allowed.includes(label)) {
      throw new BenchDataError(file, line, 'label', `"${label}" is not one of ${allowed.join(', ')}`);
    }
    return label;
  });
  if (labels.length !== rows) {
    const detail = `has ${labels.length} labels but ${dataFile} has ${rows} rows`;
    throw new BenchDataError(file, null, null, `${detail}; they must be the matching pair of files`);
  }
  return labels;
}
