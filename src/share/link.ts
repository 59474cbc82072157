/**
 * Share links: a small adapter and the setup it was trained in, carried whole in the page's fragment
 * (`https://.../#share=<base64url>`; fragments never reach a server), and `?adapter=https://...` for adapters
 * too large for a link.
 *
 * Link bytes (version 1), base64url without padding:
 *
 *   offset 0   u8      version = 1
 *          1   u8      precision: 0 f32, 1 f16, 2 int8
 *          2   u32 LE  body length in bytes (<= SHARE_BODY_MAX_BYTES)
 *          6   ...     the body, raw DEFLATE (RFC 1951)
 *        n-4   u32 LE  CRC-32 of bytes 0 .. n-4
 *
 * Body (little-endian):
 *
 *   u8 len, utf8      model id (A-Z a-z 0-9 . _ -, 1..128)
 *   u8 len, utf8      task id
 *   u8                normalization: 0 sum, 1 token, 2 word
 *   u32               seed
 *   u16 r, f32 alpha, u16 layers
 *   u8 T, then T x { u8 target (index in LORA_TARGETS), u32 outDim, u32 inDim }   (config order)
 *   tensors, layer-major, targets in the order above, A [r, in] then B [out, r], each:
 *     f32:  float32 values
 *     f16:  IEEE float16 values (round to nearest even)
 *     int8: per group of 64 consecutive values (the last may be shorter): f32 scale, then int8 q;
 *           value = fround(q * scale), scale = max|v| / 127 of the group
 *   nothing after the last tensor
 *
 * Decoding checks, in order, before anything is used: characters and length (SHARE_LINK_MAX_CHARS) before
 * decoding, base64url spelling, version, CRC-32, precision, declared body length (cap), decompression stopped
 * at that length, every field's range, the exact data length the fields imply, then every value (finite,
 * plausible) and the adapter's structure.
 */
import { isTaskId } from '../envs/registry';
import type { TaskId } from '../envs/types';
import { f16BitsToF32, f32ToF16Bits } from '../llm/model/quant';
import { LORA_TARGETS, type LoraTarget } from '../llm/train/lora';
import { NORMALIZATIONS, type Normalization } from '../rl/policy';
import { checkAdapterWeights, type AdapterTargetDims, type AdapterWeights, type AdapterWeightsModule } from './adapter';
import { crc32, decodeBase64Url, decodeUtf8, encodeBase64Url, encodeUtf8, readUintLE } from './bytes';
import { deflateRaw, inflateRawCapped } from './deflate';
import { AdapterFormatError, AdapterUrlError, quote, ShareLinkError } from './errors';
import { ADAPTER_URL_MAX_CHARS, DEFAULT_LIMITS, SHARE_BODY_MAX_BYTES, SHARE_LINK_MAX_CHARS } from './limits';
import { describeError } from '../util/errors';
import {
  defaultIdleTimeoutMs,
  fetchWithIdleTimeout,
  readBodyCapped,
  StalledError,
  type TimedResponse,
} from '../util/http-body';

export const SHARE_LINK_VERSION = 1;
export const SHARE_FRAGMENT_PREFIX = '#share=';
export type SharePrecision = 'f32' | 'f16' | 'int8';
export const SHARE_PRECISIONS: readonly SharePrecision[] = ['f32', 'f16', 'int8'];
const NORM_CODES: readonly Normalization[] = ['sum', 'token', 'word'];
export const INT8_GROUP = 64;
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface SharePayload {
  modelId: string;
  task: TaskId;
  normalization: Normalization;
  seed: number;
  weights: AdapterWeights;
}

export interface DecodedShareLink extends SharePayload {
  precision: SharePrecision;
}

export interface ShareEncodeOptions {
  /** 'auto' (default): the most precise that fits the limit (f32, then f16, then int8). */
  precision?: SharePrecision | 'auto';
  /** Longest fragment allowed, "#share=" included. */
  maxChars?: number;
}

export interface ShareEncoded {
  /** "#share=..." */
  fragment: string;
  chars: number;
  precision: SharePrecision;
  /** Body bytes before and after compression. */
  bodyBytes: number;
  compressedBytes: number;
  /** Largest |w - w'| over every A and B value (0 for f32). */
  maxAbsError: number;
  /** Largest |scale (B A - B' A')| over every module's weight update: the error in the projections' weights. */
  maxDeltaWeightError: number;
  /** What the receiver decodes (for measuring the policy's probability error with `shareProbabilityError`). */
  roundTrip: AdapterWeights;
}

// ---------------------------------------------------------------------------------------------------------
// Encoding.

class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) {
    this.ensure(1);
    this.buf[this.length++] = v;
  }
  u16(v: number) {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number) {
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number) {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  i8(v: number) {
    this.ensure(1);
    this.view.setInt8(this.length++, v);
  }
  str(s: string) {
    const b = encodeUtf8(s);
    this.u8(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Writes `values` in `precision`; returns what the decoder will read back. */
function writeTensor(w: ByteWriter, values: Float32Array, precision: SharePrecision): Float32Array {
  const out = new Float32Array(values.length);
  if (precision === 'f32') {
    for (let i = 0; i < values.length; i++) w.f32(values[i]);
    out.set(values);
  } else if (precision === 'f16') {
    for (let i = 0; i < values.length; i++) {
      const h = f32ToF16Bits(values[i]);
      if ((h & 0x7c00) === 0x7c00)
        throw new ShareLinkError(`value ${values[i]} does not fit float16; share in f32 (or as ?adapter=https://...)`);
      w.u16(h);
      out[i] = f16BitsToF32(h);
    }
  } else {
    for (let g = 0; g < values.length; g += INT8_GROUP) {
      const end = Math.min(values.length, g + INT8_GROUP);
      let max = 0;
      for (let i = g; i < end; i++) max = Math.max(max, Math.abs(values[i]));
      const scale = Math.fround(max / 127);
      w.f32(scale);
      for (let i = g; i < end; i++) {
        const q = scale > 0 ? Math.max(-127, Math.min(127, Math.round(values[i] / scale))) | 0 : 0; // | 0: no -0
        w.i8(q);
        out[i] = Math.fround(q * scale);
      }
    }
  }
  return out;
}

function maxAbsDiff(x: Float32Array, y: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

/** max |scale (B A - B' A')| of one module (float64). */
function deltaWeightError(
  m: AdapterWeightsModule,
  q: AdapterWeightsModule,
  d: AdapterTargetDims,
  r: number,
  scale: number,
): number {
  let worst = 0;
  const row = new Float64Array(d.inDim);
  for (let o = 0; o < d.outDim; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const b1 = m.b[o * r + k];
      const b2 = q.b[o * r + k];
      const base = k * d.inDim;
      for (let i = 0; i < d.inDim; i++) row[i] += b1 * m.a[base + i] - b2 * q.a[base + i];
    }
    for (let i = 0; i < d.inDim; i++) worst = Math.max(worst, Math.abs(row[i]));
  }
  return worst * scale;
}

function checkPayload(p: SharePayload): void {
  if (typeof p.modelId !== 'string' || !MODEL_ID.test(p.modelId))
    throw new ShareLinkError(
      `model id ${quote(p.modelId)} cannot go in a link (A-Z a-z 0-9 . _ -, up to 128 characters)`,
    );
  if (!isTaskId(p.task)) throw new ShareLinkError(`unknown task ${quote(p.task)}`);
  if (!NORM_CODES.includes(p.normalization))
    throw new ShareLinkError(`unknown normalization ${quote(p.normalization)}`);
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff)
    throw new ShareLinkError(`seed ${p.seed} cannot go in a link (0..4294967295)`);
  try {
    checkAdapterWeights(p.weights, 'adapter');
  } catch (error) {
    if (error instanceof AdapterFormatError) throw new ShareLinkError(error.message);
    throw error;
  }
  if (p.weights.config.r > 0xffff || p.weights.layers > 0xffff)
    throw new ShareLinkError('r and layers must be below 65536');
}

function encodeAt(p: SharePayload, precision: SharePrecision) {
  const w = new ByteWriter();
  w.str(p.modelId);
  w.str(p.task);
  w.u8(NORM_CODES.indexOf(p.normalization));
  w.u32(p.seed);
  const { r, alpha, targets } = p.weights.config;
  w.u16(r);
  w.f32(alpha);
  w.u16(p.weights.layers);
  w.u8(targets.length);
  for (const d of p.weights.dims) {
    w.u8(LORA_TARGETS.indexOf(d.target));
    w.u32(d.outDim);
    w.u32(d.inDim);
  }
  const modules: AdapterWeightsModule[] = p.weights.modules.map((m) => ({
    layer: m.layer,
    target: m.target,
    a: writeTensor(w, m.a, precision),
    b: writeTensor(w, m.b, precision),
  }));
  const body = w.bytes();
  const roundTrip: AdapterWeights = {
    config: { ...p.weights.config, alpha: Math.fround(alpha), targets: targets.slice() },
    layers: p.weights.layers,
    dims: p.weights.dims.map((d) => ({ ...d })),
    modules,
  };
  return { body, roundTrip };
}

function frame(precision: SharePrecision, body: Uint8Array): Uint8Array {
  const compressed = deflateRaw(body, 9);
  const out = new Uint8Array(6 + compressed.length + 4);
  const view = new DataView(out.buffer);
  out[0] = SHARE_LINK_VERSION;
  out[1] = SHARE_PRECISIONS.indexOf(precision);
  view.setUint32(2, body.length, true);
  out.set(compressed, 6);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/**
 * Encodes a share link; throws ShareLinkError when the adapter does not fit `maxChars` at the precision asked
 * (or at any, with 'auto') — share it as `?adapter=https://...` then.
 */
export function encodeShareLink(payload: SharePayload, options: ShareEncodeOptions = {}): ShareEncoded {
  checkPayload(payload);
  const maxChars = options.maxChars ?? SHARE_LINK_MAX_CHARS;
  const wanted = options.precision ?? 'auto';
  const order: SharePrecision[] = wanted === 'auto' ? ['f32', 'f16', 'int8'] : [wanted];
  let smallest = Infinity;
  for (const precision of order) {
    // Early out before any work: the body would exceed what a decoder accepts.
    const rawValues = payload.weights.modules.reduce((s, m) => s + m.a.length + m.b.length, 0);
    const rawBytes = rawValues * (precision === 'f32' ? 4 : precision === 'f16' ? 2 : 1 + 4 / INT8_GROUP);
    if (rawBytes > SHARE_BODY_MAX_BYTES) {
      smallest = Math.min(smallest, Math.ceil((rawBytes * 4) / 3 / 1.2));
      continue;
    }
    let encoded: ReturnType<typeof encodeAt>;
    try {
      encoded = encodeAt(payload, precision);
    } catch (error) {
      if (error instanceof ShareLinkError && wanted === 'auto') continue;
      throw error;
    }
    if (encoded.body.length > SHARE_BODY_MAX_BYTES) {
      smallest = Math.min(smallest, Math.ceil((encoded.body.length * 4) / 3 / 1.2));
      continue;
    }
    const bytes = frame(precision, encoded.body);
    const fragment = SHARE_FRAGMENT_PREFIX + encodeBase64Url(bytes);
    if (fragment.length > maxChars) {
      smallest = Math.min(smallest, fragment.length);
      continue;
    }
    let maxAbsError = 0;
    let maxDeltaWeightError = 0;
    const scale = payload.weights.config.alpha / payload.weights.config.r;
    payload.weights.modules.forEach((m, i) => {
      const q = encoded.roundTrip.modules[i];
      maxAbsError = Math.max(maxAbsError, maxAbsDiff(m.a, q.a), maxAbsDiff(m.b, q.b));
      if (precision !== 'f32')
        maxDeltaWeightError = Math.max(
          maxDeltaWeightError,
          deltaWeightError(
            m,
            q,
            payload.weights.dims[i % payload.weights.dims.length],
            payload.weights.config.r,
            scale,
          ),
        );
    });
    return {
      fragment,
      chars: fragment.length,
      precision,
      bodyBytes: encoded.body.length,
      compressedBytes: bytes.length - 10,
      maxAbsError,
      maxDeltaWeightError,
      roundTrip: encoded.roundTrip,
    };
  }
  throw new ShareLinkError(
    `the adapter needs ${Number.isFinite(smallest) ? `about ${smallest}` : 'more'} characters even as ${order[order.length - 1]}, over the link limit of ${maxChars}; upload the bundle (or adapter_model.safetensors) to an https:// host and share ?adapter=https://...`,
  );
}

/**
 * The largest change in any action probability the quantization causes: `probe` maps an adapter to the
 * policy's probabilities on fixed prompts (e.g. the engine's scoring), called with the original weights and
 * with the link's round trip.
 */
export async function shareProbabilityError(
  original: AdapterWeights,
  roundTrip: AdapterWeights,
  probe: (w: AdapterWeights) => number[][] | Promise<number[][]>,
): Promise<number> {
  const p = await probe(original);
  const q = await probe(roundTrip);
  let worst = 0;
  p.forEach((row, i) => row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - q[i][k])))));
  return worst;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding.

class ByteReader {
  private at = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining() {
    return this.bytes.length - this.at;
  }
  private need(n: number, what: string) {
    if (this.at + n > this.bytes.length)
      throw new ShareLinkError(`the link ends inside ${what}: it was cut short; copy the whole link`);
  }
  u8(what: string) {
    this.need(1, what);
    return this.bytes[this.at++];
  }
  u16(what: string) {
    this.need(2, what);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32(what: string) {
    this.need(4, what);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  f32(what: string) {
    this.need(4, what);
    const v = this.view.getFloat32(this.at, true);
    this.at += 4;
    return v;
  }
  i8() {
    return this.view.getInt8(this.at++);
  }
  str(what: string): string {
    const n = this.u8(what);
    this.need(n, what);
    const s = decodeUtf8(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    if (s === undefined) throw new ShareLinkError(`${what} is not valid UTF-8`);
    return s;
  }
}

function readTensor(rd: ByteReader, n: number, precision: SharePrecision): Float32Array {
  const out = new Float32Array(n);
  if (precision === 'f32') for (let i = 0; i < n; i++) out[i] = rd.f32('tensor data');
  else if (precision === 'f16') for (let i = 0; i < n; i++) out[i] = f16BitsToF32(rd.u16('tensor data'));
  else {
    for (let g = 0; g < n; g += INT8_GROUP) {
      const scale = rd.f32('tensor data');
      if (!(scale >= 0 && scale <= DEFAULT_LIMITS.maxAbsWeight))
        throw new ShareLinkError(`an int8 group scale is ${scale}: the link is corrupt`);
      const end = Math.min(n, g + INT8_GROUP);
      for (let i = g; i < end; i++) {
        const q = rd.i8();
        if (q === -128)
          throw new ShareLinkError('an int8 value is -128 (the encoder uses -127..127): the link is corrupt');
        out[i] = Math.fround(q * scale);
      }
    }
  }
  return out;
}

function tensorBytes(n: number, precision: SharePrecision): number {
  return precision === 'f32' ? 4 * n : precision === 'f16' ? 2 * n : n + 4 * Math.ceil(n / INT8_GROUP);
}

/** The "share=..." value of a link: accepts a whole URL, a "#share=..." fragment or the bare value. */
function shareValue(input: string): string {
  let text = input.trim();
  const hash = text.indexOf('#');
  if (hash >= 0) {
    text = text.slice(hash + 1);
    if (!text.startsWith('share='))
      throw new ShareLinkError(
        `not a share link: the part after "#" must start with "share=" (got ${quote(text.slice(0, 20))})`,
      );
  }
  if (text.startsWith('share=')) text = text.slice(6);
  return text;
}

/** Decodes and validates a share link (whole URL, "#share=..." or the bare value). Throws ShareLinkError. */
export function decodeShareLink(input: string, options: { maxChars?: number } = {}): DecodedShareLink {
  const maxChars = options.maxChars ?? SHARE_LINK_MAX_CHARS;
  if (typeof input !== 'string') throw new ShareLinkError('expected text');
  if (input.length > maxChars + 8192)
    throw new ShareLinkError(`${input.length} characters, over the link limit of ${maxChars}`);
  const value = shareValue(input);
  if (value.length + SHARE_FRAGMENT_PREFIX.length > maxChars)
    throw new ShareLinkError(
      `${value.length + SHARE_FRAGMENT_PREFIX.length} characters, over the link limit of ${maxChars}`,
    );
  if (value.length === 0) throw new ShareLinkError('the link carries no adapter (nothing after "#share=")');
  const bytes = decodeBase64Url(value);
  if (typeof bytes === 'string') throw new ShareLinkError(`${bytes}: the link was altered or cut; copy the whole link`);
  if (bytes.length < 11)
    throw new ShareLinkError(`only ${bytes.length} bytes: the link was cut short; copy the whole link`);
  const version = bytes[0];
  if (version > SHARE_LINK_VERSION)
    throw new ShareLinkError(
      `link format version ${version} is newer than this page reads (${SHARE_LINK_VERSION}); reload or update the page`,
    );
  if (version !== SHARE_LINK_VERSION)
    throw new ShareLinkError(`link format version ${version} is not valid: the link is corrupt`);
  const stored = readUintLE(bytes, bytes.length - 4, 4);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored)
    throw new ShareLinkError('checksum mismatch: the link was altered or cut; copy the whole link');
  const precision = SHARE_PRECISIONS[bytes[1]];
  if (!precision) throw new ShareLinkError(`unknown precision code ${bytes[1]}`);
  const bodyLength = readUintLE(bytes, 2, 4);
  if (bodyLength > SHARE_BODY_MAX_BYTES)
    throw new ShareLinkError(`declares a body of ${bodyLength} bytes, over the limit of ${SHARE_BODY_MAX_BYTES}`);
  const body = inflateRawCapped(bytes.subarray(6, bytes.length - 4), bodyLength);
  if (typeof body === 'string') throw new ShareLinkError(`the adapter data ${body}`);
  if (body.length !== bodyLength)
    throw new ShareLinkError(`the adapter data has ${body.length} bytes, not the ${bodyLength} declared`);

  const rd = new ByteReader(body);
  const modelId = rd.str('the model id');
  if (!MODEL_ID.test(modelId)) throw new ShareLinkError(`model id ${quote(modelId)} is not valid`);
  const task = rd.str('the task');
  if (!isTaskId(task))
    throw new ShareLinkError(`unknown task ${quote(task)}; the link may come from a newer version of the page`);
  const normCode = rd.u8('the normalization');
  const normalization = NORM_CODES[normCode];
  if (!normalization || !NORMALIZATIONS.includes(normalization))
    throw new ShareLinkError(`unknown normalization code ${normCode}`);
  const seed = rd.u32('the seed');
  const r = rd.u16('r');
  const alpha = rd.f32('alpha');
  const layers = rd.u16('the layer count');
  const lim = DEFAULT_LIMITS;
  if (r < 1 || r > lim.maxRank) throw new ShareLinkError(`LoRA r ${r} is outside 1..${lim.maxRank}`);
  if (!(alpha > 0 && alpha <= 1e6)) throw new ShareLinkError(`lora_alpha ${alpha} is not a positive number up to 1e6`);
  if (layers < 1 || layers > lim.maxLayers)
    throw new ShareLinkError(`layer count ${layers} is outside 1..${lim.maxLayers}`);
  const count = rd.u8('the target count');
  if (count < 1 || count > LORA_TARGETS.length)
    throw new ShareLinkError(`${count} target modules (1..${LORA_TARGETS.length})`);
  const dims: AdapterTargetDims[] = [];
  for (let i = 0; i < count; i++) {
    const code = rd.u8('a target');
    const target: LoraTarget | undefined = LORA_TARGETS[code];
    if (!target) throw new ShareLinkError(`unknown target module code ${code}`);
    if (dims.some((d) => d.target === target)) throw new ShareLinkError(`target ${target} is listed twice`);
    const outDim = rd.u32('a target size');
    const inDim = rd.u32('a target size');
    if (outDim < 1 || outDim > lim.maxDim || inDim < 1 || inDim > lim.maxDim)
      throw new ShareLinkError(`${target} is ${outDim} x ${inDim}; sizes must be in 1..${lim.maxDim}`);
    dims.push({ target, inDim, outDim });
  }
  let need = 0;
  for (const d of dims) need += tensorBytes(r * d.inDim, precision) + tensorBytes(d.outDim * r, precision);
  need *= layers;
  if (need !== rd.remaining)
    throw new ShareLinkError(
      `the header implies ${need} bytes of weights but ${rd.remaining} follow: the link is corrupt`,
    );
  const modules: AdapterWeightsModule[] = [];
  for (let layer = 0; layer < layers; layer++) {
    for (const d of dims)
      modules.push({
        layer,
        target: d.target,
        a: readTensor(rd, r * d.inDim, precision),
        b: readTensor(rd, d.outDim * r, precision),
      });
  }
  const weights: AdapterWeights = {
    config: { r, alpha, dropout: 0, targets: dims.map((d) => d.target) },
    layers,
    dims,
    modules,
  };
  try {
    checkAdapterWeights(weights, 'share link');
  } catch (error) {
    if (error instanceof AdapterFormatError) throw new ShareLinkError(error.detail);
    throw error;
  }
  return { modelId, task: task as TaskId, normalization, seed, weights, precision };
}

// ---------------------------------------------------------------------------------------------------------
// ?adapter=https://...

/**
 * Validates an adapter URL against the page's URL: https:// anywhere, or the page's own origin (any scheme,
 * e.g. http://localhost in development); no credentials; at most ADAPTER_URL_MAX_CHARS. Relative URLs resolve
 * against the page. Returns the absolute URL.
 */
export function checkAdapterUrl(raw: string, pageUrl: string): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new AdapterUrlError('the adapter URL is empty');
  if (raw.length > ADAPTER_URL_MAX_CHARS)
    throw new AdapterUrlError(`the adapter URL has ${raw.length} characters (limit ${ADAPTER_URL_MAX_CHARS})`);
  let page: URL;
  let url: URL;
  try {
    page = new URL(pageUrl);
    url = new URL(raw, page);
  } catch {
    throw new AdapterUrlError(`${quote(raw, 100)} is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new AdapterUrlError(`adapter URLs must be https:// (got ${quote(url.protocol)})`);
  if (url.username || url.password) throw new AdapterUrlError('adapter URLs must not carry a user name or password');
  const sameOrigin = url.origin === page.origin && page.origin !== 'null';
  if (url.protocol !== 'https:' && !sameOrigin)
    throw new AdapterUrlError(
      `adapter URLs must be https:// or on this site (${page.origin}); got ${quote(url.href, 100)}`,
    );
  return url.href;
}

/** The validated `adapter=` URL of a query string, or null when there is none. */
export function parseAdapterParam(search: string, pageUrl: string): string | null {
  const value = new URLSearchParams(search).get('adapter');
  return value === null ? null : checkAdapterUrl(value, pageUrl);
}

/** A query string with `adapter=` set (other parameters kept). */
export function formatAdapterParam(url: string, pageUrl: string, search = ''): string {
  const params = new URLSearchParams(search);
  params.set('adapter', checkAdapterUrl(url, pageUrl));
  return `?${params.toString()}`;
}

export interface FetchAdapterOptions {
  pageUrl: string;
  maxBytes?: number;
  fetch?: typeof fetch;
  /** The user's cancel: the download stops and the call rejects with AdapterDownloadCancelled. */
  signal?: AbortSignal;
  /** An attempt that receives nothing (no headers, or no body bytes) for this long is abandoned (default 30 s). */
  idleMs?: number;
  /** Attempts when the server stalls (default 2: one retry, then the error). */
  attempts?: number;
}

/** The download was cancelled by the caller's signal (not a fault of the URL). */
export class AdapterDownloadCancelled extends Error {
  constructor(readonly url: string) {
    super(`the download of ${url} was cancelled`);
    this.name = 'AdapterDownloadCancelled';
  }
}

/**
 * Downloads an adapter file from a validated URL with the size capped while streaming (a Content-Length over
 * the cap is refused before reading); the final URL after redirects is validated too. Every wait is bounded: an
 * attempt that gets no headers or no body bytes for `idleMs` is abandoned and tried again, then reported with
 * the URL.
 */
export async function fetchAdapterBytes(url: string, options: FetchAdapterOptions): Promise<Uint8Array> {
  const href = checkAdapterUrl(url, options.pageUrl);
  const idleMs = options.idleMs ?? defaultIdleTimeoutMs();
  const attempts = Math.max(1, Math.floor(options.attempts ?? 2));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchAdapterOnce(href, idleMs, options);
    } catch (error) {
      if (options.signal?.aborted) throw new AdapterDownloadCancelled(href);
      if (!(error instanceof StalledError)) throw error;
      if (attempt < attempts) continue;
      const tries = attempts === 1 ? '' : ` (${attempts} attempts)`;
      throw new AdapterUrlError(
        `could not download ${href}: ${error.message}${tries}; check the URL, or try again later`,
      );
    }
  }
}

async function fetchAdapterOnce(href: string, idleMs: number, options: FetchAdapterOptions): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? DEFAULT_LIMITS.maxBundleBytes;
  const init = { credentials: 'omit' as const, redirect: 'follow' as const, signal: options.signal };
  let timed: TimedResponse;
  try {
    timed = await fetchWithIdleTimeout(options.fetch ?? fetch, href, init, idleMs);
  } catch (error) {
    if (error instanceof StalledError || options.signal?.aborted) throw error;
    throw new AdapterUrlError(`could not download ${href}: ${describeError(error)}`);
  }
  const { response, abort, release } = timed;
  try {
    if (response.url) checkAdapterUrl(response.url, options.pageUrl);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new AdapterUrlError(`${href} answered HTTP ${response.status}`);
    }
    return await readBodyCapped(response, {
      maxBytes,
      idleMs,
      abort,
      tooLarge: (size) =>
        new AdapterUrlError(
          size === undefined
            ? `${href} is over the limit of ${maxBytes} bytes`
            : `${href} is ${size} bytes, over the limit of ${maxBytes}`,
        ),
    });
  } catch (error) {
    if (error instanceof StalledError || error instanceof AdapterUrlError || options.signal?.aborted) throw error;
    throw new AdapterUrlError(`could not download ${href}: ${describeError(error)}`);
  } finally {
    release();
  }
}
