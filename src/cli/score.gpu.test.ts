// `twosome score` as a user runs it: the real bin script, Dawn's WebGPU, the shipped micro model.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEnv } from '../envs/registry';
import { scoreWithLora } from '../llm/reference/backward';
import { scoreActions } from '../llm/reference/score';
import { policies } from '../rl/policy';
import { MICRO, QV, trainedAdapter } from '../share/testing';
import { loadLlamaModelAndTokenizer } from '../llm/model/weights-node';
import { md5Hex } from '../llm/model/md5';
import { withoutDawnLimitNotices } from '../gpu/test-adapter';
import { startHostileServer } from '../util/hostile-server';
import { peftAdapterDir, twosome, TWOSOME_BIN } from './testing';

const MICRO_DIR = resolve(process.cwd(), 'public/models/micro');

/** The micro model with a NaN in a norm weight (its md5 updated, so only the value is wrong). */
function nanModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twosome-nan-model-'));
  cpSync(MICRO_DIR, dir, { recursive: true });
  const cache = JSON.parse(readFileSync(join(dir, 'tensor-cache.json'), 'utf8'));
  const norm = cache.records[0].records.find((t: { name: string }) => t.name === 'model.norm.weight');
  const shard = readFileSync(join(dir, 'params_shard_0.bin'));
  shard.writeUInt16LE(0x7e00, norm.byteOffset + 2);
  cache.records[0].md5sum = md5Hex(shard);
  writeFileSync(join(dir, 'params_shard_0.bin'), shard);
  writeFileSync(join(dir, 'tensor-cache.json'), JSON.stringify(cache));
  return dir;
}

describe('twosome score', () => {
  it('replays the actions and prints the scores and policies of the CPU reference (micro model)', async () => {
    const proc = twosome(['score', '--model', 'micro', '--task', 'entertainment', '--actions', '0,1', '--json']);
    expect(proc.stderr).toBe('');
    expect(proc.status).toBe(0);
    const out = JSON.parse(proc.stdout);
    expect(Object.keys(out)).toEqual(['prompt', 'promptTokenIds', 'actions', 'policy', 'kernels']);
    // What ran: the adapter as it names itself, f32 products, the micro model's K = 64 on the thread kernel, its
    // heads of 16 on the thread attention (no tiles).
    expect(Object.keys(out.kernels)).toEqual([
      'adapter',
      'precision',
      'subgroupSize',
      'subgroups',
      'matmul',
      'attention',
    ]);
    expect(out.kernels).toMatchObject({
      precision: 'f32',
      matmul: 'matmul_q4_thread',
      attention: { kernel: 'thread', forwardTiles: null, backwardTiles: null },
    });
    expect(out.kernels.adapter).toMatch(/\S/);

    const env = createEnv('entertainment');
    env.reset(0);
    env.step(0);
    env.step(1);
    const { prompt, actions } = env.observe();
    const { weights, tokenizer } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
    const ref = scoreActions(weights, tokenizer, prompt, actions);
    expect(out.prompt).toBe(prompt);
    expect(out.promptTokenIds).toEqual(ref.promptIds);
    expect(out.actions.map((a: { text: string }) => a.text)).toEqual(actions);
    out.actions.forEach((a: { tokenIds: number[]; logprob: number; nTokens: number; nWords: number }, k: number) => {
      expect(Object.keys(a)).toEqual(['text', 'tokenIds', 'logprob', 'nTokens', 'nWords']);
      expect(a.tokenIds).toEqual(ref.actions[k].tokenIds);
      expect(Math.abs(a.logprob - ref.actions[k].logprob)).toBeLessThan(1e-4);
      expect([a.nTokens, a.nWords]).toEqual([ref.actions[k].nTokens, ref.actions[k].nWords]);
    });
    // The policies of the reference's scores (rl/policy.ts: the one place they are made).
    const refPolicies = policies({
      logprobs: ref.actions.map((a) => a.logprob),
      nTokens: ref.actions.map((a) => a.nTokens),
      nWords: ref.actions.map((a) => a.nWords),
    });
    expect(Object.keys(out.policy)).toEqual(['sum', 'token', 'word']);
    for (const mode of ['sum', 'token', 'word'] as const) {
      out.policy[mode].forEach((p: number, k: number) => expect(Math.abs(p - refPolicies[mode][k])).toBeLessThan(1e-4));
    }
  });

  it('--adapter DIR: the same tokens, scored by the adapted model (the CPU reference with that adapter)', async () => {
    const adapter = trainedAdapter(MICRO, QV, 3, 0.5);
    const dir = peftAdapterDir(adapter, 'twosome-score-adapter-');
    const frozen = JSON.parse(twosome(['score', '--task', 'tomato-salad', '--actions', '0', '--json']).stdout);
    const proc = twosome(['score', '--task', 'tomato-salad', '--actions', '0', '--adapter', dir, '--json']);
    expect(proc.stderr).toBe('');
    expect(proc.status).toBe(0);
    const out = JSON.parse(proc.stdout);
    expect(out.promptTokenIds).toEqual(frozen.promptTokenIds);
    expect(out.actions.map((a: { tokenIds: number[] }) => a.tokenIds)).toEqual(
      frozen.actions.map((a: { tokenIds: number[] }) => a.tokenIds),
    );

    const { weights } = await loadLlamaModelAndTokenizer(resolve(process.cwd(), 'public/models/micro'));
    const ref = scoreWithLora(
      weights,
      adapter,
      [{ promptIds: out.promptTokenIds, actions: out.actions.map((a: { tokenIds: number[] }) => a.tokenIds) }],
      { layout: 'shared', precision: 'float32' },
    );
    let moved = 0;
    out.actions.forEach((a: { logprob: number }, k: number) => {
      expect(Math.abs(a.logprob - ref.logprobs[0][k])).toBeLessThan(1e-4);
      moved = Math.max(moved, Math.abs(a.logprob - frozen.actions[k].logprob));
    });
    expect(moved).toBeGreaterThan(1e-3); // the adapter changes the scores

    const bad = twosome(['score', '--task', 'tomato-salad', '--adapter', join(dir, 'nowhere')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^.*--adapter .*nowhere: no such directory$/);
  });

  for (const [name, args, message] of [
    ['missing model directory', ['score', '--model', '/no/such/model', '--task', 'tomato-salad'], /no such directory/],
    ['plain http URL', ['score', '--model', 'http://example.com/m/', '--task', 'tomato-salad'], /only https:\/\/ URLs/],
    [
      'directory that is not a model',
      ['score', '--model', 'src', '--task', 'tomato-salad'],
      /mlc-chat-config\.json: missing/,
    ],
    [
      'bad replayed index',
      ['score', '--task', 'tomato-salad', '--actions', '9'],
      /--actions step 0: invalid action index 9/,
    ],
    ['a NaN weight', ['score', '--model', nanModel(), '--task', 'tomato-salad'], /"model.norm.weight" holds a non-fin/],
  ] as const) {
    it(`bad input: ${name} -> one line, exit 2`, () => {
      const proc = twosome([...args]);
      expect(proc.status).toBe(2);
      expect(proc.stderr.trim().split('\n')).toHaveLength(1);
      expect(proc.stderr).toMatch(message);
    });
  }

  it('a model server that stalls mid-shard is retried, then named (exit 2); nothing hangs', async () => {
    const names = ['mlc-chat-config.json', 'tensor-cache.json', 'tokenizer.json', 'params_shard_0.bin'];
    const files = new Map(names.map((f) => [f, readFileSync(join(MICRO_DIR, f))]));
    const server = await startHostileServer((path) => {
      const body = files.get(path.slice('/m/'.length));
      if (!body) return undefined;
      return path.endsWith('.bin') ? { body, stallAfter: 1000 } : { body };
    });
    try {
      const child = spawn(
        process.execPath,
        [TWOSOME_BIN, 'score', '--model', `${server.url}m/`, '--task', 'tomato-salad'],
        {
          env: { ...process.env, TWOSOME_IDLE_TIMEOUT_S: '0.3' },
        },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      const code = await new Promise((done) => child.on('close', done));
      expect(code).toBe(2);
      const shard = `${server.url}m/params_shard_0.bin`;
      const failed = `^twosome: ${shard}: download failed after 4 attempts \\(no data for 0.3 s`;
      expect(withoutDawnLimitNotices(stderr)).toMatch(new RegExp(failed));
      expect(server.requests.filter((p) => p.endsWith('.bin'))).toHaveLength(4);
    } finally {
      await server.close();
    }
  });

  it('bench score and bench train print their JSON contract (tiny batch; numbers only mean something on a GPU)', () => {
    const score = twosome(['bench', 'score', '--prompt-tokens', '12', '--actions', '3', '--repeats', '1', '--json']);
    expect(score.stderr).toBe('');
    const s = JSON.parse(score.stdout);
    expect(s).toMatchObject({ promptTokens: 12, actions: 3, actionTokens: 5 });
    expect(s.speedup).toBeCloseTo(s.separateMs / s.sharedMs, 10);
    expect(s.maxLogprobDiff).toBeLessThan(1e-4);
    expect(s.profile.map((k: { label: string }) => k.label)).toContain('matmul_q4');
    // The micro model: K = 64, heads of 16.
    expect(s.kernels).toMatchObject({ precision: 'f32', matmul: 'matmul_q4_thread', attention: { kernel: 'thread' } });
    expect(s.matmul.passes.tiled.attentionMs).toBeGreaterThan(0); // timed, as the profile above is
    // Old and new matrix products side by side (the micro model takes the thread kernels: the same results).
    expect(s.matmul.passes.legacy.maxLogprobDiff).toBe(0);
    expect(s.matmul.passes.tiled.maxLogprobDiff).toBeLessThan(1e-4);
    expect(s.matmul.speedup).toBeGreaterThan(0);
    const train = twosome(['bench', 'train', '--prompt-tokens', '12', '--actions', '2', '--repeats', '1', '--json']);
    expect(train.stderr).toBe('');
    const t = JSON.parse(train.stdout);
    expect(Object.keys(t).slice(0, 3)).toEqual(['sharedMs', 'separateMs', 'speedup']);
    expect(t.gradientRelativeDiff).toBeLessThan(1e-4);
    expect(t.kernels).toEqual(s.kernels);
    expect(t.matmul.passes.tiled.gradientRelativeDiff).toBeLessThan(1e-4);
  });
});
