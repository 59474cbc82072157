// `twosome score` as a user runs it: the real bin script, Dawn's WebGPU, the shipped micro model.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEnv } from '../envs/registry';
import { scoreActions } from '../llm/reference/score';
import { loadLlamaModelAndTokenizer } from '../llm/weights-node';

const BIN = resolve(process.cwd(), 'bin/twosome.mjs');
const twosome = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('twosome score', () => {
  it('replays the actions and prints the scores and policies of the CPU reference (micro model)', async () => {
    const proc = twosome(['score', '--model', 'micro', '--task', 'entertainment', '--actions', '0,1', '--json']);
    expect(proc.stderr).toBe('');
    expect(proc.status).toBe(0);
    const out = JSON.parse(proc.stdout);
    expect(Object.keys(out)).toEqual(['prompt', 'promptTokenIds', 'actions', 'policy']);

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
    for (const mode of ['sum', 'token', 'word']) {
      out.policy[mode].forEach((p: number, k: number) => expect(Math.abs(p - ref.policies[mode as 'sum'][k])).toBeLessThan(1e-4));
    }
  });

  for (const [name, args, message] of [
    ['missing model directory', ['score', '--model', '/no/such/model', '--task', 'tomato-salad'], /no such directory/],
    ['plain http URL', ['score', '--model', 'http://example.com/m/', '--task', 'tomato-salad'], /only https:\/\/ URLs/],
    ['directory that is not a model', ['score', '--model', 'src', '--task', 'tomato-salad'], /mlc-chat-config\.json: missing/],
    ['bad replayed index', ['score', '--task', 'tomato-salad', '--actions', '9'], /--actions step 0: invalid action index 9/],
  ] as const) {
    it(`bad input: ${name} -> one line, exit 2`, () => {
      const proc = twosome([...args]);
      expect(proc.status).toBe(2);
      expect(proc.stderr.trim().split('\n')).toHaveLength(1);
      expect(proc.stderr).toMatch(message);
    });
  }

  it('bench score and bench train print their JSON contract (tiny batch; numbers only mean something on a GPU)', () => {
    const score = twosome(['bench', 'score', '--prompt-tokens', '12', '--actions', '3', '--repeats', '1', '--json']);
    expect(score.stderr).toBe('');
    const s = JSON.parse(score.stdout);
    expect(s).toMatchObject({ promptTokens: 12, actions: 3, actionTokens: 5 });
    expect(s.speedup).toBeCloseTo(s.separateMs / s.sharedMs, 10);
    expect(s.maxLogprobDiff).toBeLessThan(1e-4);
    expect(s.kernels.map((k: { label: string }) => k.label)).toContain('matmul_q4');
    const train = twosome(['bench', 'train', '--prompt-tokens', '12', '--actions', '2', '--repeats', '1', '--json']);
    expect(train.stderr).toBe('');
    const t = JSON.parse(train.stdout);
    expect(Object.keys(t).slice(0, 3)).toEqual(['sharedMs', 'separateMs', 'speedup']);
    expect(t.gradientRelativeDiff).toBeLessThan(1e-4);
  });
});
