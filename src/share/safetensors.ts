/**
 * safetensors, reader and writer (https://github.com/huggingface/safetensors, format as of 0.4):
 *
 *   [8 bytes]  N, unsigned 64-bit little-endian: the header's length in bytes
 *   [N bytes]  the header: UTF-8 JSON object, starting with "{", padded at the end with spaces (0x20) so that
 *              8 + N is a multiple of 8 (the writer pads; the reader accepts any JSON whitespace)
 *                { "__metadata__": { "format": "pt" },                 (optional; string -> string)
 *                  "NAME": { "dtype": "F32", "shape": [8, 64], "data_offsets": [BEGIN, END] }, ... }
 *   [rest]     the byte buffer: tensors little-endian, row-major ("C" order); [BEGIN, END) is relative to the
 *              start of the buffer, END - BEGIN = product(shape) * size(dtype)
 *
 * Validation (all before any tensor data is touched): N within the cap and within the file; the header valid
 * UTF-8 and strict JSON (duplicate names rejected), each entry exactly {dtype, shape, data_offsets} with a
 * known dtype, integer shape and offsets; sizes agree with shapes (no overflow); the tensors, sorted by
 * offset, tile the buffer exactly: no overlap, no hole, nothing past the end, no trailing bytes. These are the
 * reference implementation's rules (Metadata::validate), plus duplicate-name and unknown-field rejection.
 *
 * The writer is byte-identical to the reference's `serialize` (what safetensors.torch.save_file and PEFT
 * write): tensors ordered by dtype alignment (largest first) then name (byte order), data_offsets in that
 * order, compact JSON with "__metadata__" first, padded with spaces to a multiple of 8.
 */
import { AdapterFormatError, quote } from './errors';
import { compareUtf8, decodeUtf8, encodeUtf8, readUintLE } from './bytes';
import { hasKey, isJsonObject, JsonParseError, parseJsonStrict, type JsonValue } from './json';

/** Bytes per element, in the reference's dtype order (increasing alignment; the writer sorts by it). */
export const SAFETENSORS_DTYPE_SIZES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_SIZES;
const DTYPE_ORDER = Object.keys(SAFETENSORS_DTYPE_SIZES) as SafetensorsDtype[];

export function isSafetensorsDtype(value: string): value is SafetensorsDtype {
  return Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_SIZES, value);
}

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) within the byte buffer (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** N: the JSON header's length in bytes. */
  headerLength: number;
  /** File offset of the byte buffer: 8 + N. */
  dataStart: number;
  /** 8 + N + the buffer's length: what the whole file must measure. */
  totalLength: number;
  metadata: Record<string, string> | null;
  /** In offset order. */
  tensors: SafetensorsTensorInfo[];
}

export interface SafetensorsReadLimits {
  maxHeaderBytes: number;
  maxTensors: number;
  /** Most dimensions per tensor. */
  maxRank?: number;
  /** Longest tensor name, in characters. */
  maxNameLength?: number;
  maxMetadataEntries?: number;
}

const DEFAULT_READ_LIMITS: Required<SafetensorsReadLimits> = {
  maxHeaderBytes: 1 << 20,
  maxTensors: 8192,
  maxRank: 8,
  maxNameLength: 512,
  maxMetadataEntries: 256,
};

/**
 * Step 1: the header length from the file's first 8 bytes, checked against the cap and the file size, so the
 * caller can read just the header of a large file (no data is read).
 */
export function readSafetensorsHeaderLength(
  prefix: Uint8Array,
  fileSize: number,
  file: string,
  limits: Partial<SafetensorsReadLimits> = {},
): number {
  const maxHeader = limits.maxHeaderBytes ?? DEFAULT_READ_LIMITS.maxHeaderBytes;
  if (fileSize < 8 || prefix.length < 8)
    throw new AdapterFormatError(
      file,
      `only ${fileSize} bytes: too short for a safetensors file (8-byte header length, JSON header, data); the file is truncated or is not safetensors`,
    );
  const high = readUintLE(prefix, 4, 4);
  const n = readUintLE(prefix, 0, 4) + high * 2 ** 32;
  if (high >= 2 ** 21 || n > maxHeader) {
    const head = prefix.subarray(0, 8);
    if (head[0] === 0x50 && head[1] === 0x4b)
      throw new AdapterFormatError(
        file,
        'is a zip archive, not a safetensors file (a twosome bundle? give it a .zip name)',
      );
    if (head.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d)) {
      throw new AdapterFormatError(
        file,
        `starts with text (${quote(String.fromCharCode(...head))}), not a safetensors header length: this is not a safetensors file`,
      );
    }
    throw new AdapterFormatError(
      file,
      `header length ${n >= 2 ** 53 ? 'over 2^53' : n} bytes exceeds the limit of ${maxHeader} bytes; this is not a LoRA adapter in safetensors format (or it is corrupt): re-export it`,
    );
  }
  if (n < 2)
    throw new AdapterFormatError(
      file,
      `header length ${n} is too small for a JSON object; the file is corrupt or is not safetensors`,
    );
  if (8 + n > fileSize)
    throw new AdapterFormatError(
      file,
      `header length ${n} runs past the end of the file (${fileSize} bytes): the file is truncated or is not safetensors; re-download or re-export it`,
    );
  return n;
}

/** Step 2: parses and validates the JSON header (bytes 8 .. 8+N) against the whole file's size. */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  file: string,
  limits: Partial<SafetensorsReadLimits> = {},
): SafetensorsHeader {
  const lim = { ...DEFAULT_READ_LIMITS, ...limits };
  const n = headerBytes.length;
  const fail = (detail: string): never => {
    throw new AdapterFormatError(file, detail);
  };
  if (n > lim.maxHeaderBytes) fail(`header of ${n} bytes exceeds the limit of ${lim.maxHeaderBytes} bytes`);
  const text = decodeUtf8(headerBytes);
  if (text === undefined) return fail('the header is not valid UTF-8: the file is corrupt; re-export it');
  if (text[0] !== '{')
    fail(
      `the header does not start with "{" (found ${quote(text.slice(0, 8))}): the file is corrupt or is not safetensors`,
    );
  let json: JsonValue;
  try {
    json = parseJsonStrict(text, { maxDepth: 4, maxStringLength: 65536 });
  } catch (error) {
    if (error instanceof JsonParseError)
      return fail(`the header is not valid JSON (${error.message}): the file is corrupt; re-export it`);
    throw error;
  }
  if (!isJsonObject(json)) return fail('the header is not a JSON object');

  let metadata: Record<string, string> | null = null;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const name of Object.keys(json)) {
    const entry = json[name];
    if (name === '__metadata__') {
      if (!isJsonObject(entry)) fail('"__metadata__" must be an object of strings');
      const meta = entry as Record<string, JsonValue>;
      const keys = Object.keys(meta);
      if (keys.length > lim.maxMetadataEntries)
        fail(`"__metadata__" has ${keys.length} entries (limit ${lim.maxMetadataEntries})`);
      metadata = Object.create(null) as Record<string, string>;
      for (const k of keys) {
        if (typeof meta[k] !== 'string')
          fail(`"__metadata__" entry ${quote(k)} must be a string (got ${quote(meta[k])})`);
        metadata[k] = meta[k] as string;
      }
      continue;
    }
    if (tensors.length >= lim.maxTensors) fail(`more than ${lim.maxTensors} tensors: not a LoRA adapter file`);
    if (name.length === 0) fail('a tensor has an empty name');
    if (name.length > lim.maxNameLength)
      fail(`tensor name ${quote(name)} is longer than ${lim.maxNameLength} characters`);
    const where = `tensor ${quote(name, 120)}`;
    if (!isJsonObject(entry)) fail(`${where}: expected {"dtype", "shape", "data_offsets"}, got ${quote(entry)}`);
    const info = entry as Record<string, JsonValue>;
    for (const key of Object.keys(info)) {
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets')
        fail(`${where}: unexpected field ${quote(key)} (a tensor has only dtype, shape and data_offsets)`);
    }
    for (const key of ['dtype', 'shape', 'data_offsets']) if (!hasKey(info, key)) fail(`${where}: missing "${key}"`);
    const dtype = info.dtype;
    if (typeof dtype !== 'string' || !isSafetensorsDtype(dtype))
      return fail(`${where}: unknown dtype ${quote(dtype)} (safetensors dtypes: ${DTYPE_ORDER.join(', ')})`);
    const shape = info.shape;
    if (!Array.isArray(shape)) return fail(`${where}: "shape" must be an array of integers (got ${quote(shape)})`);
    if (shape.length > lim.maxRank) fail(`${where}: ${shape.length} dimensions (at most ${lim.maxRank})`);
    let elements = 1;
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
        return fail(`${where}: shape ${quote(shape)} must hold non-negative integers`);
      elements *= d;
      if (elements > Number.MAX_SAFE_INTEGER)
        fail(`${where}: shape ${quote(shape)} has more elements than can be addressed`);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      return fail(`${where}: "data_offsets" must be [begin, end], two non-negative integers (got ${quote(offsets)})`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const bytes = elements * SAFETENSORS_DTYPE_SIZES[dtype];
    if (end - begin !== bytes)
      fail(
        `${where}: ${dtype} ${JSON.stringify(shape)} takes ${bytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}; the header is inconsistent`,
      );
    tensors.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }

  tensors.sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  for (const t of tensors) {
    if (t.begin < cursor)
      fail(
        `tensor ${quote(t.name, 120)} (data_offsets [${t.begin}, ${t.end}]) overlaps the tensor before it, which ends at ${cursor}`,
      );
    if (t.begin > cursor)
      fail(`a hole in the data: bytes ${cursor}..${t.begin} belong to no tensor (before ${quote(t.name, 120)})`);
    cursor = t.end;
  }
  const total = 8 + n + cursor;
  if (total > fileSize)
    fail(
      `the tensors need ${cursor} data bytes but only ${Math.max(0, fileSize - 8 - n)} follow the header: the file is truncated; re-download or re-export it`,
    );
  if (total < fileSize)
    fail(
      `${fileSize - total} unexpected bytes after the last tensor: the file is corrupt (or another file was appended)`,
    );
  return { headerLength: n, dataStart: 8 + n, totalLength: total, metadata, tensors };
}

export interface SafetensorsFile {
  header: SafetensorsHeader;
  /** The whole file. */
  bytes: Uint8Array;
}

/** Parses and validates a whole safetensors file held in memory. */
export function readSafetensors(
  bytes: Uint8Array,
  file: string,
  limits: Partial<SafetensorsReadLimits> = {},
): SafetensorsFile {
  const n = readSafetensorsHeaderLength(bytes, bytes.length, file, limits);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length, file, limits);
  return { header, bytes };
}

/** A tensor's raw little-endian bytes (a view into the file). */
export function tensorData(file: SafetensorsFile, tensor: SafetensorsTensorInfo): Uint8Array {
  return file.bytes.subarray(file.header.dataStart + tensor.begin, file.header.dataStart + tensor.end);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------------------------------------------------
// Writing.

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
  /** Little-endian bytes, product(shape) * size(dtype) of them. */
  data: Uint8Array;
}

/** A safetensors file, byte-identical to the reference `serialize` of the same tensors and metadata. */
export function writeSafetensors(
  entries: readonly SafetensorsEntry[],
  metadata: Record<string, string> | null = null,
): Uint8Array {
  const names = new Set<string>();
  for (const e of entries) {
    if (e.name === '__metadata__' || e.name.length === 0)
      throw new RangeError(`safetensors: invalid tensor name ${quote(e.name)}`);
    if (names.has(e.name)) throw new RangeError(`safetensors: tensor ${quote(e.name)} given twice`);
    names.add(e.name);
    if (!isSafetensorsDtype(e.dtype)) throw new RangeError(`safetensors: unknown dtype ${quote(e.dtype)}`);
    if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new RangeError(`safetensors: tensor ${quote(e.name)} has a bad shape ${quote(e.shape)}`);
    const bytes = elementCount(e.shape) * SAFETENSORS_DTYPE_SIZES[e.dtype];
    if (bytes !== e.data.length)
      throw new RangeError(
        `safetensors: tensor ${quote(e.name)} ${e.dtype} ${JSON.stringify(e.shape)} needs ${bytes} bytes, got ${e.data.length}`,
      );
  }
  const rank = (d: SafetensorsDtype) => DTYPE_ORDER.indexOf(d);
  const sorted = entries.slice().sort((x, y) => rank(y.dtype) - rank(x.dtype) || compareUtf8(x.name, y.name));
  let offset = 0;
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    parts.push(
      `"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(String(metadata[k]))}`).join(',')}}`,
    );
  }
  for (const e of sorted) {
    const end = offset + e.data.length;
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = encodeUtf8(`{${parts.join(',')}}`);
  const padded = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + offset);
  let n = padded;
  for (let i = 0; i < 8; i++) {
    out[i] = n % 256;
    n = Math.floor(n / 256);
  }
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const e of sorted) {
    out.set(e.data, at);
    at += e.data.length;
  }
  return out;
}
