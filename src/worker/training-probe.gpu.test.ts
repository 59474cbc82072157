// The training probe on the real engine (Dawn; SwiftShader where no GPU exists), the micro model: a TWOSOME run
// with a probe after every update, as the worker wires it (probeModel: the engine's paired passes with the
// trainer's own adapter buffers, in the agent's GPU queue). Each probe must score exactly as the capability
// check scores the same questions with the adapter of that update (uploaded from its checkpoint): the same
// acc and acc_norm for both models and the same mean KL(base || adapter).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { destroyLora, uploadLora } from '../llm/train/gpu-lora';
import { directorySource } from '../llm/model/weights-node';
import { benchmark, enginePairedScorer, evaluateQuestions, memoryDatasetStore, summarize } from '../nlp-eval';
import { NEEDS_DATA, NLP_EVAL_DATA } from '../nlp-eval/test-data';
import { presetConfig } from '../rl/config';
import { createGpuTwosomeModels } from '../rl/twosome-gpu';
import { twosomeSeeds } from '../rl/twosome-trainer';
import { engineScorer } from './engine-scorer';
import { TwosomeRunTrainer } from './run-trainers';
import { microModelHost } from './test-helpers';
import { probeModel } from './trainer-wiring';
import { loadProbe, scoreProbe } from './training-probe';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

const RUN_INFO = { task: 'tomato-salad', model: 'micro', preset: 'quick', startedAt: '2026-01-01T00:00:00Z' } as const;

describe.skipIf(!NLP_EVAL_DATA)(`the training probe on the micro model${NEEDS_DATA}`, () => {
  it('after each update scores as the capability check does with that update’s adapter', async () => {
    const engine = await LlamaEngine.load(ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
    const host = await microModelHost(engineScorer(engine));
    const bytes = readFileSync(join(NLP_EVAL_DATA!, 'arc_easy/ARC-Easy-Test.jsonl'));
    const data = { kind: 'files' as const, files: [{ path: '', file: new File([bytes], 'ARC-Easy-Test.jsonl') }] };
    const probe = await loadProbe({ bench: 'arc-easy', size: 10, every: 1, seed: 3 }, data, {
      store: memoryDatasetStore(),
    });
    const model = probeModel(host);
    const config = presetConfig('twosome', 'tomato-salad', 'quick', { seed: 2, steps: 128 });
    const models = await host.exclusive(async () => createGpuTwosomeModels(engine, config, twosomeSeeds(config.seed)));
    const exclusive = <T>(work: () => Promise<T>) => host.exclusive(work);
    const trainer = await TwosomeRunTrainer.create(config, models, exclusive, undefined, {
      every: 1,
      score: (adapter) => scoreProbe(probe, model, adapter),
    });
    const klOfUpdates: number[] = [];
    for (let update = 1; update <= 2; update++) {
      const metrics = await trainer.runUpdate();
      expect(metrics.update).toBe(update);
      const { adapter } = await trainer.checkpoint(RUN_INFO);
      // The capability check's scoring of the same questions with this update's adapter, uploaded on its own.
      const lora = uploadLora(engine.gpu.device, adapter!);
      const results = await evaluateQuestions(
        probe.questions,
        engine.tokenizer,
        { paired: enginePairedScorer(engine, lora) },
        { contextWindow: engine.config.contextWindow, questionsPerPass: 8 },
      );
      destroyLora(lora);
      const check = summarize('arc-easy', results, benchmark('arc-easy').metrics);
      expect(metrics.probe).toMatchObject({
        bench: 'arc-easy',
        n: 10,
        acc: check.model.acc.mean,
        accNorm: check.model.accNorm!.mean,
        baseAcc: check.base!.acc.mean,
        baseAccNorm: check.base!.accNorm!.mean,
      });
      // The same passes on the same values: equal but for the order of float sums across separate calls.
      expect(Math.abs(metrics.probe!.meanKl! - check.meanKl!)).toBeLessThanOrEqual(1e-6 * check.meanKl!);
      klOfUpdates.push(check.meanKl!);
      // The probe is in the history the checkpoint copies (the record the store saves).
      expect(trainer.history[update - 1].probe).toEqual(metrics.probe);
    }
    // Not a comparison of an untrained adapter: training moved it away from the base model, more so with time.
    expect(klOfUpdates[0]).toBeGreaterThan(0);
    expect(klOfUpdates[1]).toBeGreaterThan(klOfUpdates[0]);
    trainer.dispose();
  });
});
