/**
 * Byte-level helpers shared by the formats, platform-neutral (browser and Node): CRC-32, strict UTF-8,
 * base64url, little-endian float views, and float16 / bfloat16 byte views (their number conversions are
 * llm/model/quant.ts's).
 */

import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../llm/model/quant';

// ---------------------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, as zip and gzip use).

let crcTable: Uint32Array | undefined;

export function crc32(data: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------------------------------------------------
// UTF-8.

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Strict UTF-8 decoding: undefined when the bytes are not valid UTF-8. A BOM is kept (and then rejected by JSON). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Byte-wise comparison of the UTF-8 encodings of two strings (Rust's String order). */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const x = encodeUtf8(a);
  const y = encodeUtf8(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// ---------------------------------------------------------------------------------------------------------
// base64url (RFC 4648 section 5, no padding).

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64.length; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

export function encodeBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[n >>> 18] + B64[(n >>> 12) & 63];
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >>> 18] + B64[(n >>> 12) & 63] + B64[(n >>> 6) & 63];
  }
  return out;
}

/**
 * Strict base64url decoding: only the 64 letters, no padding, no length of 1 mod 4, and zero trailing bits
 * (so every byte string has exactly one spelling). Returns a message on error.
 */
export function decodeBase64Url(text: string): Uint8Array | string {
  if (text.length % 4 === 1) return `length ${text.length} is not a valid base64url length`;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) return `character ${i + 1} (${JSON.stringify(text[i])}) is not a base64url letter (A-Z a-z 0-9 - _)`;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0)
    return 'the last base64url letter has stray low bits (the text was altered)';
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Little-endian views.

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The little-endian bytes of a float32 array (a copy). */
export function float32ToBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST)
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** float32 values from little-endian bytes (a copy; `bytes.length` must be a multiple of 4). */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 2;
  if (LITTLE_ENDIAN_HOST) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 4));
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// float16 and bfloat16 byte views.

/** Float32 values of little-endian F16 or BF16 bytes. */
export function halfBytesToFloat32(bytes: Uint8Array, kind: 'F16' | 'BF16'): Float32Array {
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  if (kind === 'F16') for (let i = 0; i < n; i++) out[i] = f16BitsToF32(bytes[2 * i] | (bytes[2 * i + 1] << 8));
  else for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(bytes[2 * i] | (bytes[2 * i + 1] << 8));
  return out;
}

/** Little-endian F16 or BF16 bytes of float32 values. */
export function float32ToHalfBytes(values: Float32Array, kind: 'F16' | 'BF16'): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const convert = kind === 'F16' ? f32ToF16Bits : f32ToBf16Bits;
  for (let i = 0; i < values.length; i++) {
    const h = convert(values[i]);
    out[2 * i] = h & 0xff;
    out[2 * i + 1] = h >>> 8;
  }
  return out;
}

/** Reads an unsigned little-endian integer of 1..6 bytes (exact in a double). */
export function readUintLE(bytes: Uint8Array, offset: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[offset + i];
  return v;
}

export function writeUintLE(bytes: Uint8Array, offset: number, size: number, value: number): void {
  let v = value;
  for (let i = 0; i < size; i++) {
    bytes[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
}
