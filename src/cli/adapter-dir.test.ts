// `--adapter DIR` (eval, score): only regular files within the adapter limits are read; anything else is one
// line naming the file, before a byte is read (a FIFO would hang, /dev/zero never ends).
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAdapterDir } from './adapter-dir';
import { UsageError } from './errors';
import { tempDir, thrownBy } from '../util/testing';

const root = tempDir('twosome-adapter-dir-');

const someWeights = (path: string) => writeFileSync(path, new Uint8Array(16));
/** A sparse file of this size (no disk used). */
const sparse = (size: number) => (path: string) => (writeFileSync(path, ''), truncateSync(path, size));

function adapterDir(name: string, config: (path: string) => void, weights = someWeights): string {
  const dir = join(root, name);
  mkdirSync(dir);
  config(join(dir, 'adapter_config.json'));
  weights(join(dir, 'adapter_model.safetensors'));
  return dir;
}

const errorOf = (dir: string) => thrownBy(() => readAdapterDir(dir), UsageError);

describe('readAdapterDir', () => {
  it('refuses a device, a FIFO or a directory in place of adapter_config.json', () => {
    const zero = adapterDir('zero', (p) => symlinkSync('/dev/zero', p));
    expect(errorOf(zero).message).toBe(
      `--adapter ${zero}: ${join(zero, 'adapter_config.json')}: is a device, not a regular file; ` +
        'give the file itself (adapter_config.json)',
    );
    const fifo = adapterDir('fifo', (p) => execFileSync('mkfifo', [p]));
    expect(errorOf(fifo).message).toMatch(/adapter_config.json: is a FIFO \(named pipe\), not a regular file/);
    const nested = adapterDir('nested', (p) => mkdirSync(p));
    expect(errorOf(nested).message).toMatch(/adapter_config.json: is a directory, not a regular file/);
  });

  it('refuses files over the adapter limits by their size', () => {
    const bigConfig = adapterDir('big-config', sparse(1 << 20));
    expect(errorOf(bigConfig).message).toMatch(/config.json: 1048576 bytes, over the limit of 65536 for adapter_/);
    const bigWeights = adapterDir('big-weights', (p) => writeFileSync(p, '{}'), sparse(2 ** 31));
    expect(errorOf(bigWeights).message).toMatch(/safetensors: 2147483648 bytes, over the limit of 536870912 for an/);
  });

  it('names the missing file and the missing directory', () => {
    expect(errorOf(join(root, 'nope')).message).toBe(`--adapter ${join(root, 'nope')}: no such directory`);
    const half = adapterDir(
      'half',
      (p) => writeFileSync(p, '{}'),
      () => undefined,
    );
    expect(errorOf(half).message).toMatch(/needs adapter_config.json and adapter_model.safetensors/);
  });
});
