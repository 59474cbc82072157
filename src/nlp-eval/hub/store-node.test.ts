// The CLI's store of downloads: one file per URL under <host>/<path>, whole or absent; no key escapes the root.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDatasetDir, directoryDatasetStore, storePath } from './store-node';
import { partialKey } from './store';

describe('directoryDatasetStore', () => {
  it('keeps a file per URL, its partial bytes apart, and deletes them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'twosome-datasets-'));
    const store = directoryDatasetStore(root);
    const url =
      'https://huggingface.co/datasets/baber/piqa/resolve/refs%2Fconvert%2Fparquet/default/validation/0000.parquet';
    expect(await store.get(url)).toBeUndefined();
    await store.put(url, Uint8Array.of(1, 2, 3));
    await store.put(partialKey(url), Uint8Array.of(9));
    expect(await store.get(url)).toEqual(Uint8Array.of(1, 2, 3));
    expect(await store.get(partialKey(url))).toEqual(Uint8Array.of(9));
    const folder = join(root, 'huggingface.co/datasets/baber/piqa/resolve/refs_convert_parquet/default/validation');
    expect(readdirSync(folder).sort()).toEqual(['0000.parquet', '0000.parquet_twosome-partial']);
    await store.delete(partialKey(url));
    expect(await store.get(partialKey(url))).toBeUndefined();
    expect(await store.get(url)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('no key leaves the root: dot segments resolve as in the URL, encoded separators become plain names', () => {
    expect(storePath('/r', 'http://h:8080/a/%2E%2E/b%2Fc/..%5Cd')).toBe(join('/r', 'h_8080', 'b_c', '.._d'));
    expect(storePath('/r', 'http://h/%2E%2E/%2E%2E/etc')).toBe(join('/r', 'h', 'etc'));
  });

  it('the default folder follows TWOSOME_CACHE_DIR, then XDG_CACHE_HOME', () => {
    expect(defaultDatasetDir({ TWOSOME_CACHE_DIR: '/c' })).toBe(join('/c', 'nlp-eval'));
    expect(defaultDatasetDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'twosome', 'nlp-eval'));
  });
});
