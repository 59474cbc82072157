/** Flag parsing on top of node:util's parseArgs, with errors the user can act on. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(argv: string[], options: O, usage: string) {
  // parseArgs reads "--actions -1" as a missing value followed by an option; join negative numbers to their
  // flag so that the value's own validation can say what is wrong with it.
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    if (options[name]?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) joined.push(`${argv[i]}=${argv[++i]}`);
    else joined.push(argv[i]);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]}\nusage: ${usage}`);
  }
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
