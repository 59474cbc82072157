// `twosome generate` as a user runs it: the real bin script, Dawn's WebGPU, the shipped micro model; the texts
// are the CPU reference's greedy generations, with and without the adapter, and the matches say what they are.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateReference } from '../llm/reference/generate';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { matchAction } from '../llm/generation';
import { ALL_TARGETS, MICRO, trainedAdapter } from '../share/testing';
import { replayObservation } from './replay';
import { peftAdapterDir, twosome } from './testing';

describe('twosome generate', () => {
  it('--json: the base and adapted greedy texts of the CPU reference, matched against the actions', async () => {
    const adapter = trainedAdapter(MICRO, ALL_TARGETS, 4, 0.5);
    const dir = peftAdapterDir(adapter, 'twosome-generate-adapter-');
    const args = ['--task', 'tomato-salad', '--actions', '0', '--max-tokens', '8'];
    const proc = twosome(['generate', '--model', 'micro', ...args, '--adapter', dir, '--json']);
    expect(proc.stderr).toBe('');
    expect(proc.status).toBe(0);
    const out = JSON.parse(proc.stdout);
    expect(Object.keys(out)).toEqual([
      'prompt',
      'promptTokenIds',
      'actions',
      'match',
      'options',
      'base',
      'adapter',
      'kernels',
    ]);
    const { prompt, actions } = replayObservation('tomato-salad', [0]);
    expect([out.prompt, out.actions]).toEqual([prompt, actions]);
    expect(out.options).toEqual({ maxTokens: 8, temperature: 0, seed: 0 });
    expect(out.match).toBe('exact match after trimming whitespace');
    // Generation's attention is the KV-cache kernel, not the scoring passes' one.
    expect(out.kernels.attention).toEqual({ kernel: 'kv_cache', forwardTiles: 'f32', backwardTiles: null });

    const { weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
    expect(out.promptTokenIds).toEqual(tokenizer.encodePrompt(prompt));
    for (const [answer, lora] of [
      [out.base, null],
      [out.adapter, adapter],
    ] as const) {
      const ref = await generateReference(weights, lora, tokenizer, out.promptTokenIds, out.options);
      expect(Object.keys(answer)).toEqual(['tokenIds', 'text', 'stop', 'action']);
      expect(answer).toEqual({ ...ref, action: matchAction(ref.text, actions) });
    }

    const text = twosome(['generate', ...args]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain(`base   : ${JSON.stringify(out.base.text)}`);
    expect(text.stdout).toContain('match: exact match after trimming whitespace');
    expect(text.stdout).not.toContain('adapter:');
  });

  it('sampling: the same seed gives the same text', () => {
    const args = ['generate', '--task', 'entertainment', '--temperature', '1.5', '--seed', '9', '--json'];
    const a = JSON.parse(twosome(args).stdout);
    const b = JSON.parse(twosome(args).stdout);
    expect(a.base.tokenIds.length).toBeGreaterThan(0);
    expect(b.base).toEqual(a.base);
    expect(a.adapter).toBeNull();
  });
});
