// Every `twosome` command takes --help: exit 0, its usage on stdout, and one line per option it accepts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from './main';

async function run(argv: string[]) {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}
afterEach(() => vi.restoreAllMocks());

const COMMANDS = [
  'env play',
  'env list',
  'bench env',
  'bench score',
  'bench train',
  'bench memory',
  'gpu',
  'make-model',
  'score',
  'generate',
  'models list',
  'models download',
  'adapter inspect',
  'adapter export',
  'adapter import',
  'train',
  'eval',
  'compare',
];

describe('twosome COMMAND --help', () => {
  for (const command of COMMANDS) {
    it(`${command} --help prints its usage and one line per option`, async () => {
      for (const flag of ['--help', '-h']) {
        const { code, out, err } = await run([...command.split(' '), flag]);
        expect(err).toBe('');
        expect(code).toBe(0);
        const lines = out.trimEnd().split('\n');
        expect(lines[0]).toMatch(new RegExp(`^usage: twosome ${command}\\b`));
        const optionLines = lines.slice(lines.indexOf('options:') + 1);
        // Every flag the usage line names has exactly one line of its own, and every option line is a flag.
        const named = new Set([...lines[0].matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));
        for (const name of named) {
          expect(
            optionLines.filter((l) => l.startsWith(`  --${name} `) || l === `  --${name}`),
            name,
          ).toHaveLength(1);
        }
        for (const line of optionLines) expect(line).toMatch(/^ {2}--[a-z][a-z0-9-]*(,| |$)/);
        expect(optionLines.length).toBeGreaterThanOrEqual(named.size + 1);
      }
    });
  }

  it('the command groups list their subcommands', async () => {
    for (const group of ['env', 'bench', 'models', 'adapter']) {
      const { code, out } = await run([group, '--help']);
      expect(code).toBe(0);
      expect(out).toMatch(/^usage: twosome /);
    }
  });

  it('--help wins over other flags, bad ones included', async () => {
    const { code, out } = await run(['train', '--task', 'soup', '--bogus', '--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^usage: twosome train/);
  });
});

describe('error messages are terminal-safe', () => {
  it('bidirectional overrides from arguments, paths and files are removed; escapes are shown, not sent', async () => {
    const task = 'tomato\u202e\u2066salad\u001b]0;owned\u0007';
    const { code, err } = await run(['env', 'play', '--task', task, '--actions', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/^twosome: unknown task "tomatosalad\\x1b\]0;owned\\x07": use one of tomato-salad, .*\n$/);
  });
});
