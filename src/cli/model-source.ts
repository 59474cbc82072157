/** Resolves the CLI's --model argument: "micro" (the shipped model), a directory, or an https URL. */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { urlSource } from '../llm/model/url-source';
import type { ModelSource } from '../llm/model/weights';
import { directorySource } from '../llm/model/weights-node';
import type { FlagSpec } from './args';
import { UsageError } from './errors';

export const MICRO_MODEL_DIR = fileURLToPath(new URL('../../public/models/micro/', import.meta.url));

/** The --model flag that resolveModelSource reads, as every command that loads a model by it declares it. */
export const MODEL_FLAG = {
  type: 'string',
  arg: 'DIR|URL|micro',
  help: 'an MLC model directory, an https:// model URL, or micro (default)',
} satisfies FlagSpec;

export function resolveModelSource(model: string | undefined): ModelSource {
  if (!model || model === 'micro') return directorySource(MICRO_MODEL_DIR);
  if (/^[a-z]+:\/\//i.test(model)) return urlSource(model);
  if (!existsSync(model) || !statSync(model).isDirectory()) {
    throw new UsageError(
      `--model ${model}: no such directory; give "micro", an MLC model directory, or an https:// URL`,
    );
  }
  return directorySource(model);
}
