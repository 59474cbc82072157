// `twosome train --resume DIR` treats checkpoint.bin as untrusted input: a damaged or foreign checkpoint is one
// line on stderr with exit code 2 naming the field, and nothing in the run directory changes; the model URL a
// checkpoint names is not fetched unless the user passes it; a resumed run's files are rewritten to agree
// with its checkpoint, and stale temporaries are removed. PPO-MLP and TWOSOME on the CPU (no GPU needed).
import { createHash } from 'node:crypto';
import {
  cpSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../rl/checkpoint-node';
import { encodeCritic, encodePeftAdapter } from '../share';
import { startHostileServer } from '../util/hostile-server';
import { runCommand, tempDir } from '../util/testing';
import { main } from './main';
import { metricsLines } from './testing';

const work = tempDir('twosome-resume-');

const twosome = (argv: string[]) => runCommand(() => main(argv));

const TWOSOME_FLAGS = ['--model', 'micro', '--backend', 'cpu', '--envs', '2', '--rollout-steps', '4'];
TWOSOME_FLAGS.push('--policy-minibatches', '2', '--value-minibatches', '1');
TWOSOME_FLAGS.push('--grad-accum', '2', '--prompts-per-pass', '8');
const PPO = join(work, 'ppo');
const TW = join(work, 'tw');
const TW_DONE = join(work, 'tw-done');

beforeAll(async () => {
  // One update of three (PPO-MLP), one of eight and one of one (TWOSOME on the CPU reference).
  for (const [argv, dir] of [
    [['--task', 'food-preparation', '--algo', 'ppo-mlp', '--steps', '1536', '--seed', '3', '--max-updates', '1'], PPO],
    [['--task', 'food-preparation', ...TWOSOME_FLAGS, '--steps', '64', '--max-updates', '1'], TW],
    [['--task', 'food-preparation', ...TWOSOME_FLAGS, '--steps', '8'], TW_DONE],
  ] as const) {
    const r = await twosome(['train', ...argv, '--out', dir]);
    if (r.code !== 0) throw new Error(r.err);
  }
}, 120_000);

/** Every file of a directory and its hash (a symbolic link: its target). */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => {
      const path = join(dir, name);
      const link = lstatSync(path).isSymbolicLink();
      return [name, link ? `-> ${readlinkSync(path)}` : createHash('sha256').update(readFileSync(path)).digest('hex')];
    }),
  );
}

let copies = 0;
/** A copy of a run whose checkpoint.bin has been edited (the raw object, not validated). */
function edited(from: string, edit: (checkpoint: any) => void): string {
  const dir = join(work, `copy-${copies++}`);
  cpSync(from, dir, { recursive: true });
  const checkpoint = deserialize(readFileSync(join(dir, 'checkpoint.bin')));
  edit(checkpoint);
  writeFileSync(join(dir, 'checkpoint.bin'), serialize(checkpoint));
  return dir;
}

async function refused(dir: string, message: RegExp, extra: string[] = []) {
  const before = snapshot(dir);
  const r = await twosome(['train', '--resume', dir, ...extra]);
  expect(r.code, r.err).toBe(2);
  expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.err).not.toMatch(/internal error/);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  expect(snapshot(dir)).toEqual(before); // nothing in the run directory changed
  return r.err;
}

describe('a checkpoint is validated before it changes anything', () => {
  const ppoCases: [string, (c: any) => void, RegExp][] = [
    ['an empty state', (c) => (c.state = {}), /state.version undefined is not 1/],
    ['no rng', (c) => delete c.state.rng, /state.rng is missing/],
    ['a negative update', (c) => (c.state.update = -5), /state.update -5 is not a non-negative integer/],
    ['an update past the run', (c) => (c.state.update = 99), /state.update 99 is past the run's 3 updates/],
    [
      'an unknown task, with bidi overrides',
      (c) => (c.run.task = 'tomato-salad\u202e\u2066evil'),
      /run.task "tomato-salad\\u202e\\u2066evil" is not a task here/,
    ],
    ['an unknown preset', (c) => (c.run.preset = 'huge'), /run.preset "huge" is not paper or quick/],
    ['a bad config', (c) => (c.state.config.numEnvs = 0), /state.config is not a valid ppo-mlp config \(numEnvs/],
    ['a short actor array', (c) => (c.state.actor[0] = new Float32Array(3)), /state.actor\[0\]: has 3 values, this/],
    ['a missing critic layer', (c) => c.state.critic.pop(), /state.critic: lists \d+ entries, this model's has \d+/],
    ['Adam moments of the wrong size', (c) => (c.state.adam.m[1] = new Float32Array(2)), /adam.m\[1\]: has 2 values/],
    ['a NaN weight', (c) => (c.state.actor[1][0] = NaN), /state.actor\[1\]: value 0 is NaN/],
    ['an env missing', (c) => c.state.envs.envs.pop(), /state.envs.envs must list the 4 environments \(has 3\)/],
    [
      'an env state that does not restore',
      (c) => (c.state.envs.envs[2].data = {}),
      /state.envs.envs\[2\]: not a valid food-preparation environment state/,
    ],
    ['a foreign object', (c) => (c.format = 'something else'), /checkpoint.bin is not a twosome-web checkpoint/],
  ];
  for (const [name, edit, message] of ppoCases) {
    it(`PPO-MLP: ${name}`, async () => {
      await refused(edited(PPO, edit), message);
    });
  }

  const twosomeCases: [string, (c: any) => void, RegExp][] = [
    [
      'an adapter array of the wrong length',
      (c) => (c.state.actor.adapter.modules[1].a = new Float32Array(5)),
      /state.actor.adapter.modules\[1\].a: has 5 values, this model's has \d+/,
    ],
    ['an adapter of another rank', (c) => (c.state.actor.adapter.config.r = 4), /config.r: is 4, this model's is 8/],
    ['a critic for another model', (c) => (c.state.critic.sizes[0] = 99), /sizes\[0\]: is 99, this model's is 64/],
    ['optimizer moments missing', (c) => c.state.actor.optimizer.moments.pop(), /state.actor.optimizer.moments: lists/],
    ['metrics missing', (c) => (c.state.metrics = []), /state.metrics must hold one entry per update done \(1\)/],
    ['no run.model', (c) => (c.run.model = null), /run.model is missing/],
  ];
  for (const [name, edit, message] of twosomeCases) {
    it(`TWOSOME: ${name}`, async () => {
      await refused(edited(TW, edit), message);
    });
  }

  it('the model URL a checkpoint names is not fetched unless the user passes it', async () => {
    const server = await startHostileServer(() => ({ stallHeaders: true }));
    try {
      const url = `${server.url}models/x/`;
      const dir = edited(TW, (c) => (c.run.model = url));
      const err = await refused(
        dir,
        /the run's model is the URL ".*", which is not fetched unless you ask: add --model/,
      );
      expect(err).toContain(url);
      expect(server.requests).toEqual([]);
      // Naming another model continues the run with it.
      const r = await twosome(['train', '--resume', dir, '--model', 'micro', '--max-updates', '1']);
      expect(r.code, r.err).toBe(0);
      expect(server.requests).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('checkpoint.bin is read within bounds', () => {
  it("a file describing millions of objects exhausts the reader's bounded heap, not the process", async () => {
    // v8's serialization of a dense array of 2M empty objects: 6 MB that would take ~100 MB of heap.
    const n = 2_000_000;
    const varint = (v: number) => {
      const out: number[] = [];
      for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v & 0x7f) | 0x80);
      return [...out, v];
    };
    const objects = Buffer.alloc(3 * n);
    for (let i = 0; i < n; i++) objects.set([0x6f, 0x7b, 0x00], 3 * i); // 'o' '{' 0: an object with no properties
    const dir = join(work, 'objects');
    cpSync(PPO, dir, { recursive: true });
    // Version header, dense array of n, the objects, end of array.
    const head = Buffer.from([0xff, 0x0f, 0x41, ...varint(n)]);
    writeFileSync(join(dir, 'checkpoint.bin'), Buffer.concat([head, objects, Buffer.from([0x24, 0, ...varint(n)])]));
    await expect(loadCheckpoint(dir, { heapMb: 16 })).rejects.toThrow(
      /checkpoint.bin: unreadable \(not a checkpoint, or damaged: it describes more objects than 16 MiB hold\)/,
    );
  });

  it('a FIFO or a device in place of checkpoint.bin is refused without reading it', async () => {
    for (const [target, kind] of [['/dev/zero', 'a device']] as const) {
      const dir = join(work, `special-${copies++}`);
      cpSync(PPO, dir, { recursive: true });
      rmSync(join(dir, 'checkpoint.bin'));
      symlinkSync(target, join(dir, 'checkpoint.bin'));
      await refused(dir, new RegExp(`checkpoint.bin: is ${kind}, not a regular file`));
    }
  });
});

describe('the run directory agrees with its checkpoint', () => {
  async function expectAgreement(dir: string) {
    const c = await loadCheckpoint(dir);
    if (c.algo !== 'twosome' || !c.state.actor.adapter) throw new Error('expected a TWOSOME checkpoint');
    const peft = encodePeftAdapter(c.state.actor.adapter, { baseModel: 'micro' });
    expect(readFileSync(join(dir, 'adapter_config.json'), 'utf8')).toBe(peft.config);
    expect(new Uint8Array(readFileSync(join(dir, 'adapter_model.safetensors')))).toEqual(peft.weights);
    expect(new Uint8Array(readFileSync(join(dir, 'critic.safetensors')))).toEqual(encodeCritic(c.state.critic));
    const lines = metricsLines(dir);
    expect(lines.map((l) => JSON.parse(l).update)).toEqual(c.state.metrics.map((m) => m.update));
  }

  it('after every update', async () => {
    await expectAgreement(TW);
    await expectAgreement(TW_DONE);
  });

  it('resuming rewrites the files a kill left behind (a finished run too) and removes stale temporaries', async () => {
    for (const from of [TW_DONE, TW]) {
      const dir = join(work, `killed-${copies++}`);
      cpSync(from, dir, { recursive: true });
      // As a kill between writing the files and the checkpoint leaves them: ahead of (or apart from) it.
      writeFileSync(join(dir, 'adapter_model.safetensors'), 'stale');
      writeFileSync(join(dir, 'critic.safetensors'), 'stale');
      const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
      writeFileSync(join(dir, 'metrics.jsonl'), `${metrics}{"algo":"twosome","update":99}\n`);
      writeFileSync(join(dir, 'checkpoint.bin.tmp-4194999'), 'half a checkpoint'); // a pid that cannot run
      writeFileSync(join(dir, `critic.safetensors.tmp-${process.pid}`), 'half a critic');
      const r = await twosome(['train', '--resume', dir, ...(from === TW ? ['--max-updates', '1'] : [])]);
      expect(r.code, r.err).toBe(0);
      await expectAgreement(dir);
      expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    }
  });
});
