/**
 * Reads a Parquet file's rows with hyparquet (a pure-JavaScript reader without dependencies, maintained by
 * Hyperparam, whose dataset viewer reads the hub's Parquet with it; it assembles nested structs and lists, which
 * ARC's and OpenBookQA's `choices` are, and hyparquet-compressors adds the codecs beyond its own Snappy). Both
 * are loaded on first use, so neither is in the page's main chunk.
 */
import { BenchDataError } from '../errors';
import type { HubRow } from './rows';

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1", at both ends of every Parquet file

function hasMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const end = bytes.length - 4;
  return MAGIC.every((b, i) => bytes[i] === b && bytes[end + i] === b);
}

/** Every row of the file as an object; a file that is not Parquet, or is damaged, is a BenchDataError. */
export async function readParquetRows(bytes: Uint8Array, file: string): Promise<HubRow[]> {
  if (!hasMagic(bytes)) {
    const detail = `not a Parquet file (${bytes.length} bytes, no "PAR1" at both ends); was the download cut short?`;
    throw new BenchDataError(file, null, null, detail);
  }
  const [{ parquetReadObjects }, { compressors }] = await Promise.all([
    import('hyparquet'),
    import('hyparquet-compressors'),
  ]);
  // hyparquet reads from an ArrayBuffer: the file's own bytes, not the whole buffer a view may sit in.
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return await parquetReadObjects({ file: buffer, compressors });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new BenchDataError(file, null, null, `unreadable Parquet (${message}); delete it from the cache and retry`);
  }
}
