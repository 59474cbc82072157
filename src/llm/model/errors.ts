import { looksLikeWebPage, WEB_PAGE_DETAIL } from '../../util/web-page';

/**
 * A model directory or file that cannot be used as it is (missing file, wrong field, truncated shard, bad
 * checksum, unsupported architecture). The message names the file and says what is wrong and what to do, so
 * the CLI can print it as one line (it maps this to a user error) and the app can show it as is.
 */
export class ModelFormatError extends Error {
  constructor(
    /** The file (or directory) at fault, as the user named it. */
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ModelFormatError';
  }
}

/**
 * The JSON value in the text of a model file (mlc-chat-config.json, tensor-cache.json); a web page or a syntax
 * error is a ModelFormatError that names the file.
 */
export function parseModelJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (looksLikeWebPage(text)) throw new ModelFormatError(file, WEB_PAGE_DETAIL);
    const detail = `not valid JSON (${(error as Error).message}); re-download or regenerate the model`;
    throw new ModelFormatError(file, detail);
  }
}

/** A JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A parser's `fail`: throws the ModelFormatError of its file that says `detail`. */
export type FormatFail = (detail: string) => never;

/**
 * How a parser of a model file's JSON (mlc-chat-config.json, tensor-cache.json) starts: the `fail` of `file`,
 * and the root, which must be a JSON object (else it fails with "expected <what>").
 */
export function modelJsonRoot(
  json: unknown,
  file: string,
  what: string,
): { root: Record<string, unknown>; fail: FormatFail } {
  const fail: FormatFail = (detail) => {
    throw new ModelFormatError(file, detail);
  };
  if (!isJsonObject(json)) fail(`expected ${what}`);
  return { root: json as Record<string, unknown>, fail };
}
