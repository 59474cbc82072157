// The `twosome env play` contract, run as a user runs it: the real bin script in a child process.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(process.cwd(), 'bin/twosome.mjs');
const fixture = JSON.parse(readFileSync(resolve(process.cwd(), '../shared/spec/data/overcooked-optimal.json'), 'utf8'));
const foodPrep = JSON.parse(
  readFileSync(resolve(process.cwd(), '../shared/spec/data/virtualhome-food-preparation-states.json'), 'utf8'),
);

function twosome(args: string[], input?: string) {
  const proc = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return {
    code: proc.status,
    stdout: proc.stdout,
    stderr: proc.stderr,
    lines: proc.stdout.split('\n').filter(Boolean),
  };
}

describe('twosome env play --json', () => {
  for (const [taskId, key] of [
    ['tomato-salad', 'tomato_salad'],
    ['tomato-lettuce-salad', 'tomato_lettuce_salad'],
  ] as const) {
    it(`replays the official optimal ${taskId} episode exactly`, () => {
      const episode = fixture[key].optimal;
      const actions = episode.steps.map((s: { macro_index: number }) => s.macro_index);
      const { code, lines, stderr } = twosome([
        'env',
        'play',
        '--task',
        taskId,
        '--actions',
        actions.join(','),
        '--json',
      ]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(lines).toHaveLength(actions.length + 1);
      expect(JSON.parse(lines[0])).toEqual({ prompt: episode.initial.prompt, actions: episode.initial.actions });
      episode.steps.forEach((step: Record<string, unknown>, i: number) => {
        const line = JSON.parse(lines[i + 1]);
        expect(Object.keys(line)).toEqual([
          'action',
          'actionText',
          'reward',
          'done',
          'primitiveSteps',
          'prompt',
          'actions',
        ]);
        expect(line.action).toBe(step.macro_index);
        expect(line.actionText).toBe(step.action_text);
        expect(Math.abs(line.reward - (step.reward as number))).toBeLessThanOrEqual(1e-9);
        expect(line.done).toBe(step.done);
        expect(line.primitiveSteps).toBe(step.primitive_steps);
        expect(line.prompt).toBe(step.prompt);
        expect(line.actions).toEqual(step.actions);
      });
    });
  }

  it('replays many episodes from --actions-file on stdin, tagging each line with its episode', () => {
    const path = foodPrep.shortest_success_path as string[];
    const ids: number[] = [];
    let state = foodPrep.states[foodPrep.initial_state];
    for (const text of path) {
      const index = state.actions.indexOf(text);
      ids.push(index);
      state = foodPrep.states[state.next[index][0]];
    }
    const input = `${JSON.stringify(ids)}\n\n[1,0]\n[]\n`;
    const { code, lines, stderr } = twosome(
      ['env', 'play', '--task', 'food-preparation', '--actions-file', '-', '--json'],
      input,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.map((l) => l.episode)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
    expect(parsed[0]).toEqual({ episode: 0, prompt: foodPrep.states[0].prompt, actions: foodPrep.states[0].actions });
    expect(parsed[6]).toMatchObject({
      episode: 0,
      reward: 1,
      done: true,
      primitiveSteps: 1,
      actionText: 'close the microwave',
    });
    expect(parsed[7].prompt).toBe(foodPrep.states[0].prompt);
  });

  it('prints a readable transcript without --json', () => {
    const { code, stdout } = twosome(['env', 'play', '--task', 'tomato-salad', '--actions', '0']);
    expect(code).toBe(0);
    expect(stdout).toContain('[0] pick up the tomato');
    expect(stdout).toContain('> pick up the tomato');
  });

  it('plays interactively from stdin', () => {
    const { code, stdout } = twosome(['env', 'play', '--task', 'tomato-salad'], '0\n9\nq\n');
    expect(code).toBe(0);
    expect(stdout).toContain('Currently you are carrying an unchopped tomato in hand.');
    expect(stdout).toContain('Type a number from 0 to 4');
  });
});

describe('twosome env play: bad input is one line on stderr and exit code 2', () => {
  const cases: [string, string[], RegExp, string?][] = [
    ['unknown task', ['env', 'play', '--task', 'soup', '--actions', '0'], /unknown task "soup"/],
    ['missing task', ['env', 'play', '--actions', '0'], /--task is required/],
    [
      'index out of range',
      ['env', 'play', '--task', 'tomato-salad', '--actions', '0,7', '--json'],
      /step 1: invalid action index 7: this step offers 5 actions/,
    ],
    ['negative index', ['env', 'play', '--task', 'tomato-salad', '--actions', '-1'], /not a non-negative integer/],
    [
      'non-numeric index',
      ['env', 'play', '--task', 'entertainment', '--actions', '0,x'],
      /"x" is not a non-negative integer/,
    ],
    ['unknown flag', ['env', 'play', '--task', 'tomato-salad', '--bogus'], /Unknown option '--bogus'/],
    [
      'malformed actions-file line',
      ['env', 'play', '--task', 'tomato-salad', '--actions-file', '-', '--json'],
      /line 2: not JSON/,
      '[0]\n[0,\n',
    ],
    [
      'wrong actions-file shape',
      ['env', 'play', '--task', 'tomato-salad', '--actions-file', '-'],
      /line 1: must be a JSON array/,
      '{"a":1}\n',
    ],
    [
      'missing actions-file',
      ['env', 'play', '--task', 'tomato-salad', '--actions-file', '/no/such/file'],
      /cannot read --actions-file \/no\/such\/file: ENOENT/,
    ],
    [
      'action after the episode ended',
      ['env', 'play', '--task', 'tomato-salad', '--actions', '0,2,4,0,1,3,0'],
      /step 6: the episode already ended/,
    ],
    ['unknown command', ['soup'], /unknown command "soup"/],
  ];
  for (const [name, args, message, input] of cases) {
    it(name, () => {
      const { code, stderr } = twosome(args, input);
      expect(code).toBe(2);
      const errLines = stderr.split('\n').filter(Boolean);
      expect(errLines.length).toBeLessThanOrEqual(2); // the message, and for flag errors the usage line
      expect(errLines[0]).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
  }

  it('refuses an --actions-file that is not a regular file (FIFO, device, directory) without reading it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twosome-actions-'));
    try {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      for (const [file, kind] of [
        [join(dir, 'fifo'), 'a FIFO'],
        ['/dev/zero', 'a device'],
        [dir, 'a directory'],
      ]) {
        const { code, stderr } = twosome(['env', 'play', '--task', 'tomato-salad', '--actions-file', file]);
        expect(code, file).toBe(2);
        const advice = 'give a file, or - and pipe the lines to stdin';
        expect(stderr).toBe(`twosome: --actions-file ${file}: is ${kind}, not a regular file; ${advice}\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('caps a line from stdin (actions file and interactive play) before it is all read', () => {
    const endless = 'x'.repeat(3 << 20);
    const file = twosome(['env', 'play', '--task', 'tomato-salad', '--actions-file', '-'], `[0]\n${endless}`);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe(
      "twosome: --actions-file line 2: longer than 1048576 bytes; each line is one episode's JSON array of action " +
        'indices\n',
    );
    const play = twosome(['env', 'play', '--task', 'tomato-salad'], endless);
    expect(play.code).toBe(2);
    expect(play.stderr).toMatch(/^twosome: stdin line 1: longer than 1048576 bytes/);
  });

  it('a bad index in episode 2 of an actions-file names the episode, after printing the earlier ones', () => {
    const { code, stderr, lines } = twosome(
      ['env', 'play', '--task', 'tomato-salad', '--actions-file', '-', '--json'],
      '[0]\n[1]\n[5]\n',
    );
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'twosome: episode 2, step 0: invalid action index 5: this step offers 5 actions, so use an integer from 0 to 4',
    );
    expect(lines.map((l) => JSON.parse(l).episode)).toEqual([0, 0, 1, 1, 2]);
  });
});

describe('twosome bench env', () => {
  it('prints one JSON object with both rates', () => {
    const { code, lines } = twosome(['bench', 'env', '--task', 'tomato-salad', '--seconds', '0.1', '--json']);
    expect(code).toBe(0);
    const result = JSON.parse(lines[0]);
    expect(Object.keys(result)).toEqual(['task', 'macroStepsPerSec', 'macroStepsPerSecWithText']);
    expect(result.task).toBe('tomato-salad');
    expect(result.macroStepsPerSec).toBeGreaterThan(0);
    expect(result.macroStepsPerSecWithText).toBeGreaterThan(0);
  });
});
