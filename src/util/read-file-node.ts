/**
 * Node-only: reading a file the user pointed at without trusting it. The size is checked (stat) before a byte
 * is read, and anything but a regular file is refused: a FIFO would block the read forever, a device such as
 * /dev/zero never ends, a directory gives EISDIR. The file is opened non-blocking, so a FIFO swapped in after
 * the check cannot hang the open either, and checked again on the open descriptor. Errors are one line that
 * names the file: `FileReadError` (the CLI reports it as a user error, exit code 2).
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

export class FileReadError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
    /** The errno code where the system refused (ENOENT, EACCES, ...). */
    readonly code?: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'FileReadError';
  }
}

export interface BoundedReadOptions {
  /** The most bytes the file may hold. */
  maxBytes: number;
  /** What the file is, for the messages ("adapter_config.json", "a weight shard"). */
  what: string;
  /** A missing file gives undefined instead of an error. */
  missingOk?: boolean;
}

const ERRNO_HINTS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
  EIO: 'input/output error',
};

function errnoError(path: string, error: unknown): FileReadError {
  const code = (error as NodeJS.ErrnoException).code;
  if (!code) return new FileReadError(path, `cannot be read (${(error as Error).message})`);
  return new FileReadError(path, `cannot be read (${code}${ERRNO_HINTS[code] ? `: ${ERRNO_HINTS[code]}` : ''})`, code);
}

/** The kind of a non-regular file, for the message. */
function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Throws unless `st` is a regular file of at most maxBytes. */
export function checkRegularFile(path: string, st: Stats, options: Pick<BoundedReadOptions, 'maxBytes' | 'what'>) {
  if (!st.isFile()) {
    throw new FileReadError(path, `is ${kindOf(st)}, not a regular file; give the file itself (${options.what})`);
  }
  if (st.size > options.maxBytes) {
    const detail = `${st.size} bytes, over the limit of ${options.maxBytes} for ${options.what}; is it the right file?`;
    throw new FileReadError(path, detail);
  }
}

/**
 * The checks before a read opens the file: it exists (false where it is missing and `missingOk`), and it is a
 * regular file within the size limit (a FileReadError otherwise).
 */
function statToRead(path: string, options: BoundedReadOptions): boolean {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (error) {
    if (options.missingOk && (error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw errnoError(path, error);
  }
  checkRegularFile(path, st, options);
  return true;
}

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** The file's bytes, after the checks above; undefined when it is missing and `missingOk`. */
export function readFileBoundedSync(
  path: string,
  options: BoundedReadOptions & { missingOk: true },
): Uint8Array | undefined;
export function readFileBoundedSync(path: string, options: BoundedReadOptions): Uint8Array;
export function readFileBoundedSync(path: string, options: BoundedReadOptions): Uint8Array | undefined {
  if (!statToRead(path, options)) return undefined;
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw errnoError(path, error);
  }
  try {
    const now = fstatSync(fd);
    checkRegularFile(path, now, options);
    const size = now.size;
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, out, at, size - at, at);
      if (n <= 0) break;
      at += n;
    }
    // One byte more would mean the file grew since the stat: what was read is not the whole file.
    if (at !== size || readSync(fd, new Uint8Array(1), 0, 1, size) !== 0) {
      throw new FileReadError(path, 'changed while being read; try again');
    }
    return out;
  } catch (error) {
    throw error instanceof FileReadError ? error : errnoError(path, error);
  } finally {
    closeSync(fd);
  }
}

/** The asynchronous twin of readFileBoundedSync. */
export async function readFileBounded(
  path: string,
  options: BoundedReadOptions & { missingOk: true },
): Promise<Uint8Array | undefined>;
export async function readFileBounded(path: string, options: BoundedReadOptions): Promise<Uint8Array>;
export async function readFileBounded(path: string, options: BoundedReadOptions): Promise<Uint8Array | undefined> {
  if (!statToRead(path, options)) return undefined;
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw errnoError(path, error);
  }
  try {
    const now = await handle.stat();
    checkRegularFile(path, now, options);
    const out = new Uint8Array(now.size);
    let at = 0;
    while (at < out.length) {
      const { bytesRead } = await handle.read(out, at, out.length - at, at);
      if (bytesRead <= 0) break;
      at += bytesRead;
    }
    if (at !== out.length || (await handle.read(new Uint8Array(1), 0, 1, out.length)).bytesRead !== 0) {
      throw new FileReadError(path, 'changed while being read; try again');
    }
    return out;
  } catch (error) {
    throw error instanceof FileReadError ? error : errnoError(path, error);
  } finally {
    await handle.close();
  }
}
