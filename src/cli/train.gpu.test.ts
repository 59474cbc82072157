// `twosome train`, `eval` and `compare` end to end on WebGPU with the shipped micro model: a tiny TWOSOME run
// writes its files (metrics, PEFT adapter, critic, checkpoint), resumes after an interrupt, and its adapter
// evaluates; compare runs the three algorithms and draws their curves.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../rl/checkpoint-node';
import { bindAdapter, decodeCritic, decodePeftAdapter } from '../share';
import { compareCommand } from './compare';
import { trainCommand } from './train';
import { runCommand, tempDir } from '../util/testing';
import { evalSummary, metricsLines, readMetrics } from './testing';

const work = tempDir('twosome-cli-');

const run = (fn: (argv: string[]) => Promise<number>, argv: string[], onStderr?: (text: string) => void) =>
  runCommand(() => fn(argv), onStderr);

// 2 envs x 2 steps per update, one policy and one value minibatch: a few seconds per update on SwiftShader.
const TINY = [
  '--envs',
  '2',
  '--rollout-steps',
  '2',
  '--policy-minibatches',
  '1',
  '--value-minibatches',
  '1',
  '--grad-accum',
  '1',
  '--policy-lr',
  '1e-3',
];

describe('twosome train / eval (micro model, WebGPU)', () => {
  it('train writes metrics, a PEFT adapter, the critic and a checkpoint; --resume continues after Ctrl-C', async () => {
    const dir = join(work, 'run');
    // Ctrl-C during the first update: the run stops after it, with its checkpoint.
    let sent = false;
    const first = await run(
      trainCommand,
      ['--task', 'tomato-salad', '--model', 'micro', '--steps', '8', '--seed', '2', '--out', dir, ...TINY],
      (text) => {
        if (!sent && text.includes('update 1/2')) {
          sent = true;
          process.emit('SIGINT');
        }
      },
    );
    expect(first.code).toBe(130);
    expect(first.out).toMatch(/1\/2 updates.*stopped early; continue with --resume/);
    expect((await loadCheckpoint(dir)).state.update).toBe(1);

    const second = await run(trainCommand, ['--resume', dir]);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/twosome tomato-salad: 2\/2 updates, 8 steps/);
    const metrics = readMetrics(dir);
    expect(metrics.map((m) => m.update)).toEqual([1, 2]);
    for (const m of metrics) {
      expect(m.algo).toBe('twosome');
      for (const k of [
        'globalStep',
        'entropy',
        'approxKl',
        'policyLoss',
        'valueLoss',
        'tokensPerSecond',
        'gpuMemoryBytes',
      ])
        expect(Number.isFinite(m[k])).toBe(true);
      expect(Object.keys(m)).toEqual(expect.arrayContaining(['episodicReturn', 'successRate', 'clipFrac', 'timing']));
    }
    const ck = await loadCheckpoint(dir);
    expect(ck.algo).toBe('twosome');
    expect(ck.state.update).toBe(2);
    expect(ck.run).toMatchObject({ task: 'tomato-salad', model: 'micro', preset: 'quick' });

    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 16,
      lora_dropout: 0,
      target_modules: ['q_proj', 'v_proj'],
      task_type: 'CAUSAL_LM',
    });
    const weights = new Uint8Array(readFileSync(join(dir, 'adapter_model.safetensors')));
    const decoded = decodePeftAdapter({ config: readFileSync(join(dir, 'adapter_config.json'), 'utf8'), weights });
    const adapter = bindAdapter(
      decoded.weights,
      { hidden: 64, intermediate: 128, heads: 4, kvHeads: 2, headDim: 16, layers: 2 },
      'adapter_model.safetensors',
    );
    expect(adapter.modules).toHaveLength(4);
    if (ck.algo === 'twosome') expect(adapter.modules[0].b).toEqual(ck.state.actor.adapter?.modules[0].b);
    const critic = decodeCritic(
      new Uint8Array(readFileSync(join(dir, 'critic.safetensors'))),
      [64, 256, 128, 1],
      'critic.safetensors',
    );
    if (ck.algo === 'twosome') expect(critic.weights).toEqual(ck.state.critic.weights);
  });

  it('eval --json: the adapter of a run, and the frozen model (SayCan when greedy)', async () => {
    const dir = join(work, 'run');
    const a = await evalSummary(['--task', 'tomato-salad', '--adapter', dir, '--episodes', '2', '--greedy']);
    expect(a.task).toBe('tomato-salad');
    expect(a.episodes).toBe(2);
    expect(a.successRate).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(a.meanReturn)).toBe(true);
    // crossover / unseen task with the frozen model
    const frozen = await evalSummary(['--task', 'pizza', '--episodes', '1', '--greedy']);
    expect(frozen).toMatchObject({ task: 'pizza', episodes: 1 });
  });

  it('compare: TWOSOME, PPO-MLP and SayCan on the same seed -> run directories, CSV curves and the SVG plot', async () => {
    const dir = join(work, 'compare');
    const r = await run(compareCommand, [
      '--task',
      'tomato-salad',
      '--model',
      'micro',
      '--steps',
      '4',
      '--seeds',
      '1',
      '--episodes',
      '1',
      '--out',
      dir,
      ...TINY,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/TWOSOME +final return/);
    expect(r.out).toMatch(/SayCan +final return/);
    const saycan = readMetrics(join(dir, 'saycan-seed1'));
    expect(saycan).toHaveLength(1);
    expect(saycan[0]).toMatchObject({ algo: 'saycan', episodes: 1, greedy: true });
    expect(metricsLines(join(dir, 'twosome-seed1'))).toHaveLength(1);
    expect(metricsLines(join(dir, 'ppo-mlp-seed1'))).toHaveLength(1);
    const csv = readFileSync(join(dir, 'curves.csv'), 'utf8');
    for (const name of ['TWOSOME,1,4,', 'PPO (MLP),1,4,', 'SayCan,1,,']) expect(csv).toContain(name);
    const svg = readFileSync(join(dir, 'compare.svg'), 'utf8');
    for (const name of ['TWOSOME', 'PPO (MLP)', 'SayCan', 'optimal 0.92']) expect(svg).toContain(name);
  });
});
