// The share link's probability error measured on a real model: the micro model's TWOSOME policy (word
// normalization) over a task's actions, computed by the CPU reference forward with the original adapter and with
// the link's round trip.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEnv } from '../envs/registry';
import { loraSequenceForward } from '../llm/reference/backward';
import { softmax } from '../llm/reference/score';
import type { LlmTokenizer } from '../llm/model/tokenizer';
import type { LlamaWeights } from '../llm/model/weights';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { adapterWeightsOf, bindAdapter, type AdapterWeights } from './adapter';
import { decodeShareLink, encodeShareLink, shareProbabilityError } from './link';
import { MICRO, QV, trainedAdapter } from './testing';

let weights: LlamaWeights;
let tokenizer: LlmTokenizer;
beforeAll(async () => {
  ({ weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro')));
});

describe('share link probability error (micro model, CPU reference)', () => {
  it('f32 links keep the policy exactly; f16 and int8 move it by under 1e-3 and 2e-2', async () => {
    const env = createEnv('tomato-salad');
    env.reset(0);
    const { prompt, actions } = env.observe();
    const promptIds = tokenizer.encodePrompt(prompt);
    const probe = (w: AdapterWeights) => {
      const adapter = bindAdapter(w, weights.config, 'probe');
      const z = actions.map((action) => {
        const ids = tokenizer.encodeAction(prompt, action);
        const tokens = [...promptIds, ...ids];
        const rows = ids.map((_, j) => promptIds.length - 1 + j);
        const sum = loraSequenceForward(weights, adapter, tokens, rows, ids).logprobs.reduce((s, v) => s + v, 0);
        return sum / action.split(' ').length;
      });
      return [softmax(z)];
    };
    // A strongly trained adapter (B ~ U(-0.5, 0.5)), so that the policy moves.
    const original = adapterWeightsOf(trainedAdapter(MICRO, QV, 5, 0.5));
    const base = probe({
      ...original,
      modules: original.modules.map((m) => ({ ...m, b: new Float32Array(m.b.length) })),
    })[0];
    const trained = probe(original)[0];
    expect(Math.max(...trained.map((p, k) => Math.abs(p - base[k])))).toBeGreaterThan(1e-3);
    const payload = {
      modelId: 'micro',
      task: 'tomato-salad' as const,
      normalization: 'word' as const,
      seed: 0,
      weights: original,
    };
    const errors: Record<string, number> = {};
    for (const precision of ['f32', 'f16', 'int8'] as const) {
      const link = encodeShareLink(payload, { precision });
      const received = decodeShareLink(link.fragment).weights;
      errors[precision] = await shareProbabilityError(original, received, probe);
      expect(await shareProbabilityError(original, link.roundTrip, probe)).toBe(errors[precision]);
    }
    if (process.env.FUZZ_VERBOSE) console.log(errors);
    expect(errors.f32).toBe(0);
    expect(errors.f16).toBeGreaterThan(0);
    expect(errors.f16).toBeLessThan(1e-3);
    expect(errors.int8).toBeLessThan(2e-2);
  });
});
