/**
 * `twosome bench score --model M --json`: TWOSOME's scoring with the shared prompt (ours) against each
 * `prompt + action` as its own sequence in one batch (the original implementation's method), same device,
 * same run: a 150-token prompt (BOS included) and 8 actions of 5 tokens, random ids from a fixed seed.
 * Prints {"sharedMs","separateMs","speedup","maxLogprobDiff", "device", "kernels":{...}, "profile":[...],
 * "matvec":{...}, "matmul":{...}, "subgroups":{...}}:
 *   kernels   what the engine ran (engine.kernelInfo): adapter, precision, subgroup size, matmul kernel,
 *             attention kernel and its tiles' precision forward and backward;
 *   profile   per-kernel GPU time, GFLOP/s and GB/s of the shared pass (timestamp queries);
 *   matvec    the engine's one-row product on the model's largest matrix, GB/s;
 *   matmul    the matrix-product kernels side by side on this device: the shared pass with the legacy kernels,
 *             the tiled ones in f32 and (with shader-f16) in f16 (wall ms, the
 *             matrix products' and attention's GPU ms, and each one's largest log-prob difference from the
 *             legacy f32 pass), the q4 matrix-vector kernel's
 *             GB/s (one row on the largest matrix) and the GEMM's GFLOP/s (the pass's rows on the largest
 *             layer matrix) for each;
 *   subgroups where the device has `subgroups`: the pass and the matrix-vector product with the subgroup
 *             kernels and with the f32 workgroup kernels (per-kernel ms, largest log-prob difference).
 * The main figures use the engine's default choice (GpuContext.useSubgroups, TWOSOME_SUBGROUPS; f16 where the
 * device has it). On SwiftShader and lavapipe only the ratios mean anything, and the subgroup/workgroup and
 * f16/f32 ratios not even those: there a barrier costs what it does on no GPU and f16 runs as f32.
 */
import type { GpuContext } from '../gpu/device';
import { PipelineCache } from '../gpu/pipelines';
import { profileCalls, type KernelProfile } from '../gpu/profile';
import { LlamaEngine } from '../llm/engine/engine';
import { ScoringForward } from '../llm/engine/forward';
import type { GpuLinear } from '../llm/engine/kernels/linear';
import { planScoring, type ScoringRequest } from '../llm/engine/scoring-layout';
import { loadBenchEngine, parseBenchBatchFlags } from './bench-batch';
import {
  largestMatrix,
  matmulMs,
  attentionMs,
  matmulSets,
  modelMatrices,
  profileProduct,
  round,
  type MatmulSetName,
} from './bench-matmul';

export async function benchScoreCommand(argv: string[]): Promise<number> {
  const flags = parseBenchBatchFlags(argv, 'score', 5);
  const { promptTokens, actionCount, actionTokens, repeats } = flags;
  const { gpu, engine, request } = await loadBenchEngine(flags);
  const { device } = gpu;
  const pipelines = engine.pipelines; // the engine's default kernel choice

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

  const profile = (await profileCalls(device, shared.forward.kernelCalls, 3)) ?? [];
  shared.forward.dispose();
  separate.forward.dispose();

  // The matrix-vector product (one token) on the model's largest matrix: bandwidth-bound, so GB/s.
  const { layers, lmHead } = modelMatrices(engine.weights);
  const largest = largestMatrix([lmHead, ...layers]);
  const matvec = await profileMatvec(device, pipelines, largest);
  const matmul = await compareMatmulKernels(gpu, engine, request, repeats);

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
      kernels: on.profile.map((k) => ({
        label: k.label,
        subgroupMs: round(k.ms),
        workgroupMs: round(offByLabel.get(k.label)?.ms ?? 0),
      })),
      matvec:
        on.matvec && off.matvec ? { subgroupGbps: round(on.matvec.gbps), workgroupGbps: round(off.matvec.gbps) } : null,
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
    profile: profile.map((k) => ({ label: k.label, ms: round(k.ms), gflops: round(k.gflops), gbps: round(k.gbps) })),
    matvec: matvec
      ? {
          format: largest.format,
          outDim: largest.outDim,
          inDim: largest.inDim,
          ms: round(matvec.ms / 8),
          gbps: round(matvec.gbps),
        }
      : null,
    matmul,
    subgroups,
  };
  gpu.device.destroy();
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const k = result.kernels;
    process.stdout.write(
      `kernels: ${k.matmul} matrix products in ${k.precision}, ${k.attention.kernel} attention` +
        `${k.attention.forwardTiles ? ` (${k.attention.forwardTiles} forward tiles)` : ''}, ` +
        `subgroup size ${k.subgroupSize ?? 'none'}, on ${k.adapter}\n`,
    );
    process.stdout.write(
      `shared ${result.sharedMs.toFixed(1)} ms, separate ${result.separateMs.toFixed(1)} ms: ` +
        `${result.speedup.toFixed(2)}x (max |logprob diff| ${maxLogprobDiff.toExponential(2)})\n`,
    );
    for (const p of result.profile)
      process.stdout.write(
        `  ${p.label.padEnd(28)} ${p.ms.toFixed(3).padStart(9)} ms ` +
          `${p.gflops.toFixed(2).padStart(9)} GFLOP/s ${p.gbps.toFixed(2).padStart(8)} GB/s\n`,
      );
    if (result.matvec)
      process.stdout.write(
        `  ${result.matvec.format} matvec ${result.matvec.outDim}x${result.matvec.inDim}: ${result.matvec.gbps} GB/s\n`,
      );
    process.stdout.write(
      'matrix products, shared pass (wall ms / matrix-product GPU ms / attention GPU ms / max |logprob diff| ' +
        'vs legacy):\n',
    );
    for (const [name, r] of Object.entries(matmul.passes)) {
      if (r)
        process.stdout.write(
          `  ${name.padEnd(10)} ${r.ms.toFixed(2).padStart(10)} ms ` +
            `${(r.matmulMs ?? NaN).toFixed(3).padStart(10)} ms ${(r.attentionMs ?? NaN).toFixed(3).padStart(9)} ms ` +
            `${r.maxLogprobDiff.toExponential(2)}\n`,
        );
    }
    for (const [name, r] of Object.entries(matmul.gemv))
      if (r) process.stdout.write(`  ${name} q4 matvec ${matmul.largestMatrix}: ${r.gbps} GB/s\n`);
    for (const [name, r] of Object.entries(matmul.gemm))
      if (r) process.stdout.write(`  ${name} GEMM ${matmul.gemmShape}: ${r.gflops} GFLOP/s\n`);
    if (subgroups) {
      process.stdout.write(
        `subgroup kernels (sizes ${subgroups.subgroupSizes ? `${subgroups.subgroupSizes.min}-${subgroups.subgroupSizes.max}` : 'unreported'}; engine default ${subgroups.engineDefault ? 'on' : 'off'}) vs f32 workgroup kernels, max |logprob diff| ${subgroups.maxLogprobDiff.toExponential(2)}:\n`,
      );
      for (const k of subgroups.kernels)
        process.stdout.write(
          `  ${k.label.padEnd(20)} ${k.subgroupMs.toFixed(3).padStart(9)} ms with subgroups ` +
            `${k.workgroupMs.toFixed(3).padStart(9)} ms without\n`,
        );
      if (subgroups.matvec)
        process.stdout.write(
          `  matvec: ${subgroups.matvec.subgroupGbps} GB/s with subgroups, ` +
            `${subgroups.matvec.workgroupGbps} GB/s without\n`,
        );
    } else process.stdout.write('subgroup kernels: this device has no subgroups feature (or TWOSOME_SUBGROUPS=0)\n');
  }
  return 0;
}

interface SubgroupComparison {
  engineDefault: boolean;
  subgroupSizes: { min: number; max: number } | null;
  maxLogprobDiff: number;
  kernels: { label: string; subgroupMs: number; workgroupMs: number }[];
  matvec: { subgroupGbps: number; workgroupGbps: number } | null;
}

/** One-token product on `w` with this cache's kernel choice (null without timestamps). */
function profileMatvec(device: GPUDevice, pipelines: PipelineCache, w: GpuLinear): Promise<KernelProfile | null> {
  return profileProduct(device, pipelines, w, 1);
}

interface MatmulPass {
  /** Wall time of the shared pass, median of the repeats. */
  ms: number;
  /** GPU time of its matrix products (timestamp queries; null without them). */
  matmulMs: number | null;
  /** GPU time of its attention (the forward: f32 tiles in every set, kernels/attention.ts). */
  attentionMs: number | null;
  /** Largest |log-prob difference| from the legacy f32 pass. */
  maxLogprobDiff: number;
}

/**
 * The shared pass and the q4 products with each kernel set of bench-matmul.ts: the comparison of old and new
 * matrix-product kernels (and f16 and f32) on this device.
 */
async function compareMatmulKernels(gpu: GpuContext, engine: LlamaEngine, request: ScoringRequest, repeats: number) {
  const { device } = gpu;
  const layout = planScoring([request], 'shared');
  const sets = matmulSets(gpu, engine.pipelines.subgroups);
  const passes: Record<MatmulSetName, MatmulPass | null> = { legacy: null, tiled: null, tiledF16: null };
  const gemv: Record<MatmulSetName, { gbps: number; ms: number } | null> = {
    legacy: null,
    tiled: null,
    tiledF16: null,
  };
  const gemm: Record<MatmulSetName, { gflops: number; ms: number } | null> = {
    legacy: null,
    tiled: null,
    tiledF16: null,
  };
  const { layers, lmHead } = modelMatrices(engine.weights);
  const q4 = [lmHead, ...layers].filter((w) => w.format === 'q4');
  const vector = q4.length > 0 ? largestMatrix(q4) : null;
  const layer = largestMatrix(layers);
  const rows = layout.tokens.length;
  // Every set's pass built first, then timed in turns (one run of each per round), so that a change in the
  // machine's load during the benchmark falls on all of them alike.
  const built = [];
  for (const set of sets) {
    const forward = await ScoringForward.build(device, set.pipelines, engine.weights, layout);
    const { tokenLogprobs } = await forward.run(); // warm-up: pipelines, first-use allocations
    built.push({ ...set, forward, tokenLogprobs, times: [] as number[] });
  }
  for (let i = 0; i < repeats; i++) {
    for (const b of built) {
      const start = performance.now();
      await b.forward.run();
      b.times.push(performance.now() - start);
    }
  }
  const legacy = built[0].tokenLogprobs;
  for (const { name, pipelines, forward, tokenLogprobs, times } of built) {
    times.sort((x, y) => x - y);
    const profile = await profileCalls(device, forward.kernelCalls, 3);
    forward.dispose();
    let maxLogprobDiff = 0;
    tokenLogprobs.forEach((v, i) => (maxLogprobDiff = Math.max(maxLogprobDiff, Math.abs(v - legacy[i]))));
    const ms = matmulMs(profile);
    const attention = attentionMs(profile);
    passes[name] = {
      ms: round(times[Math.floor(times.length / 2)]),
      matmulMs: ms === null ? null : round(ms),
      attentionMs: attention === null ? null : round(attention),
      maxLogprobDiff,
    };
    // A q4 model only: the matrix-vector kernel's GB/s is the q4 kernels' figure of merit.
    const v = vector ? await profileProduct(device, pipelines, vector, 1) : null;
    gemv[name] = v ? { gbps: round(v.gbps), ms: round(v.ms / 8) } : null;
    const g = await profileProduct(device, pipelines, layer, rows);
    gemm[name] = g ? { gflops: round(g.gflops), ms: round(g.ms / 8) } : null;
  }
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? round(a / b) : null);
  return {
    passes,
    /** legacy / tiled f32 wall time of the pass, and tiled f32 / tiled f16. */
    speedup: ratio(passes.legacy?.ms, passes.tiled?.ms),
    f16Speedup: ratio(passes.tiled?.ms, passes.tiledF16?.ms),
    largestMatrix: vector ? `${vector.outDim}x${vector.inDim}` : null,
    gemmShape: `${rows}x${layer.outDim}x${layer.inDim}`,
    gemv,
    gemm,
  };
}
