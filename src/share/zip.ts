/**
 * A small, strict zip reader and writer for twosome bundles (PKWARE APPNOTE 6.3: local file headers, central
 * directory, end-of-central-directory record; methods 0 "stored" and 8 "deflated"; no zip64, no encryption,
 * no multi-disk). The writer's archives open in any unzip tool; the reader accepts what the writer writes and
 * ordinary zip tools' output for the same files, and rejects everything else before decompressing anything:
 *
 * - exactly one end record, at the end (its comment reaching the file's end); no zip64, one disk;
 * - the central directory exactly between its declared offset and the end record, entries well formed;
 * - flat names of [A-Za-z0-9._-] only (no paths, so no "../"), each once;
 * - each local header matching its central entry, data ranges inside the file and not overlapping;
 * - declared sizes within the caller's caps; output stopped at the declared size; CRC-32 checked.
 */
import { crc32, decodeUtf8, encodeUtf8, readUintLE, writeUintLE } from './bytes';
import { deflateRaw, inflateRawExact, inflateRawPrefix } from './deflate';
import { AdapterFormatError, quote } from './errors';

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Deflate the entry (stored anyway when that is not smaller). Default true. */
  compress?: boolean;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
/** 1980-01-01 00:00 in MS-DOS format: fixed, so the same bundle gives the same bytes. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const FLAG_UTF8 = 0x0800;
export const ZIP_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** A record's fixed part: its fields in order, each a little-endian unsigned integer of 2 or 4 bytes. */
type RecordLayout = Readonly<Record<string, 2 | 4>>;
type RecordFields<L extends RecordLayout> = Record<keyof L, number>;

// The fields a local header and a central directory record share, in the same order (APPNOTE 4.3.7, 4.3.12):
// version needed, flags, method, time, date, CRC-32, compressed and uncompressed size, name and extra lengths.
const ENTRY = {
  version: 2,
  flags: 2,
  method: 2,
  time: 2,
  date: 2,
  crc: 4,
  compressedSize: 4,
  size: 4,
  nameLen: 2,
  extraLen: 2,
} as const;
/** A local file header: 30 bytes, then the name and the extra field. */
const LOCAL = { signature: 4, ...ENTRY } as const;
/** A central directory record: 46 bytes, then the name, the extra field and the comment. */
const CENTRAL = {
  signature: 4,
  madeBy: 2,
  ...ENTRY,
  commentLen: 2,
  diskStart: 2,
  internalAttributes: 2,
  externalAttributes: 4,
  localOffset: 4,
} as const;
/** The end of central directory record (APPNOTE 4.3.16): 22 bytes, then the archive's comment. */
const END = { signature: 4, disk: 2, cdDisk: 2, onDisk: 2, count: 2, cdSize: 4, cdOffset: 4, commentLen: 2 } as const;

function readRecord<L extends RecordLayout>(bytes: Uint8Array, at: number, layout: L): RecordFields<L> {
  const fields = {} as RecordFields<L>;
  for (const name of Object.keys(layout) as (keyof L & string)[]) {
    fields[name] = readUintLE(bytes, at, layout[name]);
    at += layout[name];
  }
  return fields;
}

function writeRecord<L extends RecordLayout>(out: Uint8Array, at: number, layout: L, fields: RecordFields<L>): void {
  for (const name of Object.keys(layout) as (keyof L & string)[]) {
    writeUintLE(out, at, layout[name], fields[name]);
    at += layout[name];
  }
}

export function writeZip(entries: readonly ZipInput[]): Uint8Array {
  const seen = new Set<string>();
  const prepared = entries.map((e) => {
    if (!ZIP_NAME.test(e.name) || e.name === '.' || e.name === '..')
      throw new RangeError(`zip: bad entry name ${quote(e.name)}`);
    if (seen.has(e.name)) throw new RangeError(`zip: entry ${quote(e.name)} given twice`);
    seen.add(e.name);
    if (e.data.length >= 0xffffffff) throw new RangeError(`zip: entry ${e.name} is too large (no zip64)`);
    const deflated = e.compress === false ? undefined : deflateRaw(e.data, 6);
    const useDeflate = deflated !== undefined && deflated.length < e.data.length;
    return {
      name: encodeUtf8(e.name),
      method: useDeflate ? 8 : 0,
      body: useDeflate ? deflated! : e.data,
      size: e.data.length,
      crc: crc32(e.data),
    };
  });
  const localSize = prepared.reduce((s, p) => s + 30 + p.name.length + p.body.length, 0);
  const centralSize = prepared.reduce((s, p) => s + 46 + p.name.length, 0);
  if (localSize + centralSize + 22 >= 0xffffffff || prepared.length > 0xffff)
    throw new RangeError('zip: archive too large (no zip64)');
  const out = new Uint8Array(localSize + centralSize + 22);
  const entryFields = (p: (typeof prepared)[number]): RecordFields<typeof ENTRY> => ({
    version: 20,
    flags: FLAG_UTF8,
    method: p.method,
    time: DOS_TIME,
    date: DOS_DATE,
    crc: p.crc,
    compressedSize: p.body.length,
    size: p.size,
    nameLen: p.name.length,
    extraLen: 0,
  });
  let at = 0;
  const offsets: number[] = [];
  for (const p of prepared) {
    offsets.push(at);
    writeRecord(out, at, LOCAL, { signature: SIG_LOCAL, ...entryFields(p) });
    out.set(p.name, at + 30);
    out.set(p.body, at + 30 + p.name.length);
    at += 30 + p.name.length + p.body.length;
  }
  const centralStart = at;
  prepared.forEach((p, i) => {
    writeRecord(out, at, CENTRAL, {
      signature: SIG_CENTRAL,
      madeBy: 20,
      ...entryFields(p),
      commentLen: 0,
      diskStart: 0,
      internalAttributes: 0,
      externalAttributes: 0,
      localOffset: offsets[i],
    });
    out.set(p.name, at + 46);
    at += 46 + p.name.length;
  });
  writeRecord(out, at, END, {
    signature: SIG_END,
    disk: 0,
    cdDisk: 0,
    onDisk: prepared.length,
    count: prepared.length,
    cdSize: at - centralStart,
    cdOffset: centralStart,
    commentLen: 0,
  });
  return out;
}

export interface ZipReadLimits {
  maxEntries: number;
  /** Largest uncompressed size allowed for an entry of this name (0 or less: the entry is not allowed). */
  maxEntryBytes: (name: string) => number;
  /** Largest sum of uncompressed sizes. */
  maxTotalBytes: number;
}

interface CentralEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** A validated archive whose entries are inflated one at a time, on request (openZip). */
export interface ZipArchive {
  /** Each entry's declared (uncompressed) size, by name, in archive order. */
  readonly sizes: ReadonlyMap<string, number>;
  /** The entry's bytes: inflated to exactly its declared size, CRC-32 checked. */
  read(name: string): Uint8Array;
  /** The entry's first `n` bytes (fewer when it is shorter), inflating no more than that; not CRC-checked. */
  readPrefix(name: string, n: number): Uint8Array;
}

/** Reads every entry of a zip archive, validated as described above. `file` names it in errors. */
export function readZip(bytes: Uint8Array, file: string, limits: ZipReadLimits): Map<string, Uint8Array> {
  const archive = openZip(bytes, file, limits);
  return new Map([...archive.sizes.keys()].map((name) => [name, archive.read(name)]));
}

/**
 * Validates an archive's structure and declared sizes (everything above but the data itself) without
 * inflating anything: a caller checks what it can (a manifest, which entries it needs, their sizes) before it
 * pays for the large entries.
 */
export function openZip(bytes: Uint8Array, file: string, limits: ZipReadLimits): ZipArchive {
  const fail = (detail: string): never => {
    throw new AdapterFormatError(file, detail);
  };
  const u16 = (at: number) => readUintLE(bytes, at, 2);
  const u32 = (at: number) => readUintLE(bytes, at, 4);
  const len = bytes.length;
  if (len < 22) fail(`only ${len} bytes: too short for a zip archive; the bundle is truncated or is not a bundle`);

  // End of central directory: the last record whose comment reaches exactly the end of the file.
  let end = -1;
  for (let at = len - 22; at >= Math.max(0, len - 22 - 0xffff); at--) {
    if (u32(at) === SIG_END && at + 22 + u16(at + 20) === len) {
      end = at;
      break;
    }
  }
  if (end < 0)
    return fail(
      'not a zip archive (no end-of-central-directory record at its end): the bundle is truncated or is not a bundle',
    );
  const { disk, cdDisk, onDisk, count, cdSize, cdOffset } = readRecord(bytes, end, END);
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count) fail('multi-disk zip archives are not supported');
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)
    fail('zip64 archives are not supported (a bundle is far smaller than 4 GiB)');
  if (count > limits.maxEntries) fail(`${count} entries in the archive (a bundle has at most ${limits.maxEntries})`);
  if (cdOffset + cdSize !== end)
    fail(
      `the central directory (offset ${cdOffset}, ${cdSize} bytes) does not end where the end record begins (${end}): the archive is corrupt`,
    );

  const entries: CentralEntry[] = [];
  const names = new Set<string>();
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > end) fail(`central directory entry ${i + 1} runs past the directory: the archive is corrupt`);
    const central = readRecord(bytes, at, CENTRAL);
    if (central.signature !== SIG_CENTRAL) {
      fail(`central directory entry ${i + 1} has a bad signature: the archive is corrupt`);
    }
    const { flags, method, crc, compressedSize, size, nameLen, extraLen, commentLen, diskStart, localOffset } = central;
    const next = at + 46 + nameLen + extraLen + commentLen;
    if (next > end) fail(`central directory entry ${i + 1} runs past the directory: the archive is corrupt`);
    const nameBytes = bytes.subarray(at + 46, at + 46 + nameLen);
    const name = decodeUtf8(nameBytes);
    if (name === undefined || !ZIP_NAME.test(name) || name === '.' || name === '..') {
      fail(
        `entry ${i + 1} has an unacceptable name ${quote(name ?? '(not UTF-8)')}: a bundle holds only flat file names`,
      );
    }
    if (names.has(name!)) fail(`entry ${quote(name)} appears twice`);
    names.add(name!);
    if (flags & 0x0041) fail(`entry ${quote(name)} is encrypted; bundles are never encrypted`);
    if (method !== 0 && method !== 8)
      fail(`entry ${quote(name)} uses compression method ${method}; only stored (0) and deflated (8) are supported`);
    if (compressedSize === 0xffffffff || size === 0xffffffff)
      fail(`entry ${quote(name)} needs zip64, which is not supported`);
    if (diskStart !== 0) fail(`entry ${quote(name)} is on another disk`);
    const allowed = limits.maxEntryBytes(name!);
    if (allowed <= 0) fail(`unexpected file ${quote(name)} in the bundle`);
    if (size > allowed) fail(`entry ${quote(name)} declares ${size} bytes, over the limit of ${allowed} for it`);
    if (method === 0 && compressedSize !== size)
      fail(`stored entry ${quote(name)} has different compressed (${compressedSize}) and uncompressed (${size}) sizes`);
    entries.push({ name: name!, method, flags, crc, compressedSize, size, localOffset });
    at = next;
  }
  if (at !== end) fail('the central directory has bytes after its last entry: the archive is corrupt');
  const total = entries.reduce((s, e) => s + e.size, 0);
  if (total > limits.maxTotalBytes) fail(`entries total ${total} bytes, over the limit of ${limits.maxTotalBytes}`);

  // Local headers: consistent, inside [0, cdOffset), not overlapping.
  const ranges: { start: number; dataStart: number; dataEnd: number; entry: CentralEntry }[] = [];
  for (const e of entries) {
    const h = e.localOffset;
    if (h + 30 > cdOffset) fail(`entry ${quote(e.name)}: its local header lies outside the archive's data area`);
    const local = readRecord(bytes, h, LOCAL);
    if (local.signature !== SIG_LOCAL) fail(`entry ${quote(e.name)}: bad local header signature at ${h}`);
    const { method, nameLen, extraLen } = local;
    if (method !== e.method)
      fail(`entry ${quote(e.name)}: local header says method ${method}, central directory ${e.method}`);
    const localName = bytes.subarray(h + 30, h + 30 + nameLen);
    if (h + 30 + nameLen > cdOffset || decodeUtf8(localName) !== e.name)
      fail(`entry ${quote(e.name)}: the local header names another file`);
    if (!(e.flags & 0x0008)) {
      if (local.crc !== e.crc || local.compressedSize !== e.compressedSize || local.size !== e.size)
        fail(`entry ${quote(e.name)}: local header and central directory disagree on its size or checksum`);
    }
    const dataStart = h + 30 + nameLen + extraLen;
    const dataEnd = dataStart + e.compressedSize;
    if (dataEnd > cdOffset)
      fail(
        `entry ${quote(e.name)}: its data (${e.compressedSize} bytes at ${dataStart}) runs past the data area: the archive is truncated or corrupt`,
      );
    ranges.push({ start: h, dataStart, dataEnd, entry: e });
  }
  ranges.sort((x, y) => x.start - y.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].start < ranges[i - 1].dataEnd)
      fail(
        `entries ${quote(ranges[i - 1].entry.name)} and ${quote(ranges[i].entry.name)} overlap: the archive is corrupt`,
      );
  }

  const byName = new Map(ranges.map((r) => [r.entry.name, r]));
  const rangeOf = (name: string) => {
    const r = byName.get(name);
    if (!r) throw new RangeError(`zip: no entry ${quote(name)}`);
    return r;
  };
  return {
    sizes: new Map(entries.map((e) => [e.name, e.size])),
    read(name) {
      const r = rangeOf(name);
      const e = r.entry;
      const raw = bytes.subarray(r.dataStart, r.dataEnd);
      let data: Uint8Array;
      if (e.method === 0) data = raw.slice();
      else {
        const inflated = inflateRawExact(raw, e.size);
        if (typeof inflated === 'string') return fail(`entry ${quote(e.name)}: ${inflated}`);
        data = inflated;
      }
      if (crc32(data) !== e.crc) {
        fail(`entry ${quote(e.name)} fails its CRC-32 check: the archive is corrupt; re-download it`);
      }
      return data;
    },
    readPrefix(name, n) {
      const r = rangeOf(name);
      const raw = bytes.subarray(r.dataStart, r.dataEnd);
      if (r.entry.method === 0) return raw.slice(0, n);
      const prefix = inflateRawPrefix(raw, Math.min(n, r.entry.size));
      return typeof prefix === 'string' ? fail(`entry ${quote(name)}: ${prefix}`) : prefix;
    },
  };
}
