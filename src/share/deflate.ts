/**
 * Raw DEFLATE (RFC 1951) through fflate, with the output bounded: the stream is fed in small chunks and
 * stopped as soon as it produces more than the caller allows, so a "deflate bomb" costs at most `maxBytes`
 * of memory and proportional time.
 */
import { deflateSync, Inflate } from 'fflate';
import { describeError } from '../util/errors';

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
    for (let at = 0; at < data.length; at += CHUNK) inflater.push(data.subarray(at, at + CHUNK), at + CHUNK >= data.length);
  } catch (error) {
    if (over) return `decompresses to more than ${maxBytes} bytes`;
    const message = describeError(error);
    return `compressed data is corrupt (${message})`;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
