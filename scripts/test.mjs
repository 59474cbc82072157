#!/usr/bin/env node
// `npm test`: every test, in order of speed: types (tsc, then ESLint with the layering rule of eslint.config.js),
// unit (Node), GPU kernels (Dawn on real WebGPU), then the built app end to end in Chromium (Playwright). Prints
// a summary line "N passed, N failed" and exits non-zero if anything failed.
//   npm test -- --only unit,gpu     run some stages (types, unit, gpu, e2e; gpu is gpu-lavapipe and
//                                   gpu-swiftshader, which can also be named alone)
//
// The GPU test files run twice, on the two CPU Vulkan drivers, so that both kernel paths stay covered:
// gpu-lavapipe on Mesa 25's lavapipe (`shader-f16`, subgroup size 8), with the long learning test, and
// gpu-swiftshader on SwiftShader (no f16, subgroup size 4; what Chromium and so the e2e tests use), without it.
// lavapipe comes from `bash scripts/setup-lavapipe.sh`; where it is missing the stage fails and says so.
// TWOSOME_TEST_SKIP_LAVAPIPE=1 skips that stage on purpose; the learning test then runs on SwiftShader.
// (`npm run test:gpu` runs the GPU files once on this machine's default adapter: its GPU, if it has one.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? new Set(process.argv[onlyIndex + 1].split(',')) : null;
const selected = (name) => !only || only.has(name) || (name.startsWith('gpu-') && only.has('gpu'));
const work = mkdtempSync(join(tmpdir(), 'twosome-test-'));
const results = [];

function run(name, command, args, { env = {}, counts, stage = name } = {}) {
  if (!selected(stage)) return;
  const started = Date.now();
  process.stdout.write(`\n=== ${name}: ${command} ${args.join(' ')}\n`);
  const merged = { ...process.env, ...env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete merged[key];
  const proc = spawnSync(command, args, { stdio: 'inherit', env: merged });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const tally = counts?.() ?? { passed: proc.status === 0 ? 1 : 0, failed: proc.status === 0 ? 0 : 1 };
  if (proc.status !== 0 && tally.failed === 0) tally.failed = 1; // a crash or a failure outside any test
  results.push({ name, seconds, status: proc.status, ...tally });
}

function vitestCounts(file) {
  return () => {
    if (!existsSync(file)) return undefined;
    const report = JSON.parse(readFileSync(file, 'utf8'));
    return {
      passed: report.numPassedTests,
      failed: report.numFailedTests,
      skipped: report.numPendingTests + report.numTodoTests,
    };
  };
}

function playwrightCounts(file) {
  return () => {
    if (!existsSync(file)) return undefined;
    const { stats } = JSON.parse(readFileSync(file, 'utf8'));
    return { passed: stats.expected + stats.flaky, failed: stats.unexpected, skipped: stats.skipped };
  };
}

/** A stage that did not run: failed (with the reason) unless skipped on purpose. */
function notRun(name, message, { failed }) {
  if (!selected(name)) return;
  process.stdout.write(`\n=== ${name}: ${failed ? 'FAILED' : 'skipped'}: ${message}\n`);
  const status = failed ? 1 : 0;
  results.push({ name, seconds: '0.0', status, passed: 0, failed: status, skippedStage: !failed, note: message });
}

/** Where scripts/setup-lavapipe.sh writes lavapipe's ICD manifest (lavapipeIcdPath in src/gpu/node-gpu.ts). */
function lavapipeIcd(env = process.env) {
  if (env.TWOSOME_LAVAPIPE_ICD) return env.TWOSOME_LAVAPIPE_ICD;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const dir = env.TWOSOME_LAVAPIPE_DIR || join(cache, 'twosome-web', 'lavapipe');
  return join(dir, 'lvp_icd.json');
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const vitest = (project, file, extra = []) => {
  const reporters = ['--reporter=default', '--reporter=./scripts/vitest-skip-reasons.mjs', '--reporter=json'];
  reporters.push(`--outputFile.json=${file}`);
  return ['vitest', 'run', '--project', project, ...extra, ...reporters];
};
run('types', npx, ['tsc', '-p', 'tsconfig.json', '--noEmit']);
run('lint', npx, ['eslint', '.'], { stage: 'types' });
// One code style, checked rather than argued: `npm run format` rewrites the tree to it.
run('format', npx, ['prettier', '--check', '.'], { stage: 'types' });
run('unit', npx, vitest('unit', join(work, 'unit.json')), { counts: vitestCounts(join(work, 'unit.json')) });

// The learning test (~10 min on SwiftShader) runs once, on lavapipe where that stage runs.
const LEARNING_TEST = 'src/rl/learning.gpu.test.ts';
const skipLavapipe = ['1', 'true', 'yes'].includes((process.env.TWOSOME_TEST_SKIP_LAVAPIPE ?? '').toLowerCase());
// Each stage names its driver and nothing else: the stage sets the ICD itself (src/gpu/node-gpu.ts).
const driverEnv = (driver) => ({ TWOSOME_WEBGPU: driver, VK_ICD_FILENAMES: undefined, VK_DRIVER_FILES: undefined });
if (skipLavapipe) {
  const reason = 'TWOSOME_TEST_SKIP_LAVAPIPE=1 (the learning test runs on SwiftShader instead)';
  notRun('gpu-lavapipe', reason, { failed: false });
} else if (!existsSync(lavapipeIcd())) {
  notRun(
    'gpu-lavapipe',
    `lavapipe is not installed (no ${lavapipeIcd()}): run \`bash scripts/setup-lavapipe.sh\` (Debian 12), ` +
      'or set TWOSOME_TEST_SKIP_LAVAPIPE=1 to skip this stage on purpose',
    { failed: true },
  );
} else {
  const file = join(work, 'gpu-lavapipe.json');
  run('gpu-lavapipe', npx, vitest('gpu', file), { env: driverEnv('lavapipe'), counts: vitestCounts(file) });
}
{
  const file = join(work, 'gpu-swiftshader.json');
  const exclude = skipLavapipe ? [] : ['--exclude', LEARNING_TEST];
  const options = { env: driverEnv('swiftshader'), counts: vitestCounts(file) };
  run('gpu-swiftshader', npx, vitest('gpu', file, exclude), options);
}
if (!only || only.has('e2e')) {
  run('build', npx, ['vite', 'build', '--logLevel', 'warn']);
  const file = join(work, 'e2e.json');
  run('e2e', npx, ['playwright', 'test', '--reporter=list,json'], {
    env: { PLAYWRIGHT_JSON_OUTPUT_NAME: file },
    counts: playwrightCounts(file),
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
process.stdout.write('\n=== summary\n');
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped ?? 0;
  const mark = r.skippedStage ? 'skip' : r.status === 0 ? 'ok  ' : 'FAIL';
  const counts = `${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed`;
  const line = `${mark} ${r.name.padEnd(15)} ${counts}`;
  process.stdout.write(`${line}${r.skipped ? ` ${String(r.skipped).padStart(3)} skipped` : ''}  ${r.seconds}s\n`);
  if (r.note) process.stdout.write(`     ${r.note}\n`);
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed === 0 && results.every((r) => r.status === 0) ? 0 : 1);
