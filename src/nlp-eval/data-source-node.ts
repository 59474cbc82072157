/** A benchmark data directory on disk (Node only: the CLI's --data DIR and the tests). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchDataSource } from './data-source';

export function directoryDataSource(root: string): BenchDataSource {
  const full = (path: string) => join(root, ...path.split('/'));
  return {
    describe: full,
    read: async (path) => {
      const file = full(path);
      return existsSync(file) && statSync(file).isFile() ? new Uint8Array(readFileSync(file)) : null;
    },
    list: async (dir) => {
      const folder = full(dir);
      if (!existsSync(folder) || !statSync(folder).isDirectory()) return [];
      return readdirSync(folder, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name)
        .sort();
    },
  };
}
