/**
 * `twosome bench score --model M --json`: TWOSOME's scoring with the shared prompt (ours) against each
 * `prompt + action` as its own sequence in one batch (the original implementation's method), same device,
 * same run: a 150-token prompt (BOS included) and 8 actions of 5 tokens, random ids from a fixed seed.
 * Prints {"sharedMs","separateMs","speedup", "maxLogprobDiff", "device", "kernels":[...], "matvec":{...}}:
 * per-kernel GFLOP/s and GB/s of the shared pass (timestamp queries), and the q4 matrix-vector kernel's GB/s
 * on the model's largest matrix. On SwiftShader only the ratios mean anything.
 */
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { createStorageBuffer } from '../gpu/buffers';
import { disposeCalls } from '../gpu/kernel';
import { PipelineCache } from '../gpu/pipelines';
import { profileCalls } from '../gpu/profile';
import { LlamaEngine } from '../llm/engine';
import { ScoringForward } from '../llm/forward';
import { linearCall } from '../llm/kernels/linear';
import { planScoring } from '../llm/scoring-layout';
import { parseBenchBatchFlags, syntheticRequest } from './bench-batch';
import { resolveModelSource } from './model-source';

const USAGE = 'twosome bench score [--model DIR|URL|micro] [--prompt-tokens 150] [--actions 8] [--action-tokens 5] [--repeats 5] [--json]';

export async function benchScoreCommand(argv: string[]): Promise<number> {
  const flags = parseBenchBatchFlags(argv, USAGE, 5);
  const { promptTokens, actionCount, actionTokens, repeats } = flags;
  const gpu = await requestNodeGpuContext();
  const engine = await LlamaEngine.load(gpu, resolveModelSource(flags.model));
  const { device } = gpu;
  const pipelines = new PipelineCache(device);
  const request = syntheticRequest(flags, engine.config.vocabSize, engine.config.bosTokenId);

  const timeMode = async (mode: 'shared' | 'separate') => {
    const forward = await ScoringForward.build(device, pipelines, engine.weights, planScoring([request], mode));
    const first = await forward.run(); // warm-up: pipelines, first-use allocations
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      await forward.run();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return { forward, ms: times[Math.floor(times.length / 2)], logprobs: first.tokenLogprobs };
  };
  const shared = await timeMode('shared');
  const separate = await timeMode('separate');
  let maxLogprobDiff = 0;
  shared.logprobs.forEach((v, i) => (maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(v - separate.logprobs[i]))));

  const kernels = (await profileCalls(device, shared.forward.kernelCalls, 3)) ?? [];
  shared.forward.dispose();
  separate.forward.dispose();

  // The matrix-vector product (one token) on the model's largest matrix: bandwidth-bound, so GB/s.
  const largest = [engine.weights.lmHead, ...engine.weights.layers.flatMap((l) => [l.qkv, l.o, l.gateUp, l.down])].reduce((a, b) =>
    a.outDim * a.inDim >= b.outDim * b.inDim ? a : b,
  );
  const x = createStorageBuffer(device, largest.inDim * 4);
  const y = createStorageBuffer(device, largest.outDim * 4);
  const matvecCall = await linearCall({ device, pipelines }, x, largest, y, 1);
  const [matvec] = (await profileCalls(device, Array(8).fill(matvecCall), 3)) ?? [];
  disposeCalls([matvecCall]);
  x.destroy();
  y.destroy();
  engine.dispose();

  const result = {
    sharedMs: shared.ms,
    separateMs: separate.ms,
    speedup: separate.ms / shared.ms,
    maxLogprobDiff,
    promptTokens,
    actions: actionCount,
    actionTokens,
    device: { ...gpu.adapterInfo, software: gpu.isSoftware },
    kernels: kernels.map((k) => ({ label: k.label, ms: round(k.ms), gflops: round(k.gflops), gbps: round(k.gbps) })),
    matvec: matvec ? { format: largest.format, outDim: largest.outDim, inDim: largest.inDim, ms: round(matvec.ms / 8), gbps: round(matvec.gbps) } : null,
  };
  gpu.device.destroy();
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(`shared ${result.sharedMs.toFixed(1)} ms, separate ${result.separateMs.toFixed(1)} ms: ${result.speedup.toFixed(2)}x (max |logprob diff| ${maxLogprobDiff.toExponential(2)})\n`);
    for (const k of result.kernels) process.stdout.write(`  ${k.label.padEnd(20)} ${k.ms.toFixed(3).padStart(9)} ms ${k.gflops.toFixed(2).padStart(9)} GFLOP/s ${k.gbps.toFixed(2).padStart(8)} GB/s\n`);
    if (result.matvec) process.stdout.write(`  q4 matvec ${result.matvec.outDim}x${result.matvec.inDim}: ${result.matvec.gbps} GB/s\n`);
  }
  return 0;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
