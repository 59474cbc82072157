/**
 * A strict JSON parser for files we did not write (safetensors headers, adapter_config.json, twosome.json,
 * metrics lines). Unlike JSON.parse it rejects duplicate keys (JSON.parse keeps the last one silently, so two
 * readers could disagree about a file), numbers out of double range (1e400 would become Infinity), and nesting
 * deeper than a cap (no stack overflow on "[[[[..."); objects have no prototype, so keys such as "__proto__"
 * are plain data. Input size is bounded by the caller. Nothing is ever evaluated.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export class JsonParseError extends Error {
  constructor(
    readonly detail: string,
    /** Character offset of the problem in the text. */
    readonly offset: number,
  ) {
    super(`${detail} at character ${offset + 1}`);
    this.name = 'JsonParseError';
  }
}

export interface JsonParseOptions {
  /** Deepest nesting of arrays and objects (the top level is depth 1). */
  maxDepth?: number;
  /** Longest string (key or value), in characters. */
  maxStringLength?: number;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

export function parseJsonStrict(text: string, options: JsonParseOptions = {}): JsonValue {
  const maxDepth = options.maxDepth ?? 32;
  const maxString = options.maxStringLength ?? Infinity;
  let pos = 0;

  const fail = (detail: string, at = pos): never => {
    throw new JsonParseError(detail, at);
  };
  const skipSpace = () => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else return;
    }
  };

  const parseString = (): string => {
    // at the opening quote
    const start = pos;
    pos++;
    let out = '';
    let run = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string', start);
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(run, pos);
        pos++;
        break;
      }
      if (c < 0x20) fail('control character in a string');
      if (c === 0x5c) {
        out += text.slice(run, pos);
        const e = text[pos + 1];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(pos + 2, pos + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
            out += String.fromCharCode(parseInt(hex, 16));
            pos += 4;
            break;
          }
          default:
            fail('bad escape in a string');
        }
        pos += 2;
        run = pos;
      } else pos++;
      if (pos - start > maxString + 2 && out.length + (pos - run) > maxString)
        fail(`string longer than ${maxString} characters`, start);
    }
    if (out.length > maxString) fail(`string longer than ${maxString} characters`, start);
    return out;
  };

  /** After a member or element: true at `close` (the object or array ends), false at a comma; both consumed. */
  const endOrComma = (close: '}' | ']'): boolean => {
    skipSpace();
    if (text[pos] === ',') {
      pos++;
      return false;
    }
    if (text[pos] === close) {
      pos++;
      return true;
    }
    return fail(`expected "," or "${close}"`);
  };

  const parseValue = (depth: number): JsonValue => {
    skipSpace();
    const c = text[pos];
    if (c === '{') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      pos++;
      const obj = Object.create(null) as JsonObject;
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('expected a string key');
        const keyAt = pos;
        const key = parseString();
        if (Object.prototype.hasOwnProperty.call(obj, key))
          fail(`duplicate key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)}`, keyAt);
        skipSpace();
        if (text[pos] !== ':') fail('expected ":"');
        pos++;
        obj[key] = parseValue(depth + 1);
        if (endOrComma('}')) return obj;
      }
    }
    if (c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      pos++;
      const arr: JsonValue[] = [];
      skipSpace();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        if (endOrComma(']')) return arr;
      }
    }
    if (c === '"') return parseString();
    if (c === 't' && text.startsWith('true', pos)) {
      pos += 4;
      return true;
    }
    if (c === 'f' && text.startsWith('false', pos)) {
      pos += 5;
      return false;
    }
    if (c === 'n' && text.startsWith('null', pos)) {
      pos += 4;
      return null;
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m) {
      const value = Number(m[0]);
      if (!Number.isFinite(value)) fail(`number ${m[0].length > 30 ? `${m[0].slice(0, 30)}…` : m[0]} is out of range`);
      pos += m[0].length;
      return value;
    }
    if (pos >= text.length) return fail('unexpected end of text');
    return fail(`unexpected character ${JSON.stringify(text[pos])}`);
  };

  const value = parseValue(0);
  skipSpace();
  if (pos < text.length) fail('unexpected text after the JSON value');
  return value;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own keys of a parsed object (null prototype: use this rather than `in`). */
export function hasKey(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}
