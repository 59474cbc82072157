/**
 * Raw DEFLATE (RFC 1951) through fflate, with the output bounded: the stream is fed in small chunks and
 * stopped as soon as it produces more than the caller allows, so a "deflate bomb" costs at most `maxBytes`
 * of memory and proportional time.
 */
import { deflateSync, Inflate } from 'fflate';
import { describeError } from '../util/errors';
import { concatBytes } from '../util/concat-bytes';

export function deflateRaw(data: Uint8Array, level: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 = 9): Uint8Array {
  return deflateSync(data, { level });
}

const CHUNK = 16 * 1024;

/**
 * Inflates `data`; returns a message (string) when the stream is malformed, ends early, or would produce more
 * than `maxBytes` bytes.
 */
export function inflateRawCapped(data: Uint8Array, maxBytes: number): Uint8Array | string {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > maxBytes) {
      over = true;
      throw new RangeError('over');
    }
    chunks.push(chunk);
  });
  try {
    if (data.length === 0) inflater.push(data, true);
    for (let at = 0; at < data.length; at += CHUNK)
      inflater.push(data.subarray(at, at + CHUNK), at + CHUNK >= data.length);
  } catch (error) {
    if (over) return `decompresses to more than ${maxBytes} bytes`;
    const message = describeError(error);
    return `compressed data is corrupt (${message})`;
  }
  return concatBytes(chunks);
}

/**
 * The first `n` bytes `data` inflates to (fewer when it inflates to fewer), stopping as soon as it has them:
 * reading a header costs the header, not the entry. Returns a message when the stream is malformed before that.
 */
export function inflateRawPrefix(data: Uint8Array, n: number): Uint8Array | string {
  const out = new Uint8Array(n);
  let at = 0;
  const stop = new RangeError('enough');
  const inflater = new Inflate((chunk) => {
    const take = Math.min(chunk.length, n - at);
    out.set(chunk.subarray(0, take), at);
    at += take;
    if (at >= n) throw stop;
  });
  try {
    if (data.length === 0) inflater.push(data, true);
    for (let i = 0; i < data.length && at < n; i += CHUNK) {
      inflater.push(data.subarray(i, i + CHUNK), i + CHUNK >= data.length);
    }
  } catch (error) {
    if (error !== stop) return `compressed data is corrupt (${error instanceof Error ? error.message : String(error)})`;
  }
  return out.subarray(0, at);
}

/**
 * Inflates `data` into one buffer of exactly `size` bytes (the size the archive declares, checked by the
 * caller against its limits): no chunk list and no final copy, so an entry costs its size once. Returns a
 * message when the stream is malformed or its length is not `size`.
 */
export function inflateRawExact(data: Uint8Array, size: number): Uint8Array | string {
  const out = new Uint8Array(size);
  let at = 0;
  let over = false;
  const inflater = new Inflate((chunk) => {
    if (at + chunk.length > size) {
      over = true;
      throw new RangeError('over');
    }
    out.set(chunk, at);
    at += chunk.length;
  });
  try {
    if (data.length === 0) inflater.push(data, true);
    for (let i = 0; i < data.length; i += CHUNK) inflater.push(data.subarray(i, i + CHUNK), i + CHUNK >= data.length);
  } catch (error) {
    if (over) return `decompresses to more than the ${size} bytes its header says`;
    return `compressed data is corrupt (${error instanceof Error ? error.message : String(error)})`;
  }
  if (at !== size) return `decompresses to ${at} bytes, not the ${size} its header says`;
  return out;
}
