/**
 * Fixtures for the CLI's tests: the real bin script as a user runs it, adapter directories to give it, the
 * metrics a run directory holds, and eval's summary.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { withoutDawnLimitNotices } from '../gpu/test-adapter';
import type { LoraAdapter } from '../llm/train/lora';
import { encodePeftAdapter } from '../share';
import { runCommand } from '../util/testing';
import { evalCommand } from './eval';

/** The `twosome` command (bin/twosome.mjs), run with this process's node. */
export const TWOSOME_BIN = resolve(process.cwd(), 'bin/twosome.mjs');

/** `twosome ARGS` run to its end; stderr as the CLI wrote it: without the notices Dawn prints on lavapipe. */
export function twosome(args: string[]) {
  const proc = spawnSync(process.execPath, [TWOSOME_BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { ...proc, stderr: withoutDawnLimitNotices(proc.stderr) };
}

/** A new temporary folder named `prefix...` holding `adapter` as a PEFT adapter of the micro model. */
export function peftAdapterDir(adapter: LoraAdapter, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = encodePeftAdapter(adapter, { baseModel: 'micro' });
  writeFileSync(join(dir, 'adapter_config.json'), files.config);
  writeFileSync(join(dir, 'adapter_model.safetensors'), files.weights);
  return dir;
}

/** The lines of a run directory's metrics.jsonl: one JSON record per update. */
export function metricsLines(dir: string): string[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
}

/** The records of a run directory's metrics.jsonl, parsed. */
export function readMetrics(dir: string) {
  return metricsLines(dir).map((line) => JSON.parse(line));
}

/** `twosome eval ARGV --json` on the micro model, in-process: the summary it printed, its fields checked. */
export async function evalSummary(argv: string[]) {
  const run = await runCommand(() => evalCommand(['--model', 'micro', ...argv, '--json']));
  expect(run.code).toBe(0);
  const summary = JSON.parse(run.out);
  expect(Object.keys(summary)).toEqual(['task', 'episodes', 'successRate', 'meanReturn']);
  return summary;
}
