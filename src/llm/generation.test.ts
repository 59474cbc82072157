// The generation loop on a scripted model: where it stops (newline, EOS, max tokens, context window), what it
// feeds back at which position, greedy ties, seeded sampling, and how a text matches an offered action.
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng';
import { generate, matchAction, pickToken, type NextTokenModel } from './generation';

/** A model whose logits put all weight on the next scripted token; it records what it was fed. */
function scripted(next: number[], vocab = 6): NextTokenModel & { fed: [number, number][] } {
  let i = 0;
  const logits = () => {
    const l = new Float32Array(vocab).fill(-10);
    l[next[i++]] = 10;
    return Promise.resolve(l);
  };
  const fed: [number, number][] = [];
  return {
    fed,
    prefill: () => logits(),
    step: (token, position) => {
      fed.push([token, position]);
      return logits();
    },
  };
}

// Token ids 0..5 decode to these pieces.
const PIECES = ['<s>', '</s>', ' go', ' to', ' table', '\n'];
const text = {
  decode: (ids: readonly number[]) => ids.map((i) => PIECES[i]).join(''),
  eosTokenIds: [1],
  contextWindow: 64,
};
const greedy = { maxTokens: 10, temperature: 0, seed: 0 };

describe('generate', () => {
  it('stops at a newline and cuts the text before it, feeding each token at its position', async () => {
    const model = scripted([2, 3, 4, 5, 2]);
    const g = await generate(model, text, [0, 2, 2], greedy);
    expect(g).toEqual({ tokenIds: [2, 3, 4, 5], text: ' go to table', stop: 'newline' });
    expect(model.fed).toEqual([
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
  });

  it('stops at EOS without keeping it, at max tokens, and at the context window', async () => {
    expect(await generate(scripted([2, 1]), text, [0], greedy)).toEqual({ tokenIds: [2], text: ' go', stop: 'eos' });
    expect(await generate(scripted([2, 3, 4, 4]), text, [0], { ...greedy, maxTokens: 2 })).toEqual({
      tokenIds: [2, 3],
      text: ' go to',
      stop: 'max-tokens',
    });
    const short = { ...text, contextWindow: 4 };
    expect(await generate(scripted([2, 3, 4, 4]), short, [0, 2], greedy)).toEqual({
      tokenIds: [2, 3],
      text: ' go to',
      stop: 'context',
    });
  });

  it('refuses bad options and a prompt with no room', async () => {
    await expect(generate(scripted([2]), text, [0], { ...greedy, maxTokens: 0 })).rejects.toThrow(/maxTokens/);
    await expect(generate(scripted([2]), text, [0], { ...greedy, temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generate(scripted([2]), text, [], greedy)).rejects.toThrow(/at least one token/);
    await expect(generate(scripted([2]), { ...text, contextWindow: 1 }, [0], greedy)).rejects.toThrow(/no room/);
  });
});

describe('pickToken', () => {
  it('takes the argmax (the lowest id on ties) at temperature 0', () => {
    expect(pickToken([1, 3, 3, 2], 0, new Rng(0))).toBe(1);
  });

  it('samples from softmax(logits / T): repeatable with a seed, close to the distribution', () => {
    const logits = [0, Math.log(3), -50];
    const draws = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 4000 }, () => pickToken(logits, 1, rng));
    };
    expect(draws(5)).toEqual(draws(5));
    const ones = draws(5).filter((t) => t === 1).length / 4000;
    expect(Math.abs(ones - 0.75)).toBeLessThan(0.03);
    expect(draws(5)).not.toContain(2);
    // A high temperature flattens it (token 2: e^(-0.51) / 2.59 = 0.23 at T = 100).
    const rng = new Rng(6);
    const hot = Array.from({ length: 4000 }, () => pickToken(logits, 100, rng)).filter((t) => t === 2).length;
    expect(hot / 4000).toBeGreaterThan(0.2);
  });
});

describe('matchAction', () => {
  it('matches exactly after trimming whitespace, nothing else', () => {
    const actions = ['pick up the tomato', 'serve nothing'];
    expect(matchAction('  pick up the tomato ', actions)).toBe(0);
    expect(matchAction('serve nothing', actions)).toBe(1);
    expect(matchAction('Pick up the tomato', actions)).toBeNull();
    expect(matchAction('pick up the tomato.', actions)).toBeNull();
    expect(matchAction('', actions)).toBeNull();
  });
});
