/**
 * The CLI's store of downloaded benchmark files: a directory (default ~/.cache/twosome/nlp-eval), one file per
 * URL at <host>/<path> (the query, if any, folded into the name), written to a temporary name and renamed, so
 * a file that is there is whole. Node only.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DatasetStore } from './store';

/** $TWOSOME_CACHE_DIR, else $XDG_CACHE_HOME/twosome, else ~/.cache/twosome; the benchmarks go in nlp-eval/. */
export function defaultDatasetDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.TWOSOME_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'twosome');
  return join(root, 'nlp-eval');
}

/** The path under `root` that holds `key` (a URL); no segment escapes root. */
export function storePath(root: string, key: string): string {
  const parsed = new URL(key);
  const clean = (segment: string) => {
    const text = decodeURIComponent(segment).replace(/[^A-Za-z0-9._=-]/g, '_');
    return text === '' || text === '.' || text === '..' ? `_${text}` : text;
  };
  const segments = parsed.pathname
    .split('/')
    .filter((s) => s !== '')
    .map(clean);
  if (segments.length === 0) segments.push('_');
  const last = segments.length - 1;
  if (parsed.search) segments[last] += `_${clean(parsed.search.slice(1))}`;
  return join(root, clean(parsed.host), ...segments);
}

export function directoryDatasetStore(root: string): DatasetStore {
  return {
    get: async (key) => {
      const path = storePath(root, key);
      return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
    },
    put: async (key, bytes) => {
      const path = storePath(root, key);
      mkdirSync(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, bytes);
      renameSync(temporary, path);
    },
    delete: async (key) => {
      rmSync(storePath(root, key), { force: true });
    },
  };
}
