/**
 * Where benchmark files come from: a directory laid out like `shared/data/nlp-eval/` (Node: data-source-node.ts),
 * files picked in the browser (`File`s, with their folder paths when a folder was picked), or bytes in memory.
 * Paths are relative to the data root and use "/" (e.g. "piqa/valid.jsonl", "mmlu/test/anatomy_test.csv").
 */

export interface BenchDataSource {
  /** The file as messages should name it (a path on disk, a picked file's name). */
  describe(path: string): string;
  /** The file's bytes, or null when there is no such file. */
  read(path: string): Promise<Uint8Array | null>;
  /** Names of the files directly in folder `dir` ("" is the root), sorted; empty when there is no such folder. */
  list(dir: string): Promise<string[]>;
}

/** Files held in memory, keyed by path (tests; or files already read). */
export function memoryDataSource(files: Record<string, Uint8Array | string>, label = 'memory'): BenchDataSource {
  const encode = (value: Uint8Array | string) => (typeof value === 'string' ? new TextEncoder().encode(value) : value);
  const bytes = new Map(Object.entries(files).map(([path, value]) => [path, encode(value)]));
  return {
    describe: (path) => `${label}:${path}`,
    read: async (path) => bytes.get(path) ?? null,
    list: async (dir) => listIn([...bytes.keys()], dir),
  };
}

/** The part of a File the source needs (the DOM `File` has it; tests pass plain objects). */
export interface PickedFile {
  name: string;
  /** Set by `<input type="file" webkitdirectory>`: "picked-folder/piqa/valid.jsonl". Empty for single files. */
  webkitRelativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Files picked in the browser. A file is found at `path` when its folder path, without the picked folder's own
 * name, is `path` (a folder laid out like the data directory was picked), or, failing that, when exactly one
 * picked file has `path`'s file name (single files picked for one benchmark, e.g. valid.jsonl and
 * valid-labels.lst). Two picked files with the same name and no folder path are ambiguous and are found at no
 * path, so the benchmark reports them missing rather than reading the wrong one.
 */
export function pickedFilesSource(files: readonly PickedFile[]): BenchDataSource {
  const relative = (f: PickedFile) => (f.webkitRelativePath ? f.webkitRelativePath.split('/').slice(1).join('/') : '');
  const folderPaths = files.map(relative).filter((p) => p !== '');
  const find = (path: string): PickedFile | null => {
    const byPath = files.find((f) => relative(f) === path);
    if (byPath) return byPath;
    const base = path.slice(path.lastIndexOf('/') + 1);
    const byName = files.filter((f) => !f.webkitRelativePath && f.name === base);
    return byName.length === 1 ? byName[0] : null;
  };
  return {
    describe: (path) => {
      const f = find(path);
      return f ? f.webkitRelativePath || f.name : path;
    },
    read: async (path) => {
      const f = find(path);
      return f ? new Uint8Array(await f.arrayBuffer()) : null;
    },
    list: async (dir) => listIn(folderPaths, dir),
  };
}

/** The names of the paths directly inside `dir`, sorted. */
function listIn(paths: readonly string[], dir: string): string[] {
  const prefix = dir === '' ? '' : `${dir.replace(/\/$/, '')}/`;
  return paths
    .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
    .map((p) => p.slice(prefix.length))
    .sort();
}
