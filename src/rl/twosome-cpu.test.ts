// The TWOSOME trainer on the CPU reference of the micro model (no GPU): real LoRA gradients through the
// reference backward, updates that move the policy, and exact resume.
import { resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LlmTokenizer } from '../llm/model/tokenizer';
import type { LlamaWeights } from '../llm/model/weights';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { tinyTwosomeConfig } from './testing';
import { createCpuTwosomeModels } from './twosome-cpu';
import { TwosomeTrainer, twosomeSeeds, type TwosomeUpdateMetrics } from './twosome-trainer';

let weights: LlamaWeights;
let tokenizer: LlmTokenizer;
beforeAll(async () => {
  ({ weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro')));
});

const CONFIG = tinyTwosomeConfig('food-preparation', {
  numSteps: 8,
  policyNumMinibatches: 8,
  gradientAccumulationSteps: 4,
  totalTimesteps: 32 * 3,
});

function build(config = CONFIG) {
  const models = createCpuTwosomeModels(weights, tokenizer, config, twosomeSeeds(config.seed));
  return { actor: models.actor, trainer: new TwosomeTrainer(config, models, { promptsPerPass: 16 }) };
}

const det = (m: TwosomeUpdateMetrics) => {
  const { timing: _t, tokensPerSecond: _s, tokens: _n, ...rest } = m;
  return rest;
};

describe('TWOSOME on the CPU reference actor (micro model)', () => {
  it('updates move the policy; a resumed run continues exactly', async () => {
    const a = build();
    const request = {
      prompt: 'You are in the kitchen. In order to heat up the pancake in the microwave, your next step is to',
      actions: ['walk to the pancake', 'open the microwave'],
    };
    const before = (await a.actor.score([request]))[0].logprobs;
    const m = [await a.trainer.runUpdate(), await a.trainer.runUpdate(), await a.trainer.runUpdate()];
    expect(m.map((x) => x.policySteps)).toEqual([2, 2, 2]);
    for (const x of m) expect(x.approxKl).toBeGreaterThan(0);
    expect(m.every((x) => Number.isFinite(x.policyGradNorm) && Number.isFinite(x.valueLoss))).toBe(true);
    const after = (await a.actor.score([request]))[0].logprobs;
    expect(after).not.toEqual(before);

    const b = build();
    await b.trainer.runUpdate();
    const c = build();
    await c.trainer.setState(deserialize(serialize(await b.trainer.getState())));
    const rest = [await c.trainer.runUpdate(), await c.trainer.runUpdate()];
    expect(rest.map(det)).toEqual(m.slice(1).map(det));
    expect((await c.actor.score([request]))[0].logprobs).toEqual(after);
  });
});
