/**
 * Fixtures for the CLI's tests: the real bin script as a user runs it, adapter directories to give it, and the
 * metrics a run directory holds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { withoutDawnLimitNotices } from '../gpu/test-adapter';
import type { LoraAdapter } from '../llm/train/lora';
import { encodePeftAdapter } from '../share';

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
