// TWOSOME on the real engine (Dawn; SwiftShader where no GPU exists) with the playground scoring in between its
// GPU calls, as in the worker: the trainer's calls are queued one by one (TwosomeRunTrainer), the playground
// scores with the adapter being trained (a live handle, published after update 1), and steps every few ms during
// update 2. The run's metrics (all but wall-clock figures) and its adapter equal those of a run left alone.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { directorySource } from '../llm/model/weights-node';
import { presetConfig } from '../rl/config';
import { createGpuTwosomeModels } from '../rl/twosome-gpu';
import { twosomeSeeds } from '../rl/twosome-trainer';
import { engineScorer } from './engine-scorer';
import { TwosomeRunTrainer } from './run-trainers';
import { microModelHost } from './test-helpers';
import type { TrainMetrics } from './training-protocol';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requestNodeGpuContext();
});
afterAll(() => ctx?.device.destroy());

const RUN = { started: '2026-01-01T00:00:00Z' };

const numbers = (m: TrainMetrics) => ({ ...m, timing: null, tokensPerSecond: null });

async function twoUpdates(interleave: boolean) {
  const engine = await LlamaEngine.load(ctx, directorySource(resolve(process.cwd(), 'public/models/micro')));
  const host = await microModelHost(engineScorer(engine));
  host.reset('tomato-salad', 0);
  const config = presetConfig('twosome', 'tomato-salad', 'quick', { seed: 2, steps: 128 });
  const models = await host.exclusive(async () => createGpuTwosomeModels(engine, config, twosomeSeeds(config.seed)));
  const trainer = await TwosomeRunTrainer.create(config, models, (work) => host.exclusive(work));
  const metrics = [await trainer.runUpdate()];
  const first = await trainer.checkpoint({
    task: 'tomato-salad',
    model: 'micro',
    preset: 'quick',
    startedAt: RUN.started,
  });
  // The playground scores with the trainer's own buffers from here on, as after every update in the worker.
  await host.setAdapter(first.adapter, 'update 1', trainer.holdAdapter() ?? undefined);
  let scored = 0;
  let running = true;
  const playground = (async () => {
    while (interleave && running) {
      const view = host.step(0);
      if (view.done) host.reset('tomato-salad', scored);
      else if ((await host.scores(view.stepId)).status === 'ok') scored++;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  metrics.push(await trainer.runUpdate());
  running = false;
  await playground;
  const last = await trainer.checkpoint({
    task: 'tomato-salad',
    model: 'micro',
    preset: 'quick',
    startedAt: RUN.started,
  });
  trainer.dispose();
  return { metrics: metrics.map(numbers), adapter: last.adapter, scored };
}

describe('TWOSOME with the playground scoring in between', () => {
  it('gives the same run as without it', async () => {
    const alone = await twoUpdates(false);
    const interleaved = await twoUpdates(true);
    expect(interleaved.scored).toBeGreaterThan(2);
    expect(interleaved.metrics).toEqual(alone.metrics);
    expect(interleaved.adapter).toEqual(alone.adapter);
  });
});
