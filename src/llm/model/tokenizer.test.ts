import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng';
import { environmentTexts, wordsOf } from './env-corpus';
import { countWords as wordCount } from '../../util/words';
import { LlmTokenizer, TokenizerError } from './tokenizer';
import {
  BYTE_TOKEN_BASE,
  buildMicroTokenizer,
  bpeWord,
  LLAMA2_NORMALIZER,
  sentencePieceBpe,
  SUBWORD_SPLITS,
} from './tokenizer-build';

const MICRO = resolve(process.cwd(), 'public/models/micro');
const DATA = resolve(process.cwd(), '../shared/spec/data');
const requireWasDefined = 'require' in globalThis;

/** Every (prompt, actions) observation of the spec's fixtures. */
function fixtureObservations(): { prompt: string; actions: string[] }[] {
  const out: { prompt: string; actions: string[] }[] = [];
  const overcooked = JSON.parse(readFileSync(resolve(DATA, 'overcooked-optimal.json'), 'utf8'));
  for (const task of ['tomato_salad', 'tomato_lettuce_salad']) {
    const episode = overcooked[task].optimal;
    out.push({ prompt: episode.initial.prompt, actions: episode.initial.actions });
    for (const step of episode.steps) out.push({ prompt: step.prompt, actions: step.actions });
  }
  const food = JSON.parse(readFileSync(resolve(DATA, 'virtualhome-food-preparation-states.json'), 'utf8'));
  for (const state of food.states) out.push({ prompt: state.prompt, actions: state.actions });
  return out;
}

let tokenizer: LlmTokenizer;

beforeAll(async () => {
  tokenizer = await LlmTokenizer.fromJSON(readFileSync(resolve(MICRO, 'tokenizer.json')), { bosId: 1 });
});

/** Ids that mean a word was not in the vocabulary: <unk> or a byte-fallback token. */
function unknownPieces(ids: number[]): string[] {
  return ids
    .filter((id) => id === 0 || (id >= BYTE_TOKEN_BASE && id < BYTE_TOKEN_BASE + 256))
    .map((id) => tokenizer.idToToken(id));
}

describe('LlmTokenizer in Node', () => {
  it('loads the micro model tokenizer.json through web-tokenizers, leaving no Node shims behind', () => {
    expect(tokenizer.vocabSize).toBe(
      JSON.parse(readFileSync(resolve(MICRO, 'mlc-chat-config.json'), 'utf8')).vocab_size,
    );
    expect([0, 1, 2].map((id) => tokenizer.idToToken(id))).toEqual(['<unk>', '<s>', '</s>']);
    expect('require' in globalThis).toBe(requireWasDefined);
    expect('__filename' in globalThis).toBe(false);
  });

  it('encodes without BOS; encodePrompt prepends it', () => {
    const ids = tokenizer.encode('pick up the tomato');
    expect(ids.map((id) => tokenizer.idToToken(id))).toEqual(['▁pick', '▁up', '▁the', '▁tom', 'ato']);
    expect(tokenizer.encodePrompt('pick up the tomato')).toEqual([1, ...ids]);
  });

  it('encodes ANY text (byte fallback, never <unk>) and decodes it back', () => {
    for (const text of ['Hello wörld — naïve 🍅!', "don't  stop\n\tnow", '~`{}|\\', 'x']) {
      const ids = tokenizer.encode(text);
      expect(ids).not.toContain(0);
      expect(tokenizer.decode(ids)).toBe(text);
    }
  });

  it('loads a second tokenizer in the same process', async () => {
    const other = await LlmTokenizer.fromJSON(JSON.stringify(buildMicroTokenizer(['alpha', 'beta']).json));
    expect(other.encode('alpha beta').map((id) => other.idToToken(id))).toEqual(['▁alpha', '▁beta']);
    other.dispose();
  });

  it('reports unusable files before the wasm sees them (a panic there would abort the module)', async () => {
    await expect(LlmTokenizer.fromJSON('{"model":', { file: 'm/tokenizer.json' })).rejects.toThrow(
      /^m\/tokenizer\.json: not valid JSON/,
    );
    const page = '<!doctype html><html><body>404</body></html>';
    await expect(LlmTokenizer.fromJSON(page, { file: 'm/tokenizer.json' })).rejects.toThrow(
      /^m\/tokenizer\.json: is a web page \(HTML\), not JSON/,
    );
    await expect(LlmTokenizer.fromJSON('{"version":"1.0"}')).rejects.toThrow(TokenizerError);
    await expect(LlmTokenizer.fromJSON('{"model":{"type":"Magic","vocab":{}}}')).rejects.toThrow(
      /unsupported tokenizer model type "Magic"/,
    );
    await expect(
      LlmTokenizer.fromJSON(JSON.stringify(buildMicroTokenizer(['a']).json), { bosId: 5000 }),
    ).rejects.toThrow(/BOS id 5000 is outside/);
    expect(tokenizer.encode('serve the dish').length).toBe(4); // still alive
  });
});

describe('micro tokenizer vs the environments', () => {
  it('encodes every fixture prompt and action with whole-word or planned sub-word tokens (no <unk>, no bytes)', () => {
    for (const { prompt, actions } of fixtureObservations()) {
      expect(unknownPieces(tokenizer.encode(prompt)), prompt).toEqual([]);
      for (const action of actions) expect(unknownPieces(tokenizer.encode(action)), action).toEqual([]);
    }
  });

  it('covers the texts of every task in seeded random rollouts of the real environments', async (ctx) => {
    let registry: typeof import('../../envs/registry');
    try {
      registry = await import('../../envs/registry');
      registry.createEnv(registry.TASK_IDS[0]).reset(0);
    } catch {
      ctx.skip(); // the environments are not available in this checkout
      return;
    }
    const texts = new Set<string>();
    const rng = new Rng(11);
    for (const id of registry.TASK_IDS) {
      const env = registry.createEnv(id);
      for (let episode = 0; episode < 20; episode++) {
        let obs = env.reset(episode);
        for (let step = 0; step < 60 && !env.done; step++) {
          texts.add(obs.prompt);
          obs.actions.forEach((a) => texts.add(a));
          env.step(rng.int(obs.actions.length));
          obs = env.observe();
        }
      }
    }
    expect(texts.size).toBeGreaterThan(100);
    const missing = new Set<string>();
    for (const text of texts) {
      if (unknownPieces(tokenizer.encode(text)).length > 0)
        for (const w of wordsOf([text])) if (unknownPieces(tokenizer.encode(w)).length > 0) missing.add(w);
    }
    expect([...missing]).toEqual([]);
  });

  it('has the suffix property: an action\'s tokens after prompt + " " equal the action encoded alone', () => {
    let pairs = 0;
    for (const { prompt, actions } of fixtureObservations()) {
      for (const action of actions) {
        const { ids, split } = tokenizer.encodeActionWithSplit(prompt, action);
        expect(split).toBe('suffix');
        expect(ids).toEqual(tokenizer.encode(action));
        expect([...tokenizer.encodePrompt(prompt), ...ids]).toEqual([1, ...tokenizer.encode(`${prompt} ${action}`)]);
        pairs++;
      }
    }
    expect(pairs).toBeGreaterThan(200);
  });

  it('splits some words into several tokens, reproducing the LLaMA-1 token counts of spec 1.1', () => {
    const spec: [string, number, number][] = [
      ['pick up the tomato', 5, 4],
      ['take the empty bowl', 5, 4],
      ['take the bowl', 4, 3],
      ['walk to the first cutting board', 6, 6],
      ['serve nothing', 2, 2],
      ['serve the dish', 4, 3],
      ['chop nothing', 3, 2],
      ['chop the tomato', 5, 3],
      ['put the tomato in the bowl', 8, 6],
      ['put the tomato on the first cutting board', 9, 8],
      ['walk to the pancake', 6, 4],
      ['put the pancake in the microwave', 10, 6],
      ['open the microwave', 5, 3],
      ['walk to the TV', 4, 4],
      ['grab the milk', 3, 3],
      ['put the chips on the coffee table', 8, 7],
      ['stand up from the sofa', 6, 5],
    ];
    for (const [text, tokens, words] of spec) {
      expect(tokenizer.encode(text).length, text).toBe(tokens);
      expect(wordCount(text), text).toBe(words);
    }
  });

  it('gives every environment word its intended tokens, in our BPE and in web-tokenizers alike', () => {
    const built = buildMicroTokenizer(wordsOf(environmentTexts()));
    const ranks = new Map(built.merges.map(([l, r], i) => [`${l} ${r}`, i]));
    for (const [word, pieces] of built.intended) {
      expect(
        tokenizer.encode(word).map((id) => tokenizer.idToToken(id)),
        word,
      ).toEqual(pieces);
      expect(bpeWord(`▁${word}`, ranks)).toEqual(pieces);
    }
    for (const [word, pieces] of Object.entries(SUBWORD_SPLITS))
      expect(built.intended.get(word)?.length, word).toBe(pieces.length);
  });

  it("refuses a split table that another word's merge chain would break", () => {
    // "chop" split after "▁ch" cannot coexist with a whole "chopped", whose chain passes through "▁cho".
    expect(() => buildMicroTokenizer(['chop', 'chopped'], { chop: ['ch', 'op'] })).toThrow(
      /"chop" would tokenize as \[▁chop\], intended \[▁ch, op\]/,
    );
  });
});

describe('encodeAction fallback', () => {
  it('falls back to encoding the action alone when a merge crosses the prompt/action join', async () => {
    // A LLaMA-2-style tokenizer.json (normalizer, no pre-tokenizer) with a merge "x" + "▁" across the space.
    const vocab: Record<string, number> = {
      '<unk>': 0,
      '<s>': 1,
      '</s>': 2,
      '▁': 3,
      a: 4,
      b: 5,
      x: 6,
      'x▁': 7,
      '▁a': 8,
      '▁b': 9,
    };
    const json = {
      version: '1.0',
      added_tokens: [],
      normalizer: LLAMA2_NORMALIZER,
      pre_tokenizer: null,
      post_processor: null,
      ...sentencePieceBpe(vocab, ['x ▁', '▁ a', '▁ b']),
    };
    const t = await LlmTokenizer.fromJSON(JSON.stringify(json));
    expect(t.encode('ax b')).toEqual([8, 7, 5]); // ▁a x▁ b: the prompt's last token changed
    const { ids, split } = t.encodeActionWithSplit('ax', 'b');
    expect(split).toBe('fallback');
    expect(ids).toEqual(t.encode('b'));
    expect(t.encodeActionWithSplit('a', 'b')).toEqual({ ids: [9], split: 'suffix' });
    expect(() => t.encodeAction('a', '')).toThrow(/must not be empty/);
  });
});
