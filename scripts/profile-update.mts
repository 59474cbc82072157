/**
 * Where one TWOSOME PPO update's time goes on the WebGPU engine (the learning test's setup: micro model,
 * `quick` preset on Tomato Salad, seed 1, 32 prompts per pass), with the CPU reference for comparison.
 *
 *   npx tsx scripts/profile-update.mts [--updates 3] [--cpu 3] [--kernels] [--state FILE] [--json]
 *
 * --kernels adds the per-kernel GPU time (timestamp queries) of the last policy pass; --state starts both
 * trainers from a saved run (node:v8 serialization of TwosomeTrainer.getState()), e.g. one late in training.
 *
 * Per update: wall seconds split into rollout scoring (adapter on), features (adapter off), critic values,
 * value minibatches (critic forward + backward), policy passes (forward + backward), optimizer steps and zeroing;
 * and counts of the WebGPU calls that cost on SwiftShader: dispatches, submits, mapAsync readbacks,
 * writeBuffer, createBuffer, createBindGroup, createCommandEncoder, pipelines and shader modules created.
 * The counts come from wrapping Dawn's prototypes, so they cover everything the engine does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deserialize } from 'node:v8';
import { parseArgs } from 'node:util';
import { nodeGpu, requestNodeGpuContext } from '../src/gpu/node-gpu';
import { profileCalls } from '../src/gpu/profile';
import type { KernelCall } from '../src/gpu/kernel';
import { LoraBackward } from '../src/llm/engine/backward';
import { LlamaEngine } from '../src/llm/engine/engine';
import { ScoringForward } from '../src/llm/engine/forward';
import { planScoring } from '../src/llm/engine/scoring-layout';
import type { PolicyRequest } from '../src/llm/scores';
import { directorySource, loadLlamaModelAndTokenizer } from '../src/llm/model/weights-node';
import { quickPpoConfig, type PpoConfig } from '../src/rl/config';
import { createCpuTwosomeModels } from '../src/rl/twosome-cpu';
import { createGpuTwosomeModels } from '../src/rl/twosome-gpu';
import { TwosomeTrainer, twosomeSeeds, type TwosomeModels, type TwosomeState } from '../src/rl/twosome-trainer';

const { values: args } = parseArgs({
  options: {
    updates: { type: 'string', default: '3' },
    cpu: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    kernels: { type: 'boolean', default: false },
    state: { type: 'string' },
  },
});
const GPU_UPDATES = Number(args.updates);
const CPU_UPDATES = Number(args.cpu);

const CONFIG: PpoConfig = { ...quickPpoConfig('tomato-salad'), seed: 1 };
const RUN = { promptsPerPass: 32 };
const MODEL = resolve(process.cwd(), 'public/models/micro');

// ---- counters on Dawn's prototypes
const counts: Record<string, number> = {};
function count<T extends object>(proto: T, method: string, name = method): void {
  const p = proto as Record<string, unknown>;
  const original = p[method] as ((...a: unknown[]) => unknown) | undefined;
  if (typeof original !== 'function') return;
  counts[name] = 0;
  p[method] = function (this: unknown, ...a: unknown[]) {
    counts[name]++;
    return original.apply(this, a);
  };
}
await nodeGpu(); // installs the globals (GPUDevice, ...)
const g = globalThis as unknown as Record<string, { prototype: object }>;
// What is counted, by interface: a method, or [method, its name in the report].
const COUNTED: Record<string, (string | [string, string])[]> = {
  GPUComputePassEncoder: [['dispatchWorkgroups', 'dispatch'], 'setBindGroup'],
  GPUCommandEncoder: ['beginComputePass', 'copyBufferToBuffer', 'clearBuffer'],
  GPUQueue: ['submit', 'writeBuffer', 'onSubmittedWorkDone'],
  GPUBuffer: [
    ['mapAsync', 'mapAsync (readback)'],
    ['destroy', 'buffer.destroy'],
  ],
  GPUDevice: [
    'createBuffer',
    'createBindGroup',
    'createCommandEncoder',
    'createComputePipeline',
    'createComputePipelineAsync',
    'createShaderModule',
  ],
};
for (const [iface, methods] of Object.entries(COUNTED)) {
  for (const m of methods) {
    const [method, name] = typeof m === 'string' ? [m, m] : m;
    count(g[iface].prototype, method, name);
  }
}
const snapshot = () => ({ ...counts });
const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));

// ---- phase timers on the actor and critic
const phases: Record<string, { ms: number; calls: number }> = {};
/** Runs `run`, adding its wall time and one call to phase `name`. */
async function inPhase<T>(name: string, run: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await run();
  } finally {
    const e = (phases[name] ??= { ms: 0, calls: 0 });
    e.ms += performance.now() - t;
    e.calls++;
  }
}
function timed<T extends object>(
  obj: T,
  method: keyof T & string,
  phase: string | ((...a: unknown[]) => string),
): void {
  const o = obj as Record<string, unknown>;
  const original = (o[method] as (...a: unknown[]) => Promise<unknown>).bind(obj);
  o[method] = (...a: unknown[]) => inPhase(typeof phase === 'string' ? phase : phase(...a), () => original(...a));
}
let inRollout = false;
// Plan building (buffers, uniforms, bind groups) of the engine's passes, timed apart from running them.
for (const [cls, name] of [
  [ScoringForward, 'engine: ScoringForward.create'],
  [LoraBackward, 'engine: LoraBackward.create'],
] as const) {
  const c = cls as unknown as { create: (...a: unknown[]) => Promise<unknown> };
  const original = c.create.bind(cls);
  c.create = (...a: unknown[]) => inPhase(name, () => original(...a));
}
function instrument(models: TwosomeModels): TwosomeModels {
  timed(models.actor, 'observe', 'rollout: actor.observe (scores, features, values: one submission)');
  timed(models.actor, 'score', 'rollout: actor.score (adapter on)');
  timed(models.actor, 'features', 'rollout: actor.features (adapter off)');
  timed(models.critic, 'values', () => (inRollout ? 'rollout: critic.values' : 'critic.values'));
  timed(models.critic, 'accumulate', 'value: critic.accumulate');
  timed(models.critic, 'step', 'value: critic.step');
  timed(models.critic, 'zeroGrad', 'value: critic.zeroGrad');
  timed(models.actor, 'accumulate', 'policy: actor.accumulate (fwd+bwd)');
  timed(models.actor, 'step', 'policy: actor.step');
  timed(models.actor, 'zeroGrad', 'policy: actor.zeroGrad');
  return models;
}

const model = await loadLlamaModelAndTokenizer(MODEL);
const ctx = await requestNodeGpuContext();
const engine = await LlamaEngine.load(ctx, directorySource(MODEL));
console.error(`device: ${ctx.adapterInfo.description || ctx.adapterInfo.vendor} (software: ${ctx.isSoftware})`);

interface Row {
  update: number;
  seconds: number;
  rolloutSeconds: number;
  updateSeconds: number;
  phases: Record<string, { ms: number; calls: number }>;
  counts: Record<string, number>;
  policyLoss: number | null;
  valueLoss: number | null;
}

async function runUpdates(label: string, trainer: TwosomeTrainer, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  // The rollout is the first part of runUpdate; mark it through the timing the trainer reports.
  const origCollect = (trainer as unknown as { collectRollout: () => Promise<unknown> }).collectRollout.bind(trainer);
  (trainer as unknown as { collectRollout: () => Promise<unknown> }).collectRollout = async () => {
    inRollout = true;
    try {
      return await origCollect();
    } finally {
      inRollout = false;
    }
  };
  for (let i = 0; i < n; i++) {
    for (const k of Object.keys(phases)) delete phases[k];
    const c0 = snapshot();
    const t0 = performance.now();
    const m = await trainer.runUpdate();
    const seconds = (performance.now() - t0) / 1000;
    const row: Row = {
      update: m.update,
      seconds,
      rolloutSeconds: m.timing.rolloutSeconds,
      updateSeconds: m.timing.updateSeconds,
      phases: structuredClone(phases),
      counts: diff(c0, snapshot()),
      policyLoss: m.policyLoss,
      valueLoss: m.valueLoss,
    };
    rows.push(row);
    console.error(
      `${label} update ${m.update}: ${seconds.toFixed(2)} s (rollout ${m.timing.rolloutSeconds.toFixed(2)}, optimize ${m.timing.updateSeconds.toFixed(2)}) policyLoss ${m.policyLoss} valueLoss ${m.valueLoss}`,
    );
  }
  return rows;
}

const gpuModels = instrument(createGpuTwosomeModels(engine, CONFIG, twosomeSeeds(CONFIG.seed)));
const captured: { policy: PolicyRequest[] | null } = { policy: null };
{
  const a = gpuModels.actor as unknown as { accumulate: (r: PolicyRequest[], f: unknown) => Promise<void> };
  const original = a.accumulate.bind(a);
  a.accumulate = (r, f) => {
    captured.policy = r.slice();
    return original(r, f);
  };
}
const gpuTrainer = new TwosomeTrainer(CONFIG, gpuModels, RUN);
// --state FILE: start from a saved run (node:v8 serialization of TwosomeTrainer.getState()), e.g. late in training.
const saved = args.state ? (deserialize(readFileSync(args.state)) as TwosomeState) : null;
if (saved) await gpuTrainer.setState(saved);
const gpuRows = await runUpdates('gpu', gpuTrainer, GPU_UPDATES);
let cpuRows: Row[] = [];
if (CPU_UPDATES > 0) {
  const cpuTrainer = new TwosomeTrainer(
    CONFIG,
    instrument(createCpuTwosomeModels(model.weights, model.tokenizer, CONFIG, twosomeSeeds(CONFIG.seed))),
    RUN,
  );
  if (saved) await cpuTrainer.setState(saved);
  cpuRows = await runUpdates('cpu', cpuTrainer, CPU_UPDATES);
}

// Per-kernel GPU time (timestamp queries) of the last policy pass's forward and backward.
if (args.kernels && captured.policy) {
  const lastPolicyRequests = captured.policy;
  const layout = planScoring(engine.tokenize(lastPolicyRequests));
  const lora = (
    gpuTrainer.actor as unknown as {
      trainer: {
        lora: Parameters<typeof ScoringForward.build>[4] extends infer O
          ? O extends { lora?: infer L }
            ? L
            : never
          : never;
      };
    }
  ).trainer.lora;
  const forward = await ScoringForward.build(ctx.device, engine.pipelines, engine.weights, layout, {
    lora,
    keepCheckpoints: true,
  });
  const backward = await LoraBackward.build(ctx.device, engine.pipelines, forward);
  const calls = [...forward.kernelCalls, ...(backward as unknown as { calls: KernelCall[] }).calls];
  const prof = (await profileCalls(ctx.device, calls, 3)) ?? [];
  const total = prof.reduce((a, p) => a + p.ms, 0);
  console.log(
    `\nper-kernel GPU time of one policy pass (${lastPolicyRequests.length} prompts, ${layout.tokens.length} rows, ${layout.logitRows.length} scored tokens): ${total.toFixed(1)} ms in ${calls.length} dispatches`,
  );
  for (const p of prof.sort((a, b) => b.ms - a.ms))
    console.log(
      `  ${p.label.padEnd(28)} ${p.ms.toFixed(1).padStart(8)} ms ${String(p.calls).padStart(4)} calls  ${p.gflops.toFixed(2)} GFLOP/s`,
    );
  forward.dispose();
  backward.dispose();
}

if (args.json) {
  console.log(JSON.stringify({ gpu: gpuRows, cpu: cpuRows }, null, 1));
} else {
  for (const [label, rows] of [
    ['gpu', gpuRows],
    ['cpu', cpuRows],
  ] as const) {
    for (const r of rows) {
      console.log(
        `\n== ${label} update ${r.update}: ${r.seconds.toFixed(3)} s (rollout ${r.rolloutSeconds.toFixed(3)} s, optimization ${r.updateSeconds.toFixed(3)} s)`,
      );
      for (const [name, p] of Object.entries(r.phases).sort((a, b) => b[1].ms - a[1].ms))
        console.log(
          `  ${name.padEnd(42)} ${(p.ms / 1000).toFixed(3).padStart(7)} s  ${String(p.calls).padStart(4)} calls`,
        );
      if (label === 'gpu')
        console.log(
          '  ' +
            Object.entries(r.counts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', '),
        );
    }
  }
  const steady = (rows: Row[]) => (rows.length > 1 ? rows.slice(1) : rows);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const g = mean(steady(gpuRows).map((r) => r.seconds));
  const c = mean(steady(cpuRows).map((r) => r.seconds));
  console.log(
    `\nmean per update (after the first): gpu ${g.toFixed(3)} s${cpuRows.length ? `, cpu ${c.toFixed(3)} s, gpu/cpu ${(g / c).toFixed(2)}` : ''}`,
  );
}

engine.dispose();
ctx.device.destroy();
