// Fuzz over the files the CLI reads, run as a user runs it (the bin script in a child process): an adapter
// directory (eval --adapter), an actions file (env play --actions-file), a checkpoint (train --resume) and a
// model directory (eval --model DIR). Every damaged input, seeded and deterministic, must give exit code 2,
// exactly one line on stderr (no internal error, no stack), within a time bound (the child is killed past it)
// and a peak RSS under RSS_CAP_MB (process.resourceUsage().maxRSS of the child, written at exit).
// Special files are included: a FIFO, /dev/zero, a directory, a sparse multi-GB file.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../llm/model/md5';
import { encodePeftAdapter } from '../share/peft';
import { MICRO, QV, trainedAdapter } from '../share/testing';
import { Rng } from '../util/rng';
import { MICRO_MODEL_DIR } from './model-source';

const BIN = resolve(process.cwd(), 'bin/twosome.mjs');
/** Peak resident memory allowed to any one run (the CPU reference with the micro model needs ~200 MB). */
const RSS_CAP_MB = 320;
/** A child still running after this is killed, and the case fails. */
const TIME_BOUND_MS = 30_000;
const SEED = 19;

const work = mkdtempSync(join(tmpdir(), 'twosome-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const RSS_HOOK = join(work, 'rss.mjs');
writeFileSync(
  RSS_HOOK,
  "import { writeSync } from 'node:fs';\n" +
    "process.on('exit', () => writeSync(3, String(process.resourceUsage().maxRSS)));\n",
);

interface Outcome {
  code: number | null;
  stderr: string;
  rssMb: number;
  killed: boolean;
}

function twosome(args: string[]): Promise<Outcome> {
  return new Promise((done) => {
    const stdio = ['ignore', 'ignore', 'pipe', 'pipe'] as const;
    const child = spawn(process.execPath, ['--import', RSS_HOOK, BIN, ...args], { stdio: [...stdio] });
    let stderr = '';
    let rss = '';
    let killed = false;
    child.stderr!.on('data', (d) => (stderr += String(d)));
    child.stdio[3]!.on('data', (d) => (rss += String(d)));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, TIME_BOUND_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr, rssMb: Number(rss) / 1024, killed });
    });
  });
}

/** Runs the cases two at a time (the machine's cores). */
async function runAll<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const rng = new Rng(SEED);
const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)];
const text = (path: string) => readFileSync(path, 'utf8');
let dirs = 0;
const fresh = (name: string) => {
  const dir = join(work, `${name}-${dirs++}`);
  mkdirSync(dir);
  return dir;
};

/** Ways to replace a file by something that is not a readable file of the kind expected. */
const SPECIAL: [string, (path: string) => void][] = [
  ['a FIFO', (p) => execFileSync('mkfifo', [p])],
  ['/dev/zero', (p) => symlinkSync('/dev/zero', p)],
  ['a directory', (p) => mkdirSync(p)],
  ['a sparse 3 GB file', (p) => (writeFileSync(p, ''), truncateSync(p, 3 * 2 ** 30))],
];
const HTML = '<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in to continue</body></html>\n';
const deepJson = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => rng.int(256));

interface Case {
  family: string;
  name: string;
  args: string[];
}
const cases: Case[] = [];
const baselines: Case[] = [];

// --- adapter directories: eval --adapter DIR (adapter_config.json + adapter_model.safetensors) ---------------
const peft = encodePeftAdapter(trainedAdapter(MICRO, QV, 3), { baseModel: 'micro' });
function adapterCase(name: string, edit: (dir: string) => void): void {
  const dir = fresh('adapter');
  writeFileSync(join(dir, 'adapter_config.json'), peft.config);
  writeFileSync(join(dir, 'adapter_model.safetensors'), peft.weights);
  edit(dir);
  const args = ['eval', '--task', 'tomato-salad', '--model', 'micro', '--backend', 'cpu', '--episodes', '1'];
  args.push('--adapter', dir);
  (name === 'valid' ? baselines : cases).push({ family: 'adapter dir', name, args });
}
function buildAdapterCases(): void {
  adapterCase('valid', () => undefined);
  const w = (dir: string) => join(dir, 'adapter_model.safetensors');
  const c = (dir: string) => join(dir, 'adapter_config.json');
  for (let i = 0; i < 3; i++) {
    const cut = 1 + rng.int(peft.weights.length - 2);
    adapterCase(`weights truncated at ${cut}`, (d) => writeFileSync(w(d), peft.weights.subarray(0, cut)));
  }
  const headerLength = new DataView(peft.weights.buffer, peft.weights.byteOffset).getUint32(0, true);
  const at = 8 + headerLength + 4 * rng.int((peft.weights.length - 8 - headerLength) / 4);
  adapterCase(`a NaN weight at byte ${at}`, (d) => {
    const bytes = peft.weights.slice();
    new DataView(bytes.buffer).setFloat32(at, NaN, true);
    writeFileSync(w(d), bytes);
  });
  adapterCase('random weights', (d) => writeFileSync(w(d), randomBytes(4096)));
  adapterCase('a web page as the config', (d) => writeFileSync(c(d), HTML));
  adapterCase('a config nested 50000 deep', (d) => writeFileSync(c(d), deepJson(50_000)));
  adapterCase('a config of another rank', (d) => writeFileSync(c(d), text(c(d)).replace('"r": 8', '"r": 4')));
  const cut = 1 + rng.int(peft.config.length - 2);
  adapterCase(`the config truncated at ${cut}`, (d) => writeFileSync(c(d), peft.config.slice(0, cut)));
  const [kind, make] = pick(SPECIAL);
  adapterCase(`the config is ${kind}`, (d) => (rmSync(c(d)), make(c(d))));
  const [kind2, make2] = pick(SPECIAL.filter(([k]) => k !== kind));
  adapterCase(`the weights are ${kind2}`, (d) => (rmSync(w(d)), make2(w(d))));
}

// --- actions files: env play --actions-file FILE ------------------------------------------------------------
function actionsCase(name: string, make: (path: string) => void): void {
  const path = join(fresh('actions'), 'episodes.jsonl');
  make(path);
  const args = ['env', 'play', '--task', 'tomato-salad', '--json', '--actions-file', path];
  (name === 'valid' ? baselines : cases).push({ family: 'actions file', name, args });
}
function buildActionsCases(): void {
  actionsCase('valid', (p) => writeFileSync(p, '[0,2,4]\n[1]\n'));
  const bad = ['[0,', '{"a":1}', '[-1]', '[99]', '[0.5]', '["0"]', 'null', deepJson(30_000), '\u202e[0]'];
  for (let i = 0; i < 4; i++) {
    const line = pick(bad);
    const before = rng.int(3);
    const content = `${'[0]\n'.repeat(before)}${line}\n[1]\n`;
    actionsCase(`line ${before + 1} is ${JSON.stringify(line.slice(0, 12))}`, (p) => writeFileSync(p, content));
  }
  actionsCase('random bytes', (p) => writeFileSync(p, randomBytes(2048)));
  actionsCase('a 3 MiB line without a newline', (p) => writeFileSync(p, `[${'0,'.repeat(3 << 19)}0`));
  for (const [kind, make] of SPECIAL.slice(0, 3)) actionsCase(`the file is ${kind}`, make);
}

// --- checkpoints: train --resume DIR ------------------------------------------------------------------------
let runDir = '';
function checkpointCase(name: string, edit: (dir: string) => void): void {
  const dir = fresh('run');
  cpSync(runDir, dir, { recursive: true });
  edit(dir);
  const args = ['train', '--resume', dir, '--max-updates', '1'];
  (name === 'valid' ? baselines : cases).push({ family: 'checkpoint', name, args });
}
/** Leaves of a checkpoint a user error can live in (not the float values, the env internals or the metrics). */
function leaves(value: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (ArrayBuffer.isView(value) || typeof value !== 'object' || value === null) {
    out.push(path);
    return out;
  }
  if (path.includes('data') || path[1] === 'metrics') return out;
  out.push(path);
  for (const key of Object.keys(value)) leaves((value as Record<string, unknown>)[key], [...path, key], out);
  return out;
}
/** A value of another type than `v` (so that the checkpoint is wrong whatever the field's range). */
function wrongTyped(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) {
    const values = v as Float32Array;
    return pick([new Float32Array(Math.max(0, values.length - 1)), Array.from(values), 'x']);
  }
  if (Array.isArray(v)) return pick([v.slice(1), 'x', { length: v.length }]);
  if (typeof v === 'number') return pick(['7', null, {}, NaN, -Infinity]);
  if (typeof v === 'string') return pick([7, null, {}, ['x']]);
  if (typeof v === 'boolean') return pick(['yes', 0]);
  if (v === null) return pick([{}, 'x', 0]);
  return pick(['x', null, [], 5]);
}
function buildCheckpointCases(): void {
  checkpointCase('valid', () => undefined);
  const bytes = readFileSync(join(runDir, 'checkpoint.bin'));
  for (let i = 0; i < 2; i++) {
    const cut = 1 + rng.int(bytes.length - 2);
    checkpointCase(`truncated at ${cut}`, (d) => writeFileSync(join(d, 'checkpoint.bin'), bytes.subarray(0, cut)));
  }
  checkpointCase('random bytes', (d) => writeFileSync(join(d, 'checkpoint.bin'), randomBytes(4096)));
  const paths = leaves(deserialize(bytes)).filter((p) => p.length > 0);
  for (let i = 0; i < 8; i++) {
    const path = pick(paths);
    checkpointCase(`${path.join('.')} of another type`, (d) => {
      const checkpoint = deserialize(bytes);
      let parent = checkpoint;
      for (const key of path.slice(0, -1)) parent = parent[key];
      parent[path.at(-1)!] = wrongTyped(parent[path.at(-1)!]);
      writeFileSync(join(d, 'checkpoint.bin'), serialize(checkpoint));
    });
  }
  const [kind, make] = pick(SPECIAL);
  checkpointCase(`checkpoint.bin is ${kind}`, (d) => {
    rmSync(join(d, 'checkpoint.bin'));
    make(join(d, 'checkpoint.bin'));
  });
}

// --- model directories: eval --model DIR --backend cpu ------------------------------------------------------
function modelCase(name: string, edit: (dir: string) => void): void {
  const dir = fresh('model');
  cpSync(MICRO_MODEL_DIR, dir, { recursive: true });
  edit(dir);
  const args = ['eval', '--task', 'tomato-salad', '--model', dir, '--backend', 'cpu', '--episodes', '1'];
  (name === 'valid' ? baselines : cases).push({ family: 'model dir', name, args });
}
function buildModelCases(): void {
  modelCase('valid', () => undefined);
  const files = ['mlc-chat-config.json', 'tensor-cache.json', 'tokenizer.json', 'params_shard_0.bin'];
  for (let i = 0; i < 3; i++) {
    const file = pick(files);
    modelCase(`${file} truncated`, (d) => {
      const bytes = readFileSync(join(d, file));
      writeFileSync(join(d, file), bytes.subarray(0, rng.int(bytes.length - 1)));
    });
  }
  modelCase('a shard byte flipped (md5)', (d) => {
    const bytes = readFileSync(join(d, 'params_shard_0.bin'));
    bytes[rng.int(bytes.length)] ^= 1 + rng.int(255);
    writeFileSync(join(d, 'params_shard_0.bin'), bytes);
  });
  modelCase('a NaN norm weight (md5 updated)', (d) => {
    const cache = JSON.parse(text(join(d, 'tensor-cache.json')));
    const norm = cache.records[0].records.find((t: { name: string }) => t.name.endsWith('input_layernorm.weight'));
    const bytes = readFileSync(join(d, 'params_shard_0.bin'));
    bytes.writeUInt16LE(0x7e00, norm.byteOffset + 2 * rng.int(norm.shape[0]));
    cache.records[0].md5sum = md5Hex(bytes);
    writeFileSync(join(d, 'params_shard_0.bin'), bytes);
    writeFileSync(join(d, 'tensor-cache.json'), JSON.stringify(cache));
  });
  modelCase('a dataPath outside the model', (d) => {
    const cache = JSON.parse(text(join(d, 'tensor-cache.json')));
    cache.records[0].dataPath = pick(['../micro/params_shard_0.bin', '/etc/passwd', 'https://example.invalid/x.bin']);
    writeFileSync(join(d, 'tensor-cache.json'), JSON.stringify(cache));
  });
  modelCase('10^8 layers', (d) => {
    const config = join(d, 'mlc-chat-config.json');
    writeFileSync(config, text(config).replace(/"num_hidden_layers": \d+/, '"num_hidden_layers": 100000000'));
  });
  modelCase('a web page as the index', (d) => writeFileSync(join(d, 'tensor-cache.json'), HTML));
  const [kind, make] = pick(SPECIAL);
  const file = pick(files);
  modelCase(`${file} is ${kind}`, (d) => (rmSync(join(d, file)), make(join(d, file))));
}

describe('fuzz: files the CLI reads', () => {
  beforeAll(async () => {
    // A PPO-MLP run stopped after one of three updates: the checkpoint to damage.
    runDir = join(work, 'ppo');
    const ppo = ['--task', 'food-preparation', '--algo', 'ppo-mlp', '--steps', '1536', '--seed', '3'];
    ppo.push('--max-updates', '1');
    const made = await twosome(['train', ...ppo, '--out', runDir]);
    expect(made.code, made.stderr).toBe(0);
    buildAdapterCases();
    buildActionsCases();
    buildCheckpointCases();
    buildModelCases();
  }, 60_000);

  it(`the undamaged inputs run (exit 0): the harness reaches what it fuzzes`, async () => {
    const results: string[] = [];
    await runAll(baselines, async (c) => {
      const r = await twosome(c.args);
      results.push(`${c.family}: exit ${r.code}${r.code === 0 ? '' : ` ${r.stderr.trim()}`}`);
      expect(r.rssMb, `${c.family} baseline peak RSS`).toBeLessThan(RSS_CAP_MB);
    });
    const families = ['actions file', 'adapter dir', 'checkpoint', 'model dir'];
    expect(results.sort()).toEqual(families.map((f) => `${f}: exit 0`));
  }, 120_000);

  it(`every damaged input (seed ${SEED}): exit 2, one line, time and peak RSS under ${RSS_CAP_MB} MB`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const failures: string[] = [];
    let peak = 0;
    await runAll(cases, async (c) => {
      const r = await twosome(c.args);
      peak = Math.max(peak, r.rssMb);
      const lines = r.stderr.split('\n').filter(Boolean);
      const problems = [
        r.killed ? `still running after ${TIME_BOUND_MS} ms` : '',
        r.code !== 2 ? `exit ${r.code}` : '',
        lines.length !== 1 ? `${lines.length} lines on stderr` : '',
        /internal error|\n\s+at /.test(r.stderr) ? 'an internal error' : '',
        r.rssMb >= RSS_CAP_MB ? `peak RSS ${r.rssMb.toFixed(0)} MB` : '',
      ].filter(Boolean);
      if (problems.length === 0) return;
      failures.push(`${c.family} / ${c.name}: ${problems.join(', ')}: ${r.stderr.trim().slice(0, 300)}`);
    });
    expect(failures).toEqual([]);
    const largest = `largest peak RSS ${peak.toFixed(0)} MB (cap ${RSS_CAP_MB} MB)`;
    console.log(`fuzz: ${cases.length} damaged inputs refused; ${largest}`);
  }, 300_000);
});
