#!/usr/bin/env node
// `npm test`: every test, in order of speed: types (tsc, then ESLint with the layering rule of eslint.config.js),
// unit (Node), GPU kernels (Dawn on real WebGPU, SwiftShader where no GPU exists), then the built app end to end
// in Chromium (Playwright). Prints a summary line "N passed, N failed" and exits non-zero if anything failed.
//   npm test -- --only unit,gpu     run some stages (types, unit, gpu, e2e)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? new Set(process.argv[onlyIndex + 1].split(',')) : null;
const work = mkdtempSync(join(tmpdir(), 'twosome-test-'));
const results = [];

function run(name, command, args, { env = {}, counts, stage = name } = {}) {
  if (only && !only.has(stage)) return;
  const started = Date.now();
  process.stdout.write(`\n=== ${name}: ${command} ${args.join(' ')}\n`);
  const proc = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const tally = counts?.() ?? { passed: proc.status === 0 ? 1 : 0, failed: proc.status === 0 ? 0 : 1 };
  if (proc.status !== 0 && tally.failed === 0) tally.failed = 1; // a crash or a failure outside any test
  results.push({ name, seconds, status: proc.status, ...tally });
}

function vitestCounts(file) {
  return () => {
    if (!existsSync(file)) return undefined;
    const report = JSON.parse(readFileSync(file, 'utf8'));
    return { passed: report.numPassedTests, failed: report.numFailedTests, skipped: report.numPendingTests + report.numTodoTests };
  };
}

function playwrightCounts(file) {
  return () => {
    if (!existsSync(file)) return undefined;
    const { stats } = JSON.parse(readFileSync(file, 'utf8'));
    return { passed: stats.expected + stats.flaky, failed: stats.unexpected, skipped: stats.skipped };
  };
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
run('types', npx, ['tsc', '-p', 'tsconfig.json', '--noEmit']);
run('lint', npx, ['eslint', '.'], { stage: 'types' });
for (const project of ['unit', 'gpu']) {
  const file = join(work, `${project}.json`);
  run(project, npx, ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${file}`], {
    counts: vitestCounts(file),
  });
}
if (!only || only.has('e2e')) {
  run('build', npx, ['vite', 'build', '--logLevel', 'warn']);
  const file = join(work, 'e2e.json');
  run('e2e', npx, ['playwright', 'test', '--reporter=list,json'], { env: { PLAYWRIGHT_JSON_OUTPUT_NAME: file }, counts: playwrightCounts(file) });
}

let passed = 0;
let failed = 0;
let skipped = 0;
process.stdout.write('\n=== summary\n');
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped ?? 0;
  process.stdout.write(`${r.status === 0 ? 'ok  ' : 'FAIL'} ${r.name.padEnd(6)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed  ${r.seconds}s\n`);
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed === 0 && results.every((r) => r.status === 0) ? 0 : 1);
