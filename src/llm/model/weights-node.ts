/**
 * Node-only: an MLC model directory as a ModelSource, and the one-call loaders the CLI and tests use
 * (weights, and weights + tokenizer).
 */
import { join, resolve, sep } from 'node:path';
import { isContainedModelPath } from '../../util/model-path';
import { FileReadError, readFileBounded } from '../../util/read-file-node';
import { ModelFormatError } from './errors';
import { LlmTokenizer } from './tokenizer';
import {
  loadLlamaModel,
  outsideModelError,
  type LoadedModel,
  type LoadOptions,
  type ModelSource,
  type ReadLimit,
} from './weights';

/** Reads beyond any caller's limit are still capped (the largest shard a real model has is ~2 GB). */
const UNLIMITED: ReadLimit = { maxBytes: 2 ** 31 - 1, what: 'a model file' };

/**
 * An MLC model directory. Only regular files inside it are read (FIFOs, devices and directories are refused;
 * a name that resolves outside it is refused), each after its size is checked against the read's limit.
 */
export function directorySource(dir: string): ModelSource {
  const root = resolve(dir);
  const source: ModelSource = {
    describe: (file) => join(root, file),
    read: async (file, limit = UNLIMITED) => {
      const path = resolve(root, file);
      if (!isContainedModelPath(file) || !path.startsWith(root + sep)) throw outsideModelError(source, file);
      try {
        return await readFileBounded(path, { maxBytes: limit.maxBytes, what: limit.what, missingOk: true });
      } catch (error) {
        if (!(error instanceof FileReadError)) throw error;
        if (error.code === 'ENOTDIR') throw new ModelFormatError(root, 'is not a directory');
        throw new ModelFormatError(path, error.detail);
      }
    },
  };
  return source;
}

/** Loads and checks an MLC Llama model directory into dequantized float32 weights. */
export function loadLlamaModelFromDir(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  return loadLlamaModel(directorySource(dir), options);
}

/** Weights and the tokenizer of a model directory (which must have a tokenizer.json). */
export async function loadLlamaModelAndTokenizer(
  dir: string,
  options: LoadOptions = {},
): Promise<LoadedModel & { tokenizer: LlmTokenizer }> {
  const model = await loadLlamaModelFromDir(dir, options);
  if (!model.tokenizerJson)
    throw new ModelFormatError(join(resolve(dir), 'tokenizer.json'), 'missing: the model needs an HF tokenizer.json');
  const tokenizer = await LlmTokenizer.fromJSON(model.tokenizerJson, {
    bosId: model.config.bosTokenId,
    file: join(resolve(dir), 'tokenizer.json'),
  });
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new ModelFormatError(
      join(resolve(dir), 'tokenizer.json'),
      `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.config.vocabSize}`,
    );
  }
  return { ...model, tokenizer };
}
