/**
 * `--adapter DIR` of `twosome eval` and `twosome score`: a PEFT LoRA adapter directory (adapter_config.json +
 * adapter_model.safetensors, as `twosome train` writes and PEFT's save_pretrained writes), decoded and checked
 * against the model's shapes by src/share. Every problem is a UsageError naming the directory; both files are
 * read only when they are regular files within the adapter size limits (a FIFO, /dev/zero or a directory in
 * their place is refused before any read).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraAdapter } from '../llm/train/lora';
import { bindAdapter, decodePeftAdapter } from '../share';
import type { AdapterModelShape } from '../share/adapter';
import { DEFAULT_LIMITS } from '../share/limits';
import { FileReadError, readFileBoundedSync } from '../util/read-file-node';
import { UsageError } from './errors';

export interface AdapterFiles {
  dir: string;
  config: string;
  weights: Uint8Array;
}

/** Reads the two files (before any model is loaded, so a wrong path fails fast). */
export function readAdapterDir(dir: string): AdapterFiles {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new UsageError(`--adapter ${dir}: no such directory`);
  const needs =
    'needs adapter_config.json and adapter_model.safetensors (a PEFT LoRA adapter or a twosome run directory)';
  const missing = () => new UsageError(`--adapter ${dir}: ${needs}`);
  const read = (name: string, maxBytes: number, what: string) =>
    readFileBoundedSync(join(dir, name), { maxBytes, what, missingOk: true });
  try {
    const config = read('adapter_config.json', DEFAULT_LIMITS.maxConfigBytes, 'adapter_config.json');
    if (!config) throw missing();
    const weights = read('adapter_model.safetensors', DEFAULT_LIMITS.maxWeightsBytes, 'an adapter');
    if (!weights) throw missing();
    return { dir, config: new TextDecoder().decode(config), weights };
  } catch (error) {
    if (error instanceof FileReadError) throw new UsageError(`--adapter ${dir}: ${error.message}`);
    throw error;
  }
}

/** Decodes and validates the files against the model the adapter will run on. */
export function bindAdapterFiles(files: AdapterFiles, shape: AdapterModelShape, modelId: string): LoraAdapter {
  try {
    return bindAdapter(
      decodePeftAdapter({ config: files.config, weights: files.weights }).weights,
      shape,
      'adapter_model.safetensors',
      modelId,
    );
  } catch (error) {
    throw new UsageError(`--adapter ${files.dir}: ${(error as Error).message}`);
  }
}
