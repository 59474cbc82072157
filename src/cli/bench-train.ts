/**
 * `twosome bench train --json`: one policy update (forward with LoRA, backward, AdamW step) with the shared
 * prompt against each `prompt + action` as its own sequence, same device and run: a 150-token prompt
 * (BOS included) and N actions of 5 tokens (default 8), random ids. Prints {"sharedMs","separateMs","speedup"}
 * plus the gradient agreement of the two layouts and what ran ("kernels": engine.kernelInfo).
 */
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LoraBackward } from '../llm/engine/backward';
import { LlamaEngine } from '../llm/engine/engine';
import { ScoringForward } from '../llm/engine/forward';
import { readLora } from '../llm/train/gpu-lora';
import { LoraTrainer } from '../llm/train/lora-trainer';
import { planScoring } from '../llm/engine/scoring-layout';
import { Rng } from '../util/rng';
import { parseBenchBatchFlags, syntheticRequest } from './bench-batch';
import { resolveModelSource } from './model-source';

const USAGE = 'twosome bench train [--model DIR|URL|micro] [--prompt-tokens 150] [--actions 8] [--action-tokens 5] [--repeats 3] [--json]';

export async function benchTrainCommand(argv: string[]): Promise<number> {
  const flags = parseBenchBatchFlags(argv, USAGE, 3);
  const { promptTokens, actionCount, actionTokens, repeats } = flags;
  const gpu = await requestNodeGpuContext();
  const engine = await LlamaEngine.load(gpu, resolveModelSource(flags.model));
  const trainer = LoraTrainer.create(engine, { seed: 1, optimizer: { lr: 1e-4 } });
  const { device } = gpu;
  const request = syntheticRequest(flags, engine.config.vocabSize, engine.config.bosTokenId);
  const rng = new Rng(2);
  const tokenGrads = Float32Array.from({ length: actionCount * actionTokens }, () => rng.normal());

  /** One update in a layout: forward (LoRA, checkpoints), backward, optimizer step; plans built outside the timing. */
  const timeMode = async (mode: 'shared' | 'separate') => {
    const forward = await ScoringForward.build(device, engine.pipelines, engine.weights, planScoring([request], mode), { lora: trainer.lora, keepCheckpoints: true });
    const backward = await LoraBackward.build(device, engine.pipelines, forward);
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
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      await update();
      times.push(performance.now() - start);
    }
    forward.dispose();
    backward.dispose();
    times.sort((a, b) => a - b);
    return { ms: times[Math.floor(times.length / 2)], grads };
  };
  const shared = await timeMode('shared');
  const separate = await timeMode('separate');
  let diff = 0;
  let norm = 0;
  shared.grads.forEach((g, i) =>
    (['a', 'b'] as const).forEach((key) =>
      g[key].forEach((v, k) => {
        diff += (v - separate.grads[i][key][k]) ** 2;
        norm += separate.grads[i][key][k] ** 2;
      }),
    ),
  );
  const result = {
    sharedMs: shared.ms,
    separateMs: separate.ms,
    speedup: separate.ms / shared.ms,
    gradientRelativeDiff: Math.sqrt(diff / Math.max(norm, 1e-30)),
    promptTokens,
    actions: actionCount,
    actionTokens,
    device: { ...gpu.adapterInfo, software: gpu.isSoftware },
    kernels: engine.kernelInfo,
  };
  trainer.dispose();
  engine.dispose();
  device.destroy();
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`update: shared ${result.sharedMs.toFixed(1)} ms, separate ${result.separateMs.toFixed(1)} ms: ${result.speedup.toFixed(2)}x (gradient rel. diff ${result.gradientRelativeDiff.toExponential(2)})\n`);
  return 0;
}
