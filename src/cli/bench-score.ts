/**
 * `twosome bench score --model M --json`: TWOSOME's scoring with the shared prompt (ours) against each
 * `prompt + action` as its own sequence in one batch (the original implementation's method), same device,
 * same run: a 150-token prompt (BOS included) and 8 actions of 5 tokens, random ids from a fixed seed.
 * Prints {"sharedMs","separateMs","speedup", "maxLogprobDiff", "device", "kernels":{...}, "profile":[...],
 * "matvec":{...}, "subgroups":{...}}: what ran (engine.kernelInfo: adapter, precision, subgroup size, matmul
 * kernel), per-kernel GFLOP/s and GB/s of the shared pass (timestamp queries), the q4 matrix-vector
 * kernel's GB/s on the model's largest matrix, and, where the device has `subgroups`, the same pass and
 * matrix-vector product with the subgroup kernels and with the f32 workgroup kernels (per-kernel ms of each,
 * and the largest log-prob difference between the two). The main figures use the engine's default choice
 * (GpuContext.useSubgroups; TWOSOME_SUBGROUPS=0 or 1 changes it). On SwiftShader only the ratios mean
 * anything, and the subgroup/workgroup ratio not even those: there a barrier costs what it does on no GPU.
 */
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { createStorageBuffer } from '../gpu/buffers';
import { disposeCalls, type KernelCall } from '../gpu/kernel';
import { PipelineCache } from '../gpu/pipelines';
import { profileCalls, type KernelProfile } from '../gpu/profile';
import { LlamaEngine } from '../llm/engine/engine';
import { ScoringForward } from '../llm/engine/forward';
import { linearCall, type GpuLinear } from '../llm/engine/kernels/linear';
import { planScoring } from '../llm/engine/scoring-layout';
import { parseBenchBatchFlags, syntheticRequest } from './bench-batch';
import { resolveModelSource } from './model-source';

const USAGE = 'twosome bench score [--model DIR|URL|micro] [--prompt-tokens 150] [--actions 8] [--action-tokens 5] [--repeats 5] [--json]';

export async function benchScoreCommand(argv: string[]): Promise<number> {
  const flags = parseBenchBatchFlags(argv, USAGE, 5);
  const { promptTokens, actionCount, actionTokens, repeats } = flags;
  const gpu = await requestNodeGpuContext();
  const engine = await LlamaEngine.load(gpu, resolveModelSource(flags.model));
  const { device } = gpu;
  const pipelines = engine.pipelines; // the engine's default kernel choice
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
  const matvec = await profileMatvec(device, pipelines, largest);

  // Subgroup kernels against the f32 workgroup kernels, both on this device, when it has the feature.
  let subgroups: SubgroupComparison | null = null;
  if (gpu.features.subgroups) {
    const layout = planScoring([request], 'shared');
    const runWith = async (subgroupKernels: boolean) => {
      const cache = new PipelineCache(device, { subgroups: subgroupKernels });
      const forward = await ScoringForward.build(device, cache, engine.weights, layout);
      const { tokenLogprobs } = await forward.run();
      const profile = (await profileCalls(device, forward.kernelCalls, 3)) ?? [];
      forward.dispose();
      return { tokenLogprobs, profile, matvec: await profileMatvec(device, cache, largest) };
    };
    const on = await runWith(true);
    const off = await runWith(false);
    let maxDiff = 0;
    on.tokenLogprobs.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - off.tokenLogprobs[i]))));
    const offByLabel = new Map(off.profile.map((k) => [k.label, k]));
    subgroups = {
      engineDefault: engine.pipelines.subgroups,
      subgroupSizes: gpu.subgroupSizes,
      maxLogprobDiff: maxDiff,
      // Kernels without a subgroup variant (or whose shapes take the thread variant) run the same code both ways.
      kernels: on.profile.map((k) => ({ label: k.label, subgroupMs: round(k.ms), workgroupMs: round(offByLabel.get(k.label)?.ms ?? 0) })),
      matvec: on.matvec && off.matvec ? { subgroupGbps: round(on.matvec.gbps), workgroupGbps: round(off.matvec.gbps) } : null,
    };
  }
  const kernelInfo = engine.kernelInfo;
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
    kernels: kernelInfo,
    profile: kernels.map((k) => ({ label: k.label, ms: round(k.ms), gflops: round(k.gflops), gbps: round(k.gbps) })),
    matvec: matvec ? { format: largest.format, outDim: largest.outDim, inDim: largest.inDim, ms: round(matvec.ms / 8), gbps: round(matvec.gbps) } : null,
    subgroups,
  };
  gpu.device.destroy();
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(`shared ${result.sharedMs.toFixed(1)} ms, separate ${result.separateMs.toFixed(1)} ms: ${result.speedup.toFixed(2)}x (max |logprob diff| ${maxLogprobDiff.toExponential(2)})\n`);
    for (const k of result.profile)
      process.stdout.write(
        `  ${k.label.padEnd(20)} ${k.ms.toFixed(3).padStart(9)} ms ${k.gflops.toFixed(2).padStart(9)} GFLOP/s ` +
          `${k.gbps.toFixed(2).padStart(8)} GB/s\n`,
      );
    if (result.matvec) process.stdout.write(`  ${result.matvec.format} matvec ${result.matvec.outDim}x${result.matvec.inDim}: ${result.matvec.gbps} GB/s\n`);
    if (subgroups) {
      process.stdout.write(
        `subgroup kernels (sizes ${subgroups.subgroupSizes ? `${subgroups.subgroupSizes.min}-${subgroups.subgroupSizes.max}` : 'unreported'}; engine default ${subgroups.engineDefault ? 'on' : 'off'}) vs f32 workgroup kernels, max |logprob diff| ${subgroups.maxLogprobDiff.toExponential(2)}:\n`,
      );
      for (const k of subgroups.kernels) process.stdout.write(`  ${k.label.padEnd(20)} ${k.subgroupMs.toFixed(3).padStart(9)} ms with subgroups ${k.workgroupMs.toFixed(3).padStart(9)} ms without\n`);
      if (subgroups.matvec) process.stdout.write(`  matvec: ${subgroups.matvec.subgroupGbps} GB/s with subgroups, ${subgroups.matvec.workgroupGbps} GB/s without\n`);
    } else process.stdout.write('subgroup kernels: this device has no subgroups feature (or TWOSOME_SUBGROUPS=0)\n');
  }
  return 0;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

interface SubgroupComparison {
  engineDefault: boolean;
  subgroupSizes: { min: number; max: number } | null;
  maxLogprobDiff: number;
  kernels: { label: string; subgroupMs: number; workgroupMs: number }[];
  matvec: { subgroupGbps: number; workgroupGbps: number } | null;
}

/** One-token product on `w` with this cache's kernel choice, timed over 8 dispatches (null without timestamps). */
async function profileMatvec(device: GPUDevice, pipelines: PipelineCache, w: GpuLinear): Promise<KernelProfile | null> {
  const x = createStorageBuffer(device, w.inDim * 4);
  const y = createStorageBuffer(device, w.outDim * 4);
  // A weight split by rows is several dispatches; this times the first (all rows when unsplit).
  const calls: KernelCall[] = await linearCall({ device, pipelines }, x, w, y, 1);
  const [profile] = (await profileCalls(device, Array(8).fill(calls[0]), 3)) ?? [];
  disposeCalls(calls);
  x.destroy();
  y.destroy();
  return profile ?? null;
}
