/**
 * `twosome make-model`: writes a random-initialized Llama model in MLC's layout (mlc-chat-config.json,
 * tensor-cache.json, params_shard_<i>.bin, tokenizer.json) to --out. Same flags, same bytes. The shipped
 * micro model (public/models/micro/) is made with it; its README has the exact command.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isQuantizationId } from '../llm/model/config';
import {
  checkMakeModelOptions,
  DEFAULT_MAKE_MODEL_OPTIONS,
  MAKE_MODEL_QUANTIZATIONS,
  makeModelStream,
  type MakeModelOptions,
} from '../llm/model/make-model';
import { TokenizerError } from '../llm/model/tokenizer';
import { tokenizerSpecials, type TokenizerSpecials } from '../llm/model/tokenizer-special';
import { parseFlags, parseIntFlag, parseNumberFlag } from './args';
import { UsageError } from './errors';

const D = DEFAULT_MAKE_MODEL_OPTIONS;
export const MAKE_MODEL_USAGE =
  `twosome make-model --out DIR [--hidden N (${D.hidden})] [--layers N (${D.layers})] [--heads N (${D.heads})] [--kv-heads N (${D.kvHeads})] ` +
  `[--intermediate N (${D.intermediate})] [--quant ${MAKE_MODEL_QUANTIZATIONS.join('|')} (${D.quantization})] [--tie-embeddings true|false (${D.tieEmbeddings})] ` +
  `[--rope-scaling none|llama3 (${D.ropeScaling})] [--seed S (${D.seed})] [--max-shard-mib M (32)] [--vocab N (0: the tokenizer's)] [--init normal|fast (${D.init})] [--tokenizer FILE (a tokenizer.json; default: the built micro one)]`;

function parseBoolean(value: string | undefined, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--${name}: "${value}" must be true or false`);
}

export async function makeModelCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      out: { type: 'string', arg: 'DIR', help: 'where to write the model (required)' },
      hidden: { type: 'string', arg: 'N', help: `hidden size (default ${D.hidden})` },
      layers: { type: 'string', arg: 'N', help: `layers (default ${D.layers})` },
      heads: { type: 'string', arg: 'N', help: `attention heads (default ${D.heads})` },
      'kv-heads': { type: 'string', arg: 'N', help: `key/value heads (default ${D.kvHeads})` },
      intermediate: { type: 'string', arg: 'N', help: `MLP width (default ${D.intermediate})` },
      quant: {
        type: 'string',
        arg: MAKE_MODEL_QUANTIZATIONS.join('|'),
        help: `quantization (default ${D.quantization})`,
      },
      'tie-embeddings': {
        type: 'string',
        arg: 'true|false',
        help: `share the embedding and lm_head (default ${D.tieEmbeddings})`,
      },
      'rope-scaling': { type: 'string', arg: 'none|llama3', help: `RoPE frequency scaling (default ${D.ropeScaling})` },
      seed: { type: 'string', arg: 'S', help: `seed of the weights (default ${D.seed})` },
      'max-shard-mib': { type: 'string', arg: 'M', help: 'largest weight shard in MiB (default 32)' },
      vocab: { type: 'string', arg: 'N', help: "pad the vocabulary to N tokens (default 0: the tokenizer's)" },
      init: {
        type: 'string',
        arg: 'normal|fast',
        help: `weight initialization; fast draws a 7B model in seconds (default ${D.init})`,
      },
      tokenizer: {
        type: 'string',
        arg: 'FILE',
        help: 'a real tokenizer.json to ship: the vocabulary size, BOS and EOS come from it',
      },
    },
    MAKE_MODEL_USAGE,
  );
  if (!values.out) throw new UsageError(`--out DIR is required\nusage: ${MAKE_MODEL_USAGE}`);
  const quant = values.quant ?? D.quantization;
  if (!isQuantizationId(quant) || !MAKE_MODEL_QUANTIZATIONS.includes(quant)) {
    throw new UsageError(`--quant: "${quant}" is not supported; use one of ${MAKE_MODEL_QUANTIZATIONS.join(', ')}`);
  }
  const rope = values['rope-scaling'] ?? D.ropeScaling;
  if (rope !== 'none' && rope !== 'llama3') throw new UsageError(`--rope-scaling: "${rope}" must be none or llama3`);
  const init = values.init ?? D.init;
  if (init !== 'normal' && init !== 'fast') throw new UsageError(`--init: "${init}" must be normal or fast`);
  const options: MakeModelOptions = {
    ...D,
    hidden: parseIntFlag(values.hidden, 'hidden', D.hidden, 1),
    layers: parseIntFlag(values.layers, 'layers', D.layers, 1),
    heads: parseIntFlag(values.heads, 'heads', D.heads, 1),
    kvHeads: parseIntFlag(values['kv-heads'], 'kv-heads', D.kvHeads, 1),
    intermediate: parseIntFlag(values.intermediate, 'intermediate', D.intermediate, 1),
    quantization: quant,
    tieEmbeddings: parseBoolean(values['tie-embeddings'], 'tie-embeddings', D.tieEmbeddings),
    ropeScaling: rope,
    seed: parseIntFlag(values.seed, 'seed', D.seed, 0),
    maxShardBytes: Math.max(
      1,
      Math.round(parseNumberFlag(values['max-shard-mib'], 'max-shard-mib', D.maxShardBytes / 1048576, 1e-6) * 1048576),
    ),
    vocab: parseIntFlag(values.vocab, 'vocab', D.vocab, 0),
    init,
  };
  let tokenizerJson: string | undefined;
  if (values.tokenizer !== undefined) {
    try {
      tokenizerJson = await readFile(values.tokenizer, 'utf8');
    } catch (error) {
      throw new UsageError(
        `--tokenizer ${values.tokenizer}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the path of a Hugging Face tokenizer.json`,
      );
    }
  }
  let specials: TokenizerSpecials | undefined;
  try {
    specials =
      tokenizerJson === undefined ? undefined : tokenizerSpecials(tokenizerJson, `--tokenizer ${values.tokenizer}`);
  } catch (error) {
    if (error instanceof TokenizerError) throw new UsageError(error.message);
    throw error;
  }
  const problems = checkMakeModelOptions(options, specials?.vocabSize);
  if (problems.length > 0) throw new UsageError(problems.join('; '));

  // Streamed: each shard is written as soon as it is made, so a 7B model never sits whole in memory.
  const model = makeModelStream(options, tokenizerJson);
  const dir = resolve(values.out);
  const write = async (name: string, bytes: Uint8Array) => {
    try {
      await writeFile(join(dir, name), bytes);
    } catch (error) {
      throw new UsageError(
        `cannot write to --out ${values.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      );
    }
  };
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(
      `cannot write to --out ${values.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let total = 0;
  let fileCount = 0;
  for (const file of model.files) {
    await write(file.name, file.bytes);
    total += file.bytes.length;
    fileCount++;
  }
  const c = model.config;
  process.stdout.write(
    `wrote ${dir}: Llama ${c.layers} layers, hidden ${c.hidden}, heads ${c.heads}/${c.kvHeads} kv, intermediate ${c.intermediate}, vocab ${c.vocabSize} (BOS ${c.bosTokenId}, EOS ${c.eosTokenIds.join('/')}), ` +
      `${c.quantization}, ${c.tieEmbeddings ? 'tied' : 'untied'} embeddings, rope ${c.ropeScaling ? 'llama3' : 'plain'}; ` +
      `${model.paramCount} parameters, ${fileCount} files, ${total} bytes\n`,
  );
  return 0;
}
