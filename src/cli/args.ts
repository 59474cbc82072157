/** Flag parsing on top of node:util's parseArgs, with errors the user can act on and `--help` on every command. */
import { parseArgs } from 'node:util';
import { HelpRequest, UsageError } from './errors';

/** One flag: parseArgs' settings plus what `--help` prints for it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  /** The value's placeholder in the help ("ID", "N", "DIR"); string flags only (default "X"). */
  arg?: string;
  /** One line for `--help`: what the flag does, its default where it has one. */
  help: string;
}

type Flags = Record<string, FlagSpec>;

/** The help of a command: its usage line, then one line per option. */
export function formatHelp(usage: string, options: Flags, summary?: string): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const label = o.type === 'string' ? `--${name} ${o.arg ?? 'X'}` : `--${name}`;
    return [label, o.help];
  });
  rows.push(['--help, -h', 'print this help and exit']);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [`usage: ${usage}`, ...(summary ? ['', summary] : []), '', 'options:'];
  for (const [label, help] of rows) lines.push(`  ${label.padEnd(width)}  ${help}`);
  return lines.join('\n');
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export interface ParseOptions {
  /** Accept this many positional arguments (default 0); they come back in `positionals`. */
  positionals?: number;
  /** A sentence under the usage line of `--help`. */
  summary?: string;
}

export function parseFlags<O extends Flags>(argv: string[], options: O, usage: string, parse: ParseOptions = {}) {
  if (wantsHelp(argv)) throw new HelpRequest(formatHelp(usage, options, parse.summary));
  // parseArgs reads "--actions -1" as a missing value followed by an option; join negative numbers to their
  // flag so that the value's own validation can say what is wrong with it.
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    if (options[name]?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) joined.push(`${argv[i]}=${argv[++i]}`);
    else joined.push(argv[i]);
  }
  // parseArgs only knows its own settings: the help texts stay here.
  const settings = Object.fromEntries(
    Object.entries(options).map(([name, { type, default: value }]) => [
      name,
      value === undefined ? { type } : { type, default: value },
    ]),
  ) as unknown as O;
  let parsed;
  try {
    const allowPositionals = (parse.positionals ?? 0) > 0;
    parsed = parseArgs({ args: joined, options: settings, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]}\nusage: ${usage} (--help lists the options)`);
  }
  if (parsed.positionals.length > (parse.positionals ?? 0)) {
    throw new UsageError(`unexpected argument "${parsed.positionals[parse.positionals ?? 0]}"\nusage: ${usage}`);
  }
  return parsed;
}

/** "3,0,2" -> [3, 0, 2]; every entry must be a non-negative integer. */
export function parseIndexList(text: string, what: string): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => parseIndex(part.trim(), what));
}

export function parseIndex(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: "${text}" is not a non-negative integer`);
  return Number(text);
}

export function parseIntFlag(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: "${value}" must be an integer >= ${min}`);
  return n;
}

export function parseNumberFlag(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name}: "${value}" must be a number >= ${min}`);
  return n;
}
