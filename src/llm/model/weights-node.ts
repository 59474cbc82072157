/**
 * Node-only: an MLC model directory as a ModelSource, and the one-call loaders the CLI and tests use
 * (weights, and weights + tokenizer).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelFormatError } from './errors';
import { LlmTokenizer } from './tokenizer';
import { loadLlamaModel, type LoadedModel, type LoadOptions, type ModelSource } from './weights';

export function directorySource(dir: string): ModelSource {
  const root = resolve(dir);
  return {
    describe: (file) => join(root, file),
    read: async (file) => {
      try {
        return new Uint8Array(await readFile(join(root, file)));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return undefined;
        if (code === 'ENOTDIR') throw new ModelFormatError(root, 'is not a directory');
        throw new ModelFormatError(join(root, file), `cannot be read (${code ?? (error as Error).message})`);
      }
    },
  };
}

/** Loads and checks an MLC Llama model directory into dequantized float32 weights. */
export function loadLlamaModelFromDir(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  return loadLlamaModel(directorySource(dir), options);
}

/** Weights and the tokenizer of a model directory (which must have a tokenizer.json). */
export async function loadLlamaModelAndTokenizer(dir: string, options: LoadOptions = {}): Promise<LoadedModel & { tokenizer: LlmTokenizer }> {
  const model = await loadLlamaModelFromDir(dir, options);
  if (!model.tokenizerJson) throw new ModelFormatError(join(resolve(dir), 'tokenizer.json'), 'missing: the model needs an HF tokenizer.json');
  const tokenizer = await LlmTokenizer.fromJSON(model.tokenizerJson, { bosId: model.config.bosTokenId, file: join(resolve(dir), 'tokenizer.json') });
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new ModelFormatError(join(resolve(dir), 'tokenizer.json'), `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.config.vocabSize}`);
  }
  return { ...model, tokenizer };
}
