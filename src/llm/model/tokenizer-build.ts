/**
 * Builds the micro model's tokenizer.json: a small LLaMA-like SentencePiece-style BPE in the Hugging Face
 * format that `@mlc-ai/web-tokenizers` loads.
 *
 *   - Metaspace pre-tokenizer (replacement "▁", prepend_scheme "always", split): spaces become "▁" and the
 *     text is split before each "▁", so a piece never crosses a space (as in LLaMA), hence
 *     tokens(prompt + " " + action) = tokens(prompt) + tokens(action).
 *   - ids: <unk> 0, <s> 1, </s> 2 (LLaMA's), then the 256 byte tokens <0x00>..<0xFF> with byte_fallback, so
 *     ANY text encodes (a character outside the vocabulary becomes its UTF-8 bytes, never <unk>), then "▁"
 *     and the printable ASCII characters, then the tokens the merges build.
 *   - every word of the environments' texts is one "▁word" token, built by a left-to-right merge chain
 *     ("▁" + "w" -> "▁w", "▁w" + "o" -> "▁wo", ...), except the words of SUBWORD_SPLITS, which split into
 *     several tokens ("▁tom" + "ato"), chosen to reproduce the LLaMA-1 token counts of the action texts
 *     in spec twosome.md section 1.1 (e.g. "pick up the tomato" 5 tokens / 4 words), so token and word
 *     normalizations differ as they do with LLaMA.
 *
 * Ranks: all chains of word-initial pieces come first, then those of inner pieces, longest first. A BPE merge
 * applies the lowest-ranked adjacent pair, so a word's chain always wins over inner merges. The builder runs
 * its own BPE over every word and throws if any word would not come out as intended (a split table that
 * conflicts with another word's chain).
 */

export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>'] as const;
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const BYTE_TOKEN_BASE = 3;
export const SPACE_MARK = '\u2581'; // "▁"

/**
 * Words that split into several tokens: [first piece, inner pieces...]. Chosen from the LLaMA-1 token
 * counts in spec twosome.md 1.1 (tomato 2, bowl 2, dish 2, chop 2, chips 2, sofa 2, pancake 3, microwave 3);
 * the others only keep the table consistent (a word sharing a split word's first piece plus its next letter
 * must split at the same place) or add variety. The exact LLaMA pieces are not claimed, only the counts.
 */
export const SUBWORD_SPLITS: Readonly<Record<string, readonly string[]>> = {
  tomato: ['tom', 'ato'],
  bowl: ['bo', 'wl'],
  dish: ['dis', 'h'],
  dishes: ['dis', 'hes'],
  dishwasher: ['dis', 'hwasher'],
  chop: ['ch', 'op'],
  chopped: ['ch', 'opped'],
  unchopped: ['un', 'ch', 'opped'],
  chips: ['ch', 'ips'],
  pancake: ['pan', 'c', 'ake'],
  microwave: ['mic', 'row', 'ave'],
  sofa: ['so', 'fa'],
  lettuce: ['let', 't', 'uce'],
  onion: ['on', 'ion'],
  hamburger: ['ham', 'burger'],
};

export interface BuiltTokenizer {
  /** The tokenizer.json object. */
  json: Record<string, unknown>;
  /** Token strings by id. */
  vocab: string[];
  /** Merges in rank order, as [left, right]. */
  merges: [string, string][];
  /** The intended tokens of "▁" + word for every input word. */
  intended: Map<string, string[]>;
}

function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

/** The base characters: "▁" and printable ASCII except space (which the pre-tokenizer turns into "▁"). */
function baseCharacters(): string[] {
  const chars = [SPACE_MARK];
  for (let c = 0x21; c <= 0x7e; c++) chars.push(String.fromCharCode(c));
  return chars;
}

/** Merges that build `piece` left to right from its characters: (p[0..i), p[i]) for i = 1..len-1. */
function chainMerges(piece: string): [string, string][] {
  const chars = [...piece];
  const merges: [string, string][] = [];
  for (let i = 1; i < chars.length; i++) merges.push([chars.slice(0, i).join(''), chars[i]]);
  return merges;
}

export function buildMicroTokenizer(
  words: readonly string[],
  splits: Readonly<Record<string, readonly string[]>> = SUBWORD_SPLITS,
): BuiltTokenizer {
  const vocab: string[] = [...SPECIAL_TOKENS];
  for (let b = 0; b < 256; b++) vocab.push(byteToken(b));
  const base = baseCharacters();
  vocab.push(...base);
  const known = new Set(vocab);

  const intended = new Map<string, string[]>();
  const initialMerges: [string, string][] = [];
  const innerPieces: string[] = [];
  for (const word of words) {
    if (!/^[A-Za-z]+$/.test(word)) throw new Error(`tokenizer build: "${word}" is not a word of ASCII letters`);
    const pieces = splits[word] ?? [word];
    if (pieces.join('') !== word)
      throw new Error(`tokenizer build: split [${pieces.join(', ')}] does not spell "${word}"`);
    intended.set(word, [SPACE_MARK + pieces[0], ...pieces.slice(1)]);
    initialMerges.push(...chainMerges(SPACE_MARK + pieces[0]));
    for (const piece of pieces.slice(1)) if (!innerPieces.includes(piece)) innerPieces.push(piece);
  }
  const innerMerges = [...innerPieces].sort((a, b) => b.length - a.length).flatMap(chainMerges);

  const merges: [string, string][] = [];
  const seen = new Set<string>();
  for (const [left, right] of [...initialMerges, ...innerMerges]) {
    const key = `${left} ${right}`;
    if (seen.has(key)) continue;
    seen.add(key);
    merges.push([left, right]);
    const token = left + right;
    if (!known.has(token)) {
      known.add(token);
      vocab.push(token);
    }
  }

  // Verify with our own BPE: every word must come out as intended.
  const ranks = new Map(merges.map(([l, r], i) => [`${l} ${r}`, i]));
  for (const [word, want] of intended) {
    const got = bpeWord(SPACE_MARK + word, ranks);
    if (got.join(' ') !== want.join(' ')) {
      throw new Error(
        `tokenizer build: "${word}" would tokenize as [${got.join(', ')}], intended [${want.join(', ')}]; adjust SUBWORD_SPLITS`,
      );
    }
  }

  const ids: Record<string, number> = {};
  vocab.forEach((token, id) => (ids[token] = id));
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => specialAddedToken(id, content)),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: SPACE_MARK, prepend_scheme: 'always', split: true },
    post_processor: null,
    ...sentencePieceBpe(
      ids,
      merges.map(([l, r]) => `${l} ${r}`),
    ),
  };
  return { json, vocab, merges, intended };
}

/** A special token's entry in tokenizer.json's added_tokens (<unk>, <s>, </s>), as Meta's files have them. */
export function specialAddedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * Llama-2's normalizer (no pre-tokenizer goes with it): "▁" prepended to the text, then every space replaced by
 * "▁", so a BPE merge may cross a space (real-tokenizers.ts's Llama-2 file; the micro tokenizer splits instead).
 */
export const LLAMA2_NORMALIZER = {
  type: 'Sequence',
  normalizers: [
    { type: 'Prepend', prepend: SPACE_MARK },
    { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARK },
  ],
};

/**
 * The `decoder` and `model` of a SentencePiece-style BPE tokenizer.json, Llama-2's layout (the micro tokenizer
 * and real-tokenizers.ts's Llama-2 file): "▁" back to spaces, byte fallback, BPE with fuse_unk and <unk>.
 * `merges` as "left right", in priority order.
 */
export function sentencePieceBpe(vocab: Record<string, number>, merges: string[]) {
  return {
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE_MARK }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges,
    },
  };
}

/**
 * BPE over one pre-tokenized piece (no byte fallback: the piece's characters must be base characters):
 * repeatedly merge the adjacent pair of lowest rank, leftmost first, as HF tokenizers does.
 */
export function bpeWord(piece: string, ranks: ReadonlyMap<string, number>): string[] {
  const symbols = [...piece];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return symbols;
    symbols.splice(best, 2, symbols[best] + symbols[best + 1]);
  }
}
