/**
 * The model's tokenizer: `@mlc-ai/web-tokenizers` (HF tokenizers compiled to wasm, what web-llm uses) behind
 * a small interface, plus the TWOSOME helpers (spec section 1): BOS + prompt ids, the ids of an action as it
 * appears after `prompt + " "`, and the whitespace word count. Works in the browser and in Node 20.
 *
 * Node quirk: the package is a UMD bundle whose emscripten loader, when it sees Node, evaluates
 * `require('url')` and `__filename` at import time and again when the wasm module starts (the first
 * fromJSON). In an ES module neither exists ("require is not defined"). We define `globalThis.require`
 * (from node:module's createRequire), `__filename` and `__dirname` around the import and a warm-up
 * fromJSON, then remove what we defined. The bundle puts its exports on `globalThis.tokenizers` when loaded
 * as an ES module (no `exports` object), so the class is looked up there too.
 *
 * Wasm quirk: a tokenizer JSON the Rust side cannot parse makes it panic: a Rust backtrace on stderr and an
 * emscripten abort ("RuntimeError: Aborted()"), after which the module's state is not guaranteed (later calls
 * happened to still work when tried). So the JSON is parsed and sanity-checked here first, and the common
 * mistakes are reported before the wasm sees them.
 */
import { looksLikeWebPage, WEB_PAGE_DETAIL } from '../../util/web-page';

/** The subset of the web-tokenizers class we use. */
interface WasmTokenizer {
  encode(text: string): Int32Array;
  decode(ids: Int32Array): string;
  getVocabSize(): number;
  idToToken(id: number): string;
  dispose(): void;
}
interface WasmTokenizerClass {
  fromJSON(json: ArrayBuffer): Promise<WasmTokenizer>;
}

type Globals = typeof globalThis & {
  require?: unknown;
  __filename?: unknown;
  __dirname?: unknown;
  tokenizers?: { Tokenizer?: WasmTokenizerClass };
};

let classPromise: Promise<WasmTokenizerClass> | undefined;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return (
    typeof p?.versions?.node === 'string' && typeof (globalThis as { document?: unknown }).document === 'undefined'
  );
}

/** A one-token BPE tokenizer, to start the wasm module while the Node shims are in place. */
const WARM_UP_JSON = JSON.stringify({
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [],
  normalizer: null,
  pre_tokenizer: null,
  post_processor: null,
  decoder: null,
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: false,
    byte_fallback: false,
    vocab: { a: 0 },
    merges: [],
  },
});

async function loadTokenizerClass(): Promise<WasmTokenizerClass> {
  const g = globalThis as Globals;
  const defined: (keyof Globals)[] = [];
  try {
    if (isNode()) {
      // A computed specifier keeps bundlers from pulling node:module into the browser build.
      const nodeModule = 'node:module';
      const { createRequire } = (await import(/* @vite-ignore */ nodeModule)) as {
        createRequire: (from: string) => NodeJS.Require;
      };
      const cwd = (globalThis as { process?: { cwd(): string } }).process!.cwd();
      const require = createRequire(`${cwd}/package.json`);
      let filename = `${cwd}/index.js`;
      try {
        filename = require.resolve('@mlc-ai/web-tokenizers');
      } catch {
        // any absolute path will do: the wasm is inlined, the path only seeds the loader's script directory
      }
      const define = (key: keyof Globals, value: unknown) => {
        if (g[key] === undefined) {
          (g as Record<string, unknown>)[key as string] = value;
          defined.push(key);
        }
      };
      define('require', require);
      define('__filename', filename);
      define('__dirname', filename.replace(/[\\/][^\\/]*$/, ''));
    }
    const mod = (await import('@mlc-ai/web-tokenizers')) as {
      Tokenizer?: WasmTokenizerClass;
      default?: { Tokenizer?: WasmTokenizerClass };
    };
    const cls = mod.Tokenizer ?? mod.default?.Tokenizer ?? g.tokenizers?.Tokenizer;
    if (!cls) throw new Error('@mlc-ai/web-tokenizers loaded but exposes no Tokenizer class');
    const warm = await cls.fromJSON(new TextEncoder().encode(WARM_UP_JSON).buffer as ArrayBuffer);
    warm.dispose();
    return cls;
  } finally {
    for (const key of defined) delete (g as Record<string, unknown>)[key as string];
  }
}

function tokenizerClass(): Promise<WasmTokenizerClass> {
  classPromise ??= loadTokenizerClass().catch((error) => {
    classPromise = undefined;
    throw error;
  });
  return classPromise;
}

/** Thrown for a tokenizer file that cannot be used; the message says what is wrong. */
export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/** Checks the parts of an HF tokenizer.json whose absence would make the wasm side panic. */
function checkTokenizerJson(text: string, file: string): void {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    if (looksLikeWebPage(text)) throw new TokenizerError(`${file}: ${WEB_PAGE_DETAIL}`);
    throw new TokenizerError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const model = (json as { model?: { type?: unknown; vocab?: unknown } } | null)?.model;
  if (typeof json !== 'object' || json === null || typeof model !== 'object' || model === null) {
    throw new TokenizerError(`${file}: not a Hugging Face tokenizer.json (no "model" object)`);
  }
  if (typeof model.type !== 'string' || !['BPE', 'WordPiece', 'WordLevel', 'Unigram'].includes(model.type)) {
    throw new TokenizerError(`${file}: unsupported tokenizer model type ${JSON.stringify(model.type)}`);
  }
  if (typeof model.vocab !== 'object' || model.vocab === null)
    throw new TokenizerError(`${file}: the tokenizer model has no "vocab"`);
}

/** A token that stands for whitespace only: "▁" (SentencePiece), "Ġ" (GPT-2 byte-level), or spaces. */
function isBareSpace(token: string): boolean {
  return /^[\s\u2581\u0120]+$/.test(token);
}

export interface TokenizerOptions {
  /** Beginning-of-sequence id (mlc-chat-config.json bos_token_id); LLaMA: 1. */
  bosId?: number;
  /** Unknown-token id, to let callers check coverage; LLaMA: 0. */
  unkId?: number;
  /** Name used in error messages. */
  file?: string;
}

/** How encodeAction found the action's tokens. */
export type ActionSplit = 'suffix' | 'fallback';

export class LlmTokenizer {
  readonly bosId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  private lastPrompt: { text: string; ids: number[] } | undefined;

  private constructor(
    private readonly wasm: WasmTokenizer,
    options: TokenizerOptions,
  ) {
    this.bosId = options.bosId ?? 1;
    this.unkId = options.unkId ?? 0;
    this.vocabSize = wasm.getVocabSize();
  }

  /** Loads an HF tokenizer.json (bytes or text). */
  static async fromJSON(
    json: ArrayBuffer | Uint8Array | string,
    options: TokenizerOptions = {},
  ): Promise<LlmTokenizer> {
    const file = options.file ?? 'tokenizer.json';
    const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
    checkTokenizerJson(text, file);
    const cls = await tokenizerClass();
    const bytes = new TextEncoder().encode(text);
    let wasm: WasmTokenizer;
    try {
      wasm = await cls.fromJSON(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      );
    } catch (error) {
      throw new TokenizerError(`${file}: the tokenizer library could not load it (${String(error).split('\n')[0]})`);
    }
    const tokenizer = new LlmTokenizer(wasm, options);
    if (tokenizer.bosId >= tokenizer.vocabSize)
      throw new TokenizerError(
        `${file}: BOS id ${tokenizer.bosId} is outside the vocabulary (${tokenizer.vocabSize} tokens)`,
      );
    return tokenizer;
  }

  /** Token ids of `text`, without BOS. */
  encode(text: string): number[] {
    return Array.from(this.wasm.encode(text));
  }

  decode(ids: readonly number[]): string {
    return this.wasm.decode(Int32Array.from(ids));
  }

  idToToken(id: number): string {
    return this.wasm.idToToken(id);
  }

  /** BOS + the prompt's ids: the sequence the critic reads and every action continues. */
  encodePrompt(prompt: string): number[] {
    return [this.bosId, ...this.promptIds(prompt)];
  }

  /**
   * The ids of `action` as they appear in `prompt + " " + action` (spec section 1.1: the sequences are
   * tokenized whole and the last n tokens are scored), without BOS.
   *
   * Computed as the suffix of encode(prompt + " " + action) after encode(prompt), when the latter is a prefix
   * of the former, which is what the model actually sees. With SentencePiece-style tokenizers (LLaMA, and the
   * micro model's) it always is: pieces never cross a space. Where a tokenizer merges across the join (the
   * prompt's last token changes), no split of the joint ids gives "prompt tokens + action tokens"; we then
   * fall back to encoding the action on its own: `" " + action` (the right analogue for GPT-2-style BPE whose
   * space belongs to the next word, spec section 1.5), unless that yields a bare space token first, in which
   * case `action` alone (what the original code counts, spec section 1.1 step 4).
   */
  encodeAction(prompt: string, action: string): number[] {
    return this.encodeActionWithSplit(prompt, action).ids;
  }

  encodeActionWithSplit(prompt: string, action: string): { ids: number[]; split: ActionSplit } {
    if (action.length === 0) throw new TokenizerError('an action text must not be empty');
    const promptIds = this.promptIds(prompt);
    const joint = this.encode(`${prompt} ${action}`);
    if (joint.length > promptIds.length && promptIds.every((id, i) => joint[i] === id)) {
      return { ids: joint.slice(promptIds.length), split: 'suffix' };
    }
    const spaced = this.encode(` ${action}`);
    if (spaced.length > 1 && isBareSpace(this.idToToken(spaced[0])))
      return { ids: this.encode(action), split: 'fallback' };
    return { ids: spaced.length > 0 ? spaced : this.encode(action), split: 'fallback' };
  }

  /** Frees the wasm-side tokenizer. */
  dispose(): void {
    this.wasm.dispose();
  }

  private promptIds(prompt: string): number[] {
    if (this.lastPrompt?.text !== prompt) this.lastPrompt = { text: prompt, ids: this.encode(prompt) };
    return this.lastPrompt.ids;
  }
}
