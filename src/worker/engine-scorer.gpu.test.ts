// The playground's adapter slot on the real engine (Dawn; SwiftShader where no GPU exists): scores with a
// LoRA adapter through AgentHost + engineScorer equal the CPU reference (scoreWithLora) within 1e-4, the
// share-precision probe equals setting the adapter, and removing it gives the frozen engine's scores back.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { initLoraAdapter, LORA_TARGETS } from '../llm/train/lora';
import { scoreWithLora } from '../llm/reference/backward';
import { loadLlamaModel } from '../llm/model/weights';
import { directorySource } from '../llm/model/weights-node';
import { adapterWeightsOf } from '../share/adapter';
import { Rng } from '../util/rng';
import { AgentHost } from './agent-host';
import { engineScorer } from './engine-scorer';
import type { ScoresReply } from './protocol';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

function ok(reply: ScoresReply) {
  if (reply.status !== 'ok') throw new Error(`expected scores, got ${JSON.stringify(reply)}`);
  return reply.scores;
}

describe('engine scorer with a LoRA adapter', () => {
  it('equals the CPU reference within 1e-4, probes equal setting, and null restores the frozen model', async () => {
    const source = directorySource(resolve(process.cwd(), 'public/models/micro'));
    const engine = await LlamaEngine.load(ctx, source);
    const cpu = (await loadLlamaModel(source)).weights;
    const host = new AgentHost(async () => ({
      scorer: engineScorer(engine),
      info: { layers: 2, hidden: 64, vocabSize: 710, contextWindow: 1024, quantization: 'q4f16_1', bytes: 0, software: true, adapter: 'dawn' },
    }));
    expect((await host.loadModel({ id: 'micro', label: 'micro', url: 'file:' })).status).toBe('ready');
    const view = host.reset('tomato-salad', 0);
    const frozen = ok(await host.scores(view.stepId));

    const rng = new Rng(5);
    const adapter = initLoraAdapter(engine.config, { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] }, rng);
    for (const m of adapter.modules) for (let i = 0; i < m.b.length; i++) m.b[i] = rng.normal() * 0.3;
    await host.setAdapter(adapter, 'all targets');
    const adapted = ok(await host.scores(view.stepId));
    expect(adapted.lora).toBe('all targets');

    const { prompt, actions } = view.observation;
    const tok = engine.tokenizer;
    const ref = scoreWithLora(cpu, adapter, [{ promptIds: tok.encodePrompt(prompt), actions: actions.map((a) => tok.encodeAction(prompt, a)) }]);
    let largest = 0;
    adapted.actions.forEach((a, k) => (largest = Math.max(largest, Math.abs(a.logprob - ref.logprobs[0][k]))));
    console.log(`adapter vs CPU reference: max |dS| ${largest.toExponential(2)}; frozen vs adapted word policy moved by ${Math.max(...adapted.policy.word.map((p, k) => Math.abs(p - frozen.policy.word[k]))).toFixed(3)}`);
    expect(largest).toBeLessThan(1e-4);
    // The adapter really changes the scores (much more than the tolerance).
    expect(Math.max(...adapted.actions.map((a, k) => Math.abs(a.logprob - frozen.actions[k].logprob)))).toBeGreaterThan(1e-2);

    const probed = await host.probeAdapter(view.stepId, adapterWeightsOf(adapter));
    probed.word.forEach((p, k) => expect(Math.abs(p - adapted.policy.word[k])).toBeLessThan(1e-6));

    await host.setAdapter(null, '');
    const back = ok(await host.scores(view.stepId));
    back.actions.forEach((a, k) => expect(a.logprob).toBe(frozen.actions[k].logprob));
    engine.dispose();
  });
});
