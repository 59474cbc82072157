/** Tests only: helpers that test files across src/ share (errors thrown, captured output, temporary folders). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, expect, vi } from 'vitest';

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/** The error `fn` throws, which must be a `type` (the test fails when `fn` returns or throws something else). */
export function thrownBy<E extends Error>(fn: () => unknown, type: ErrorClass<E>): E {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}`);
}

/** The error `fn`'s promise rejects with, which must be a `type`. */
export async function rejectedBy<E extends Error>(fn: () => Promise<unknown>, type: ErrorClass<E>): Promise<E> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}`);
}

/** What the code under test wrote to process.stdout (and process.stderr, where captured) during this test. */
export interface CapturedOutput {
  stdout: string;
  stderr: string;
}

/**
 * Registers beforeEach / afterEach hooks that capture process.stdout, and process.stderr when `stderr` is set,
 * afresh for each test of the file; a test may also clear a field itself between two commands.
 */
export function captureOutput(options: { stderr?: boolean } = {}): CapturedOutput {
  const captured: CapturedOutput = { stdout: '', stderr: '' };
  beforeEach(() => {
    captured.stdout = '';
    captured.stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      captured.stdout += String(chunk);
      return true;
    });
    if (!options.stderr) return;
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      captured.stderr += String(chunk);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return captured;
}

/** A CLI command's exit code and what it wrote to stdout and stderr (runCommand). */
export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

/**
 * Runs a CLI command in-process (`command`, e.g. `() => main(argv)`), capturing stdout and stderr for its
 * duration only; `onStderr` sees each stderr write as it happens.
 */
export async function runCommand(
  command: () => Promise<number>,
  onStderr?: (text: string) => void,
): Promise<CommandRun> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    onStderr?.(String(s));
    return true;
  });
  try {
    return { code: await command(), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/** A new folder under the system's temporary folder, removed with its contents after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * d loss / d values[i] by central differences: values[i] is stepped to values[i] +- h in place, the quotient
 * divides by the step as stored (a Float32Array rounds it), and values[i] is restored.
 */
export function centralDifference(values: { [i: number]: number }, i: number, loss: () => number, h: number): number {
  const orig = values[i];
  values[i] = orig + h;
  const up = values[i];
  const lp = loss();
  values[i] = orig - h;
  const down = values[i];
  const lm = loss();
  values[i] = orig;
  return (lp - lm) / (up - down);
}

/** The same quotient for values that are not changed in place: `lossOf` takes copies with values[i] +- h. */
export function centralDifferenceOf(
  values: ArrayLike<number>,
  i: number,
  lossOf: (stepped: number[]) => number,
  h: number,
): number {
  const plus = Array.from(values);
  const minus = Array.from(values);
  plus[i] += h;
  minus[i] -= h;
  return (lossOf(plus) - lossOf(minus)) / (2 * h);
}
