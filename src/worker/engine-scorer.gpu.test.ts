// The playground's adapter slot on the real engine (Dawn; SwiftShader where no GPU exists): scores with a
// LoRA adapter through AgentHost + engineScorer equal the CPU reference (scoreWithLora) within 1e-4, the
// share-precision probe equals setting the adapter, and removing it gives the frozen engine's scores back. A
// trainer's adapter (a live handle) is scored with in place: a step shows without a new upload, and its
// buffers stay until the scorer lets go, also after the trainer is gone.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { initLoraAdapter, LORA_TARGETS } from '../llm/train/lora';
import { LoraTrainer } from '../llm/train/lora-trainer';
import { scoreWithLora } from '../llm/reference/backward';
import { loadLlamaModel } from '../llm/model/weights';
import { directorySource } from '../llm/model/weights-node';
import { adapterWeightsOf } from '../share/adapter';
import { Rng } from '../util/rng';
import { engineScorer } from './engine-scorer';
import type { ScoresReply } from './protocol';
import { microModelHost } from './test-helpers';

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
    const host = await microModelHost(engineScorer(engine));
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
    const ref = scoreWithLora(cpu, adapter, [
      { promptIds: tok.encodePrompt(prompt), actions: actions.map((a) => tok.encodeAction(prompt, a)) },
    ]);
    let largest = 0;
    adapted.actions.forEach((a, k) => (largest = Math.max(largest, Math.abs(a.logprob - ref.logprobs[0][k]))));
    console.log(
      `adapter vs CPU reference: max |dS| ${largest.toExponential(2)}; frozen vs adapted word policy moved by ${Math.max(...adapted.policy.word.map((p, k) => Math.abs(p - frozen.policy.word[k]))).toFixed(3)}`,
    );
    expect(largest).toBeLessThan(1e-4);
    // The adapter really changes the scores (much more than the tolerance).
    expect(Math.max(...adapted.actions.map((a, k) => Math.abs(a.logprob - frozen.actions[k].logprob)))).toBeGreaterThan(
      1e-2,
    );

    const probed = await host.probeAdapter(view.stepId, adapterWeightsOf(adapter));
    probed.word.forEach((p, k) => expect(Math.abs(p - adapted.policy.word[k])).toBeLessThan(1e-6));

    await host.setAdapter(null, '');
    const back = ok(await host.scores(view.stepId));
    back.actions.forEach((a, k) => expect(a.logprob).toBe(frozen.actions[k].logprob));
    engine.dispose();
  });

  it("scores with the trainer's adapter in place: its steps show at once, and it outlives the trainer", async () => {
    const source = directorySource(resolve(process.cwd(), 'public/models/micro'));
    const engine = await LlamaEngine.load(ctx, source);
    const host = await microModelHost(engineScorer(engine));
    const lora = { r: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] };
    const trainer = LoraTrainer.create(engine, { seed: 3, lora });
    const view = host.reset('tomato-salad', 0);
    const frozen = ok(await host.scores(view.stepId));
    await host.setAdapter(await trainer.readAdapter(), 'update 0', trainer.holdLora());
    ok(await host.scores(view.stepId));

    // One AdamW step on the trainer's own buffers; the host is not told.
    const batch = engine.tokenize([view.observation]);
    await trainer.accumulate(batch, (scores) => [scores[0].logprobs.map((_, k) => (k === 0 ? -1 : 0.25))]);
    await trainer.step(5e-2);
    const [stepped] = await engine.forwardScores(batch, { lora: trainer.lora });
    // The page's scores of a fresh state (its own scoring call, not one cached before the step).
    const scoresOf = async () => {
      const fresh = host.reset('tomato-salad', 0);
      return ok(await host.scores(fresh.stepId)).actions.map((a) => a.logprob);
    };
    const after = await scoresOf();
    expect(after).toEqual(stepped.logprobs);
    expect(Math.max(...after.map((lp, k) => Math.abs(lp - frozen.actions[k].logprob)))).toBeGreaterThan(1e-3);

    // The trainer goes (a run deleted or replaced): the scorer still holds the buffers and scores the same.
    const destroy = vi.spyOn(trainer.lora.modules[0].a, 'destroy');
    trainer.dispose();
    expect(destroy).not.toHaveBeenCalled();
    expect(await scoresOf()).toEqual(after);
    // Letting go of the last hold frees them; the frozen model's scores come back.
    await host.setAdapter(null, '');
    expect(destroy).toHaveBeenCalledTimes(1);
    expect(await scoresOf()).toEqual(frozen.actions.map((a) => a.logprob));
    engine.dispose();
  });
  it('a destroyed device fails the probe read-back, and gpuLost names the loss', async () => {
    const own = await requestNodeGpuContext(); // a device of its own, destroyed below
    const engine = await LlamaEngine.load(own, directorySource(resolve(process.cwd(), 'public/models/micro')));
    const scorer = engineScorer(engine);
    const host = await microModelHost(scorer);
    expect(await scorer.deviceWorks?.()).toBe(true);
    expect(await host.gpuLost()).toBeNull();

    own.device.destroy();
    expect(await scorer.deviceWorks?.()).toBe(false);
    expect(await host.gpuLost()).toMatch(/destroyed/);
    engine.dispose();
  });
});
