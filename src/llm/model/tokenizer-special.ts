/**
 * What a Hugging Face tokenizer.json says about its special tokens: the beginning-of-sequence id, the
 * end-of-sequence ids and the vocabulary size (base vocabulary plus added tokens), so a model made for it
 * (make-model) writes the right bos_token_id / eos_token_id. Platform-neutral.
 *
 * BOS: the special token the post-processor puts first (TemplateProcessing, as Llama-2's "<s> $A"), else the
 * added special token named <|begin_of_text|> (Llama-3, whose early tokenizer.json has a ByteLevel
 * post-processor), <s> or <bos>. EOS: every added special token named </s>, <|end_of_text|>, <|eot_id|>
 * (Llama-3 Instruct's end of turn), <eos> or <|endoftext|>, in id order.
 */
import { TokenizerError } from './tokenizer';

const BOS_NAMES = ['<|begin_of_text|>', '<s>', '<bos>'];
const EOS_NAMES = new Set(['</s>', '<|end_of_text|>', '<|eot_id|>', '<eos>', '<|endoftext|>']);

export interface TokenizerSpecials {
  bosId: number;
  eosIds: number[];
  /** Largest id of the vocabulary or the added tokens, plus one. */
  vocabSize: number;
}

interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The id TemplateProcessing puts first (its `single` template's leading SpecialToken), if any. */
function templateBos(processor: unknown): number | undefined {
  if (!isObject(processor)) return undefined;
  if (processor.type === 'Sequence' && Array.isArray(processor.processors)) {
    for (const p of processor.processors) {
      const id = templateBos(p);
      if (id !== undefined) return id;
    }
    return undefined;
  }
  if (processor.type !== 'TemplateProcessing' || !Array.isArray(processor.single)) return undefined;
  const first = processor.single[0] as { SpecialToken?: { id?: string } } | undefined;
  const name = first?.SpecialToken?.id;
  const special =
    name !== undefined && isObject(processor.special_tokens)
      ? (processor.special_tokens[name] as { ids?: unknown } | undefined)
      : undefined;
  return Array.isArray(special?.ids) && typeof special.ids[0] === 'number' ? special.ids[0] : undefined;
}

export function tokenizerSpecials(text: string, file = 'tokenizer.json'): TokenizerSpecials {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenizerError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(json) || !isObject(json.model) || !isObject(json.model.vocab))
    throw new TokenizerError(`${file}: not a Hugging Face tokenizer.json (no model.vocab)`);
  const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []).filter(
    (t): t is AddedToken => isObject(t) && typeof t.id === 'number' && typeof t.content === 'string',
  );
  let vocabSize = 0;
  for (const id of [...Object.values(json.model.vocab), ...added.map((t) => t.id)])
    if (typeof id === 'number' && id >= vocabSize) vocabSize = id + 1;
  const special = added.filter((t) => t.special !== false);
  const bosId =
    templateBos(json.post_processor) ??
    BOS_NAMES.map((name) => special.find((t) => t.content === name)?.id).find((id) => id !== undefined);
  if (bosId === undefined) {
    throw new TokenizerError(
      `${file}: names no beginning-of-sequence token (no TemplateProcessing post-processor, ` +
        `no special ${BOS_NAMES.join(', ')}); a Llama tokenizer has one`,
    );
  }
  const eosIds = special
    .filter((t) => EOS_NAMES.has(t.content))
    .map((t) => t.id)
    .sort((a, b) => a - b);
  if (eosIds.length === 0)
    throw new TokenizerError(`${file}: names no end-of-sequence token (no special ${[...EOS_NAMES].join(', ')})`);
  return { bosId, eosIds, vocabSize };
}
