// `twosome train` and `twosome compare` without a GPU: flag validation (one-line usage errors, before any GPU
// work) and the PPO-MLP baseline end to end (CPU), with resume.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadCheckpoint } from '../rl/checkpoint-node';
import { compareCommand } from './compare';
import { evalCommand } from './eval';
import { metricsLine, runConfig, trainCommand } from './train';
import { evalSummary, metricsLines, readMetrics } from './testing';

const work = mkdtempSync(join(tmpdir(), 'twosome-train-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a command in-process, capturing stdout and stderr. */
async function run(fn: (argv: string[]) => Promise<number>, argv: string[]) {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await fn(argv);
    return { code, out, err, error: null as Error | null };
  } catch (error) {
    return { code: null, out, err, error: error as Error };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('train / eval / compare: bad input is a one-line usage error', () => {
  const cases: [string, (argv: string[]) => Promise<number>, string[], RegExp][] = [
    ['unknown task', trainCommand, ['--task', 'soup', '--model', 'micro'], /unknown task "soup"/],
    ['missing task', trainCommand, ['--model', 'micro'], /--task is required/],
    ['unknown algo', trainCommand, ['--task', 'tomato-salad', '--algo', 'dqn'], /unknown algorithm "dqn"/],
    ['unknown preset', trainCommand, ['--task', 'tomato-salad', '--preset', 'huge'], /unknown preset "huge"/],
    ['missing resume dir', trainCommand, ['--resume', join(work, 'nothing-here')], /--resume .*no such run directory/],
    ['resume dir without checkpoint', trainCommand, ['--resume', work], /--resume: .*no checkpoint/],
    [
      'bad model dir',
      trainCommand,
      ['--task', 'tomato-salad', '--model', join(work, 'no-model')],
      /--model .*no such directory/,
    ],
    [
      'steps below one batch',
      trainCommand,
      ['--task', 'tomato-salad', '--steps', '10'],
      /bad training config: totalTimesteps \(10\) must be at least one batch \(64\)/,
    ],
    [
      'bad override',
      trainCommand,
      ['--task', 'tomato-salad', '--grad-accum', '3'],
      /gradientAccumulationSteps \(3\) must divide/,
    ],
    ['bad normalization', trainCommand, ['--task', 'tomato-salad', '--normalization', 'mean'], /--normalization/],
    ['unknown backend', trainCommand, ['--task', 'tomato-salad', '--backend', 'tpu'], /unknown backend "tpu"/],
    [
      'cpu backend with a URL model',
      trainCommand,
      ['--task', 'tomato-salad', '--backend', 'cpu', '--model', 'https://example.com/m/'],
      /--backend cpu needs a model directory/,
    ],
    ['eval: unknown task', evalCommand, ['--task', 'soup'], /unknown task/],
    [
      'eval: missing adapter dir',
      evalCommand,
      ['--task', 'tomato-salad', '--adapter', join(work, 'none')],
      /--adapter .*no such directory/,
    ],
    [
      'eval: adapter dir without PEFT files',
      evalCommand,
      ['--task', 'tomato-salad', '--adapter', work],
      /adapter_config\.json and adapter_model\.safetensors/,
    ],
    ['compare: bad seeds', compareCommand, ['--task', 'tomato-salad', '--seeds', '1,x'], /--seeds/],
    [
      'compare: unknown algo',
      compareCommand,
      ['--task', 'tomato-salad', '--algos', 'twosome,dqn'],
      /unknown algorithm "dqn"/,
    ],
  ];
  for (const [name, fn, argv, message] of cases) {
    it(name, async () => {
      const r = await run(fn, argv);
      expect(r.error?.name).toBe('UsageError');
      expect(r.error?.message).toMatch(message);
      expect(r.error?.message.split('\n')).toHaveLength(1);
    });
  }

  it('a damaged checkpoint is a usage error', async () => {
    const dir = join(work, 'damaged');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'checkpoint.bin'), 'not a checkpoint');
    const r = await run(trainCommand, ['--resume', dir]);
    expect(r.error?.name).toBe('UsageError');
    expect(r.error?.message).toMatch(/unreadable|not a twosome-web checkpoint/);
  });
});

describe('configs from flags', () => {
  it('presets, --steps, --seed and overrides', () => {
    const c = runConfig('twosome', 'food-preparation', 'quick', {
      seed: 5,
      steps: 640,
      overrides: { numEnvs: 2, policyLr: 1e-3 },
    });
    expect([c.seed, c.totalTimesteps, c.numEnvs, c.numSteps, c.policyLr, c.valueLr]).toEqual([
      5, 640, 2, 16, 1e-3, 1e-3,
    ]);
    const p = runConfig('twosome', 'tomato-salad', 'paper', {});
    expect([p.policyLr, p.numSteps, p.totalTimesteps]).toEqual([5e-7, 32, 500_000]);
    // PPO-MLP: the paper's script under either preset, the rollout shortened when --steps is below one batch
    const m = runConfig('ppo-mlp', 'tomato-salad', 'quick', { steps: 96, seed: 2 });
    expect([m.numEnvs, m.numSteps, m.numMinibatches, m.totalTimesteps, m.seed]).toEqual([4, 24, 4, 96, 2]);
    expect(runConfig('ppo-mlp', 'tomato-salad', 'quick', {}).totalTimesteps).toBe(500_000);
  });

  it('a metrics line names the update, steps, return and speed', () => {
    const line = metricsLine('twosome', {
      update: 2,
      numUpdates: 5,
      globalStep: 128,
      primitiveSteps: 300,
      episodes: 1,
      episodesTotal: 1,
      episodicReturn: 0.5,
      successRate: 1,
      episodeLength: 6,
      policyLr: 1,
      valueLr: 1,
      valueLoss: 0.1,
      policyLoss: -0.01,
      entropy: 1.2,
      approxKl: 0.003,
      oldApproxKl: 0,
      clipFrac: 0.1,
      explainedVariance: 0,
      policySteps: 2,
      valueSteps: 2,
      klStopped: true,
      timing: { sps: 3.5, rolloutSeconds: 1, updateSeconds: 1 },
      tokensPerSecond: 900,
      gpuMemoryBytes: 3 * 2 ** 20,
    });
    expect(line).toContain('update 2/5');
    expect(line).toContain('return 0.500');
    expect(line).toContain('(stop)');
    expect(line).toContain('900 tok/s');
    expect(line).toContain('gpu ~3 MiB');
  });
});

describe('twosome train --algo ppo-mlp (CPU)', () => {
  it('writes run.json, metrics.jsonl and a checkpoint; resuming a finished run adds nothing', async () => {
    const dir = join(work, 'ppo');
    const args = ['--task', 'food-preparation', '--algo', 'ppo-mlp', '--steps', '1536', '--seed', '3'];
    const full = await run(trainCommand, [...args, '--out', join(work, 'ppo-full')]);
    expect(full.error).toBeNull();
    expect(full.code).toBe(0);
    expect(full.out).toMatch(/ppo-mlp food-preparation: 3\/3 updates, 1536 steps/);
    expect(full.err.trim().split('\n')).toHaveLength(3); // not a TTY: one line per update
    const lines = readMetrics(join(work, 'ppo-full'));
    expect(lines.map((l) => l.update)).toEqual([1, 2, 3]);
    expect(lines[0].algo).toBe('ppo-mlp');
    expect(JSON.parse(readFileSync(join(work, 'ppo-full', 'run.json'), 'utf8'))).toMatchObject({
      algo: 'ppo-mlp',
      task: 'food-preparation',
      model: null,
    });

    // a 1-update run
    const first = await run(trainCommand, [...args, '--out', dir, '--steps', '512']);
    expect(first.code).toBe(0);
    const ck = await loadCheckpoint(dir);
    expect(ck.algo).toBe('ppo-mlp');
    expect(ck.state.update).toBe(1);
    // a 1-update run is complete; resuming it does nothing more
    const again = await run(trainCommand, ['--resume', dir]);
    expect(again.code).toBe(0);
    expect(metricsLines(dir)).toHaveLength(1);
    expect(existsSync(join(dir, 'checkpoint.bin'))).toBe(true);
  });

  it('resume continues a run exactly (the checkpoint after update 1 of 3)', async () => {
    const dir = join(work, 'ppo-resume');
    const args = ['--task', 'food-preparation', '--algo', 'ppo-mlp', '--steps', '1536', '--seed', '3', '--out', dir];
    // stop after the first update through the abort signal: emulate Ctrl-C by a SIGINT during the run
    const started = run(trainCommand, args);
    setTimeout(() => process.emit('SIGINT'), 0);
    const r = await started;
    expect(r.code).toBe(130);
    const done = (await loadCheckpoint(dir)).state.update;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(3);
    // --max-updates stops early too; --resume finishes the run
    const more = await run(trainCommand, ['--resume', dir, '--max-updates', '1']);
    expect(more.code).toBe(0);
    expect((await loadCheckpoint(dir)).state.update).toBe(done + 1);
    if (done + 1 < 3) expect(more.out).toMatch(/stopped early; continue with --resume/);
    const resumed = await run(trainCommand, ['--resume', dir]);
    expect(resumed.code).toBe(0);
    const strip = (l: string) => {
      const { timing: _t, ...rest } = JSON.parse(l);
      return rest;
    };
    const a = metricsLines(dir).map(strip);
    const b = metricsLines(join(work, 'ppo-full')).map(strip);
    expect(a).toEqual(b);
  });
});

describe('TWOSOME on the CPU backend (reference implementation of the micro model)', () => {
  it('train --backend cpu writes the run; eval --backend cpu --adapter reads its adapter', async () => {
    const dir = join(work, 'twosome-cpu');
    const r = await run(trainCommand, [
      '--task',
      'food-preparation',
      '--model',
      'micro',
      '--backend',
      'cpu',
      '--steps',
      '64',
      '--envs',
      '2',
      '--rollout-steps',
      '4',
      '--policy-minibatches',
      '2',
      '--value-minibatches',
      '1',
      '--grad-accum',
      '2',
      '--prompts-per-pass',
      '8',
      '--out',
      dir,
    ]);
    expect(r.error).toBeNull();
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/twosome food-preparation: 8\/8 updates, 64 steps/);
    const metrics = readMetrics(dir);
    expect(metrics).toHaveLength(8);
    expect(metrics[7].policySteps).toBe(1);
    expect(metrics[7].gpuMemoryBytes).toBeNull();
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).toMatchObject({
      algo: 'twosome',
      backend: 'cpu',
      model: 'micro',
    });
    expect(JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'))).toMatchObject({
      peft_type: 'LORA',
      r: 8,
    });
    const out = await evalSummary([
      '--task',
      'food-preparation',
      '--backend',
      'cpu',
      '--adapter',
      dir,
      '--episodes',
      '3',
    ]);
    expect(out.episodes).toBe(3);
  });
});

describe('twosome compare --algos ppo-mlp (CPU)', () => {
  it('runs every seed and writes curves.csv, aggregate.csv and compare.svg', async () => {
    const dir = join(work, 'cmp');
    const r = await run(compareCommand, [
      '--task',
      'tomato-salad',
      '--algos',
      'ppo-mlp',
      '--steps',
      '1024',
      '--seeds',
      '1,2',
      '--out',
      dir,
    ]);
    expect(r.error).toBeNull();
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/PPO \(MLP\) +final return/);
    const csv = readFileSync(join(dir, 'curves.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('algorithm,seed,env_steps,episodic_return');
    expect(csv.filter((l) => l.startsWith('PPO (MLP),1,'))).toHaveLength(2);
    expect(csv.filter((l) => l.startsWith('PPO (MLP),2,'))).toHaveLength(2);
    expect(readFileSync(join(dir, 'aggregate.csv'), 'utf8')).toMatch(/^algorithm,env_steps,mean_return/);
    const svg = readFileSync(join(dir, 'compare.svg'), 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('Tomato Salad');
    expect(existsSync(join(dir, 'ppo-mlp-seed1', 'metrics.jsonl'))).toBe(true);
    expect(existsSync(join(dir, 'ppo-mlp-seed2', 'checkpoint.bin'))).toBe(true);
  });
});
