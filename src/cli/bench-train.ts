/**
 * `twosome bench train --json`: one policy update (forward with LoRA, backward, AdamW step) with the shared
 * prompt against each `prompt + action` as its own sequence, same device and run: a 150-token prompt
 * (BOS included) and N actions of 5 tokens (default 8), random ids. Prints {"sharedMs","separateMs","speedup"}
 * plus the gradient agreement of the two layouts, "kernels" (what ran: engine.kernelInfo) and "matmul":
 * the shared update with the legacy matrix-product kernels, the tiled ones in f32 and (with shader-f16) in f16,
 * the flash attention backward's tiles in the same precision (bench-matmul.ts), timed in turns on this device (median
 * ms, and each one's LoRA gradient against the legacy f32 one's).
 */
import type { PipelineCache } from '../gpu/pipelines';
import { LoraBackward } from '../llm/engine/backward';
import { ScoringForward } from '../llm/engine/forward';
import { readLora } from '../llm/train/gpu-lora';
import { LoraTrainer } from '../llm/train/lora-trainer';
import { planScoring } from '../llm/engine/scoring-layout';
import { Rng } from '../util/rng';
import { loadBenchEngine, parseBenchBatchFlags } from './bench-batch';
import { matmulSets, round, type MatmulSetName } from './bench-matmul';

export async function benchTrainCommand(argv: string[]): Promise<number> {
  const flags = parseBenchBatchFlags(argv, 'train', 3);
  const { promptTokens, actionCount, actionTokens, repeats } = flags;
  const { gpu, engine, request } = await loadBenchEngine(flags);
  const trainer = LoraTrainer.create(engine, { seed: 1, optimizer: { lr: 1e-4 } });
  const { device } = gpu;
  const rng = new Rng(2);
  const tokenGrads = Float32Array.from({ length: actionCount * actionTokens }, () => rng.normal());

  /** One update in a layout: forward (LoRA, checkpoints), backward, optimizer step; plans built outside the timing. */
  const prepare = async (mode: 'shared' | 'separate', pipelines: PipelineCache) => {
    const forward = await ScoringForward.build(device, pipelines, engine.weights, planScoring([request], mode), {
      lora: trainer.lora,
      keepCheckpoints: true,
    });
    const backward = await LoraBackward.build(device, pipelines, forward);
    await trainer.optimizer.prepare();
    const update = async () => {
      await forward.run();
      backward.run(tokenGrads);
      const encoder = device.createCommandEncoder();
      trainer.optimizer.encodeStep(encoder, 0); // lr 0: the step's full cost, parameters unchanged
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    // The gradient of this layout (before any timed step zeroes it), for the agreement check.
    await forward.run();
    backward.run(tokenGrads);
    const grads = await readLora(device, trainer.lora, 'grads');
    await update(); // warm-up, and zeroes the gradients
    const dispose = () => {
      forward.dispose();
      backward.dispose();
    };
    return { update, grads, dispose };
  };
  /** Median ms of `repeats` updates of each prepared update, timed in turns (one of each per round). */
  const timeInTurns = async (updates: (() => Promise<void>)[]) => {
    const times = updates.map(() => [] as number[]);
    for (let i = 0; i < repeats; i++) {
      for (const [u, update] of updates.entries()) {
        const start = performance.now();
        await update();
        times[u].push(performance.now() - start);
      }
    }
    return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
  };
  const timeMode = async (mode: 'shared' | 'separate') => {
    const prepared = await prepare(mode, engine.pipelines);
    const [ms] = await timeInTurns([prepared.update]);
    prepared.dispose();
    return { ms, grads: prepared.grads };
  };
  const shared = await timeMode('shared');
  const separate = await timeMode('separate');

  // The matrix-product kernels side by side (bench-matmul.ts), the shared layout.
  const sets = matmulSets(gpu, engine.pipelines.subgroups);
  const prepared: ({ name: MatmulSetName } & Awaited<ReturnType<typeof prepare>>)[] = [];
  for (const set of sets) prepared.push({ name: set.name, ...(await prepare('shared', set.pipelines)) });
  const times = await timeInTurns(prepared.map((p) => p.update));
  const passes: Record<MatmulSetName, { ms: number; gradientRelativeDiff: number } | null> = {
    legacy: null,
    tiled: null,
    tiledF16: null,
  };
  prepared.forEach((p, i) => {
    passes[p.name] = { ms: round(times[i]), gradientRelativeDiff: gradientDiff(p.grads, prepared[0].grads) };
    p.dispose();
  });
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? round(a / b) : null);
  const matmul = {
    passes,
    speedup: ratio(passes.legacy?.ms, passes.tiled?.ms),
    f16Speedup: ratio(passes.tiled?.ms, passes.tiledF16?.ms),
  };

  const result = {
    sharedMs: shared.ms,
    separateMs: separate.ms,
    speedup: separate.ms / shared.ms,
    gradientRelativeDiff: gradientDiff(shared.grads, separate.grads),
    promptTokens,
    actions: actionCount,
    actionTokens,
    device: { ...gpu.adapterInfo, software: gpu.isSoftware },
    kernels: engine.kernelInfo,
    matmul,
  };
  trainer.dispose();
  engine.dispose();
  device.destroy();
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `update: shared ${result.sharedMs.toFixed(1)} ms, separate ${result.separateMs.toFixed(1)} ms: ` +
        `${result.speedup.toFixed(2)}x (gradient rel. diff ${result.gradientRelativeDiff.toExponential(2)})\n`,
    );
    for (const [name, r] of Object.entries(passes))
      if (r)
        process.stdout.write(
          `  ${name.padEnd(10)} matrix products: ${r.ms.toFixed(1)} ms, ` +
            `gradient rel. diff vs legacy ${r.gradientRelativeDiff.toExponential(2)}\n`,
        );
  }
  return 0;
}

/** ||a - b|| / ||b|| over every LoRA gradient. */
function gradientDiff(a: { a: Float32Array; b: Float32Array }[], b: { a: Float32Array; b: Float32Array }[]): number {
  let diff = 0;
  let norm = 0;
  a.forEach((g, i) =>
    (['a', 'b'] as const).forEach((key) =>
      g[key].forEach((v, k) => {
        diff += (v - b[i][key][k]) ** 2;
        norm += b[i][key][k] ** 2;
      }),
    ),
  );
  return Math.sqrt(diff / Math.max(norm, 1e-30));
}
