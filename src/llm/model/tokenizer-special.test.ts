import { describe, expect, it } from 'vitest';
import { llama2TokenizerJson, llama3TokenizerJson } from './real-tokenizers';
import { buildMicroTokenizer } from './tokenizer-build';
import { tokenizerSpecials } from './tokenizer-special';

describe('tokenizerSpecials', () => {
  it('reads BOS, EOS and the vocabulary size of the real Llama tokenizers and the micro one', () => {
    expect(tokenizerSpecials(llama3TokenizerJson())).toEqual({
      bosId: 128000,
      eosIds: [128001, 128009],
      vocabSize: 128256,
    });
    expect(tokenizerSpecials(llama2TokenizerJson())).toEqual({ bosId: 1, eosIds: [2], vocabSize: 32000 });
    expect(tokenizerSpecials(JSON.stringify(buildMicroTokenizer(['a']).json))).toMatchObject({ bosId: 1, eosIds: [2] });
  });

  it("prefers the post-processor's template over the token names", () => {
    const json = JSON.parse(llama3TokenizerJson());
    json.post_processor = {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel' },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<|x|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          special_tokens: { '<|x|>': { id: '<|x|>', ids: [128002], tokens: ['<|x|>'] } },
        },
      ],
    };
    expect(tokenizerSpecials(JSON.stringify(json)).bosId).toBe(128002);
  });

  it('says what is missing, naming the file', () => {
    expect(() => tokenizerSpecials('{', 't.json')).toThrow(/^t\.json: not valid JSON/);
    expect(() => tokenizerSpecials('{"model":{}}', 't.json')).toThrow(/^t\.json: not a Hugging Face tokenizer\.json/);
    expect(() => tokenizerSpecials('{"model":{"vocab":{"a":0}}}')).toThrow(/names no beginning-of-sequence token/);
    expect(() =>
      tokenizerSpecials('{"model":{"vocab":{"a":0}},"added_tokens":[{"id":1,"content":"<s>","special":true}]}'),
    ).toThrow(/names no end-of-sequence token/);
  });
});
