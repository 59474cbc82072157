/**
 * `--adapter DIR` of `twosome eval` and `twosome score`: a PEFT LoRA adapter directory (adapter_config.json +
 * adapter_model.safetensors, as `twosome train` writes and PEFT's save_pretrained writes), decoded and checked
 * against the model's shapes by src/share. Every problem is a UsageError naming the directory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoraAdapter } from '../llm/train/lora';
import { bindAdapter, decodePeftAdapter } from '../share';
import type { AdapterModelShape } from '../share/adapter';
import { UsageError } from './errors';

export interface AdapterFiles {
  dir: string;
  config: string;
  weights: Uint8Array;
}

/** Reads the two files (before any model is loaded, so a wrong path fails fast). */
export function readAdapterDir(dir: string): AdapterFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--adapter ${dir}: no such directory`);
  const configPath = join(dir, 'adapter_config.json');
  const weightsPath = join(dir, 'adapter_model.safetensors');
  if (!existsSync(configPath) || !existsSync(weightsPath)) throw new UsageError(`--adapter ${dir}: needs adapter_config.json and adapter_model.safetensors (a PEFT LoRA adapter or a twosome run directory)`);
  return { dir, config: readFileSync(configPath, 'utf8'), weights: new Uint8Array(readFileSync(weightsPath)) };
}

/** Decodes and validates the files against the model the adapter will run on. */
export function bindAdapterFiles(files: AdapterFiles, shape: AdapterModelShape, modelId: string): LoraAdapter {
  try {
    return bindAdapter(decodePeftAdapter({ config: files.config, weights: files.weights }).weights, shape, 'adapter_model.safetensors', modelId);
  } catch (error) {
    throw new UsageError(`--adapter ${files.dir}: ${(error as Error).message}`);
  }
}
