/**
 * A ModelSource over files the user picked in the browser: the FileList of `<input type="file"
 * webkitdirectory>` (each File has a webkitRelativePath "folder/…/name"), or a dropped folder (walked with
 * `filesFromDrop`). Files are matched by their name within the model's folder: the folder that holds
 * mlc-chat-config.json. Picking a parent folder works when it holds exactly one model; several models, no
 * model, or a model with files missing give an error that names what is missing and what to pick.
 */
import { ModelFormatError } from './errors';
import { isContainedModelPath } from '../../util/model-path';
import { outsideModelError, overLimitDetail, readModelIndex, type ModelSource } from './weights';

/** A picked file (a DOM File satisfies it). */
export interface PickedFile {
  readonly name: string;
  readonly size: number;
  /** Set by `<input webkitdirectory>`: "folder/sub/name" ("" for a plain pick). */
  readonly webkitRelativePath?: string;
  /** Set by filesFromDrop (a dropped folder's files have an empty webkitRelativePath). */
  readonly relativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface FileListSource extends ModelSource {
  /** The model's folder within the pick ("" when the files were picked without a folder). */
  readonly folder: string;
  /** Names of the files in the model's folder. */
  readonly names: string[];
  /** Size of a file without reading it (undefined when absent). */
  size(file: string): number | undefined;
}

function pathOf(file: PickedFile): string {
  return (file.relativePath || file.webkitRelativePath || file.name).replace(/^\/+/, '');
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

const REQUIRED =
  'mlc-chat-config.json, tensor-cache.json (or ndarray-cache.json), tokenizer.json and params_shard_*.bin';

/** The model in a FileList (or any list of picked files). */
export function fileListSource(files: ArrayLike<PickedFile> | Iterable<PickedFile>): FileListSource {
  const list = Array.from(files as ArrayLike<PickedFile>);
  const top = list.length > 0 ? pathOf(list[0]).split('/')[0] : '';
  const label = top && list.some((f) => pathOf(f).includes('/')) ? `picked folder "${top}"` : 'picked files';
  if (list.length === 0)
    throw new ModelFormatError(label, `nothing was picked; pick the folder of an MLC model (it holds ${REQUIRED})`);

  const configDirs = [
    ...new Set(list.filter((f) => f.name === 'mlc-chat-config.json').map((f) => dirOf(pathOf(f)))),
  ].sort();
  if (configDirs.length === 0) {
    const shown = list
      .slice(0, 5)
      .map((f) => f.name)
      .join(', ');
    throw new ModelFormatError(
      label,
      `has no mlc-chat-config.json among its ${list.length} files (${shown}${list.length > 5 ? ', …' : ''}); pick the folder of an MLC model (it holds ${REQUIRED})`,
    );
  }
  if (configDirs.length > 1) {
    throw new ModelFormatError(
      label,
      `holds ${configDirs.length} models (${configDirs.map((d) => d || '.').join(', ')}); pick one model's folder`,
    );
  }
  const folder = configDirs[0];
  const byName = new Map<string, PickedFile>();
  for (const f of list) if (dirOf(pathOf(f)) === folder) byName.set(f.name, f);
  const where = folder ? `picked folder "${folder}"` : 'picked files';

  const source: FileListSource = {
    folder,
    names: [...byName.keys()].sort(),
    describe: (file) => `${where}/${file}`,
    size: (file) => byName.get(file)?.size,
    async read(file, limit) {
      // Files are matched by name within the model's folder; a name with a path in it (from the index) would
      // mean another folder, which a model never uses.
      if (!isContainedModelPath(file) || file.includes('/')) throw outsideModelError(source, file);
      const picked = byName.get(file);
      if (!picked) return undefined;
      if (limit && picked.size > limit.maxBytes) {
        throw new ModelFormatError(`${where}/${file}`, overLimitDetail(picked.size, limit));
      }
      try {
        return new Uint8Array(await picked.arrayBuffer());
      } catch (error) {
        throw new ModelFormatError(
          `${where}/${file}`,
          `cannot be read (${(error as Error).message || String(error)}); the file may have been moved or deleted since it was picked, pick the folder again`,
        );
      }
    },
  };
  return source;
}

/**
 * Checks, without reading the shards, that the pick holds the whole model: the index and config parse, and
 * tokenizer.json and every shard are there with the sizes tensor-cache.json gives. One error lists every
 * missing or wrongly sized file.
 */
export async function checkPickedModel(source: FileListSource): Promise<void> {
  const { cache, cacheFile } = await readModelIndex(source);
  const missing: string[] = [];
  const wrongSize: string[] = [];
  if (source.size('tokenizer.json') === undefined) missing.push('tokenizer.json');
  for (const shard of cache.shards) {
    const size = source.size(shard.dataPath);
    if (size === undefined) missing.push(shard.dataPath);
    else if (size !== shard.nbytes)
      wrongSize.push(`${shard.dataPath} (${size} bytes, ${cacheFile} says ${shard.nbytes})`);
  }
  const where = source.describe('').replace(/\/$/, '');
  const problems: string[] = [];
  if (missing.length > 0)
    problems.push(
      `missing ${missing.length} file${missing.length > 1 ? 's' : ''}: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`,
    );
  if (wrongSize.length > 0)
    problems.push(`wrong size: ${wrongSize.slice(0, 4).join(', ')}${wrongSize.length > 4 ? ', …' : ''}`);
  if (problems.length > 0)
    throw new ModelFormatError(
      where,
      `${problems.join('; ')}; pick the complete model folder (an interrupted download? fetch the missing files again)`,
    );
}

// ---------------------------------------------------------------------------------------------------------
// Dropped folders: the File and Directory Entries API (webkitGetAsEntry), in minimal structural types.

interface EntryLike {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
  readonly fullPath: string;
}
interface FileEntryLike extends EntryLike {
  file(success: (file: File) => void, error?: (error: unknown) => void): void;
}
interface DirectoryEntryLike extends EntryLike {
  createReader(): { readEntries(success: (entries: EntryLike[]) => void, error?: (error: unknown) => void): void };
}

async function walk(entry: EntryLike, out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileEntryLike).file(resolve, reject));
    const relativePath = entry.fullPath.replace(/^\/+/, '') || file.name;
    out.push({ name: file.name, size: file.size, relativePath, arrayBuffer: () => file.arrayBuffer() });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as DirectoryEntryLike).createReader();
  // readEntries returns at most ~100 entries per call: call until it returns none.
  for (;;) {
    const batch = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, out);
  }
}

/** The files under entries (from DataTransferItem.webkitGetAsEntry()), with paths relative to the drop. */
export async function filesFromEntries(entries: Iterable<EntryLike | null>): Promise<PickedFile[]> {
  const out: PickedFile[] = [];
  for (const entry of entries) if (entry) await walk(entry, out);
  return out;
}

/**
 * The files of a drop (folders walked). Call it inside the drop handler before any `await`: the browser
 * empties the DataTransfer when the handler returns, so the entries are taken synchronously here.
 */
export function filesFromDrop(dataTransfer: {
  items: ArrayLike<{ kind: string; webkitGetAsEntry(): EntryLike | null }>;
}): Promise<PickedFile[]> {
  const entries = Array.from(dataTransfer.items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry());
  return filesFromEntries(entries);
}
