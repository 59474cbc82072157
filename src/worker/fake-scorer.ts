/**
 * A deterministic stand-in for the LLM engine (tests of the worker host and the playground store): each
 * action gets a made-up log-prob from a hash of prompt and text (the host makes the policies from them).
 * It has the micro model's shapes; a LoRA adapter shifts each log-prob by a smooth function of its weights
 * (so a nonzero adapter changes the policy, and a slightly rounded one changes it slightly).
 */
import type { LoraAdapter } from '../llm/train/lora';
import { countWords } from '../util/words';
import type { Scorer, ScorerLoader } from './agent-host';
import { matchAction } from '../llm/generation';

/** public/models/micro/mlc-chat-config.json's shapes. */
export const FAKE_MODEL_SHAPE = {
  hidden: 64,
  intermediate: 128,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  layers: 2,
} as const;

/** scale * sum over modules of (B . A-ish): a weighted sum, different per action text, linear in B. */
function adapterShift(adapter: LoraAdapter | null, text: string): number {
  if (!adapter) return 0;
  const h = hash(text);
  let sum = 0;
  for (const m of adapter.modules) {
    for (let i = 0; i < m.b.length; i++) sum += m.b[i] * m.a[(i + h) % m.a.length] * (((h >>> (i % 24)) & 7) - 3.5);
  }
  return adapter.scale * sum;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function fakeScorer(label = 'fake', calls: string[] = []): Scorer {
  let disposed = false;
  let current: LoraAdapter | null = null;
  const run = async (adapter: LoraAdapter | null, prompt: string, actions: readonly string[]) => {
    if (disposed) throw new Error(`${label}: scorer used after dispose`);
    calls.push(prompt);
    await Promise.resolve();
    const nTokens = actions.map((text) => Math.max(1, Math.ceil(text.length / 5)));
    const logprobs = actions.map((text, k) => {
      const base = -nTokens[k] * (1 + (hash(`${label}|${prompt}|${text}`) % 1000) / 250);
      return base + adapterShift(adapter, text);
    });
    const promptTokens = 1 + Math.ceil(prompt.length / 5);
    return { scores: { logprobs, nTokens, nWords: actions.map(countWords) }, promptTokens };
  };
  return {
    shape: FAKE_MODEL_SHAPE,
    score: (prompt, actions) => run(current, prompt, actions),
    scoreWith: (adapter, prompt, actions) => run(adapter, prompt, actions),
    // Made-up answers: the frozen model names an offered action or not by a hash of the prompt; with an
    // adapter it names the first action (the host's matching and replies are what its tests check).
    async generate(prompt, actions, options) {
      if (disposed) throw new Error(`${label}: scorer used after dispose`);
      calls.push(`generate ${prompt}`);
      await Promise.resolve();
      const h = hash(`${label}|${prompt}|${options.seed}`);
      const answer = (text: string) => {
        const action = matchAction(text, actions);
        return { tokenIds: [h % 100], text, stop: 'newline' as const, action };
      };
      const base = answer(h % 2 === 0 ? ` ${actions[h % actions.length]}` : ' look for a knife');
      return { base, adapted: current ? answer(` ${actions[0]}`) : null };
    },
    async setAdapter(adapter, live) {
      // The fake scores from the host's arrays: a trainer's buffers are of no use to it.
      live?.release();
      if (disposed) throw new Error(`${label}: scorer used after dispose`);
      await Promise.resolve();
      current = adapter;
    },
    dispose() {
      disposed = true;
    },
  };
}

/** A loader of fake scorers; `delayMs` simulates download and compile time. */
export function fakeLoader(options: { delayMs?: number; calls?: string[]; disposed?: string[] } = {}): ScorerLoader {
  return async (spec, onProgress) => {
    onProgress(0, 100);
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    onProgress(100, 100);
    const scorer = fakeScorer(spec.id, options.calls);
    const dispose = scorer.dispose;
    scorer.dispose = () => {
      options.disposed?.push(spec.id);
      dispose();
    };
    return {
      scorer,
      info: {
        layers: 1,
        hidden: 8,
        vocabSize: 32,
        contextWindow: 256,
        quantization: 'q0f32',
        bytes: 100,
        software: true,
        adapter: 'fake',
      },
    };
  };
}
