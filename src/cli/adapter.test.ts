// `twosome adapter inspect|export|import`, called as main.ts will call it (argv after "adapter").
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { encodeBundle } from '../share/bundle';
import { float32ToBytes } from '../share/bytes';
import { decodePeftAdapter, encodePeftAdapter } from '../share/peft';
import { MICRO, QV, randomCritic, trainedAdapter } from '../share/testing';
import { Rng } from '../util/rng';
import { adapterCommand } from './adapter';
import { UsageError } from './errors';
import { tempDir } from '../util/testing';

const work = tempDir('twosome-adapter-');

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

/** Runs the command as main() would: a UsageError is one line on stderr and exit code 2. */
async function run(...argv: string[]): Promise<number> {
  try {
    return await adapterCommand(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err += `twosome: ${error.message}\n`;
    return 2;
  }
}

const adapter = trainedAdapter(MICRO, QV, 8);
const peft = encodePeftAdapter(adapter, { baseModel: 'micro' });
let n = 0;
function peftDir(config: string | Uint8Array | null = peft.config, weights: Uint8Array | null = peft.weights): string {
  const dir = join(work, `peft-${n++}`);
  mkdirSync(dir);
  if (config !== null) writeFileSync(join(dir, 'adapter_config.json'), config);
  if (weights !== null) writeFileSync(join(dir, 'adapter_model.safetensors'), weights);
  return dir;
}

describe('twosome adapter inspect', () => {
  it('prints names from the file terminal-safe: bidi overrides removed, escapes shown, JSON escaped', async () => {
    const base = 'org/model\u202egnp.exe\u2066\u001b[2J';
    const dir = peftDir(encodePeftAdapter(adapter, { baseModel: base }).config);
    expect(await run('inspect', dir, '--model', 'micro')).toBe(0);
    expect(out).toMatch(/base model\s+org\/modelgnp\.exe \[2J/); // oneLine makes the escape a space
    // eslint-disable-next-line no-control-regex -- the escape character is what must not reach the terminal
    expect(out + err).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u001b]/);
    out = '';
    err = '';
    expect(await run('inspect', dir, '--model', 'micro', '--json')).toBe(0);
    expect(out).toContain('\\u202e');
    expect(out).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(JSON.parse(out).baseModel).toBe(base);
  });

  it('summarizes a PEFT directory: targets, r, alpha, layers, parameters, dtype, base model, size', async () => {
    const dir = peftDir();
    expect(await run('inspect', dir)).toBe(0);
    expect(out).toContain('valid PEFT LoRA adapter');
    expect(out).toMatch(/base model\s+micro/);
    expect(out).toMatch(/checked\s+shapes fit the architecture of micro \(2 layers, hidden 64\)/);
    expect(out).toMatch(/targets\s+q_proj, v_proj/);
    expect(out).toMatch(/ r\s+8\n/);
    expect(out).toMatch(/alpha\s+16 \(scale 2\)/);
    expect(out).toMatch(/layers\s+2\n/);
    expect(out).toMatch(/parameters\s+3,584/);
    expect(out).toMatch(/dtype\s+F32/);
    expect(out).toMatch(new RegExp(`size\\s+${peft.weights.length.toLocaleString('en-US')} bytes`));
    expect(err).toBe('');
  });

  it('--json; the weights file or the config file alone; --model', async () => {
    const dir = peftDir();
    expect(await run('inspect', join(dir, 'adapter_model.safetensors'), '--json', '--model', 'micro')).toBe(0);
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({
      valid: true,
      targets: ['q_proj', 'v_proj'],
      r: 8,
      alpha: 16,
      scale: 2,
      layers: 2,
      parameters: 3584,
      dtype: 'F32',
      baseModel: 'micro',
      bytes: peft.weights.length,
      warnings: [],
    });
    out = '';
    expect(await run('inspect', join(dir, 'adapter_config.json'))).toBe(0);
    expect(out).toContain('valid PEFT LoRA adapter');
  });

  it('a weights file without its config: valid, alpha unknown', async () => {
    const dir = peftDir(null);
    expect(await run('inspect', join(dir, 'adapter_model.safetensors'))).toBe(0);
    expect(out).toMatch(/alpha\s+unknown/);
    expect(err).toMatch(/warning: no adapter_config.json/);
  });

  it('judges by content: safetensors under another name; a PyTorch zip checkpoint is refused as a pickle', async () => {
    const dir = peftDir();
    writeFileSync(join(dir, 'weights.bin'), peft.weights);
    expect(await run('inspect', join(dir, 'weights.bin'))).toBe(0);
    const pt = join(work, 'model.pt');
    writeFileSync(
      pt,
      zipSync({ 'archive/data.pkl': new Uint8Array([0x80, 2]), 'archive/version': new Uint8Array([51]) }),
    );
    expect(await run('inspect', pt)).toBe(2);
    expect(err).toMatch(/PyTorch checkpoint .* never loaded/);
  });

  it('a bundle', async () => {
    const file = join(work, 'run.zip');
    writeFileSync(
      file,
      encodeBundle({
        modelId: 'micro',
        task: 'pizza',
        normalization: 'word',
        seed: 4,
        adapter,
        critic: randomCritic([64, 16, 1]),
        metrics: [{ update: 1 }],
      }),
    );
    expect(await run('inspect', file)).toBe(0);
    expect(out).toContain('valid twosome bundle');
    expect(out).toMatch(/task\s+pizza/);
    expect(out).toMatch(/critic\s+64 -> 16 -> 1/);
    expect(out).toMatch(/metrics\s+1 row\n/);
  });

  it.each([
    [
      'a model it does not fit',
      () => ['inspect', peftDir(), '--model', 'Llama-3.2-1B-Instruct-q4f16_1-MLC'],
      /q_proj is 64 x 64 in the adapter .* but 2048 x 2048 in Llama-3.2-1B-Instruct-q4f16_1-MLC/,
    ],
    ['a missing path', () => ['inspect', join(work, 'nope')], /no such file or directory/],
    ['an empty directory', () => ['inspect', peftDir(null, null)], /no adapter_model.safetensors in this directory/],
    [
      'a pickle',
      () => [
        'inspect',
        (writeFileSync(join(work, 'adapter_model.bin'), new Uint8Array([0x80, 2, 3])), join(work, 'adapter_model.bin')),
      ],
      /never loaded because loading them can run code/,
    ],
    [
      'a directory with a pickle',
      () => [
        'inspect',
        (() => {
          const d = peftDir(peft.config, null);
          writeFileSync(join(d, 'adapter_model.bin'), 'x');
          return d;
        })(),
      ],
      /adapter_model.bin.*safetensors/,
    ],
    ['a device', () => ['inspect', '/dev/null'], /not a regular file/],
    ['an unknown model', () => ['inspect', peftDir(), '--model', 'gpt-5'], /--model gpt-5: not a catalog id/],
    ['no file', () => ['inspect'], /expected one FILE or DIR/],
    ['an unknown flag', () => ['inspect', peftDir(), '--frobnicate'], /Unknown option/],
  ])('refuses %s in one line, exit 2', async (_, argv, message) => {
    expect(await run(...argv())).toBe(2);
    expect(err).toMatch(message);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(out).toBe('');
  });

  it('fuzz: 600 mutated and random files, each a valid summary (exit 0) or one line (exit 2)', async () => {
    const rng = new Rng(77);
    const bundle = encodeBundle({
      modelId: 'micro',
      task: 'pizza',
      normalization: 'word',
      seed: 4,
      adapter,
      critic: randomCritic([64, 8, 1]),
    });
    const sources: [string, Uint8Array][] = [
      ['adapter_model.safetensors', peft.weights],
      ['adapter_config.json', new TextEncoder().encode(peft.config)],
      ['run.zip', bundle],
      ['garbage.bin2', new Uint8Array(64)],
    ];
    let accepted = 0;
    for (let i = 0; i < 600; i++) {
      const [name, base] = sources[rng.int(sources.length)];
      let bytes = base.slice();
      const kind = rng.int(4);
      if (kind === 0) for (let k = 0, m = 1 + rng.int(6); k < m; k++) bytes[rng.int(bytes.length)] = rng.int(256);
      else if (kind === 1) bytes = bytes.slice(0, rng.int(bytes.length));
      else if (kind === 2) bytes = Uint8Array.from({ length: rng.int(300) }, () => rng.int(256));
      else new DataView(bytes.buffer).setUint32(rng.int(bytes.length - 4), rng.nextU32(), true);
      const dir = join(work, `fuzz-${i}`);
      mkdirSync(dir);
      // The mutated file beside good partners (so the mutation is what is judged).
      if (name !== 'adapter_config.json') writeFileSync(join(dir, 'adapter_config.json'), peft.config);
      if (name !== 'adapter_model.safetensors') writeFileSync(join(dir, 'adapter_model.safetensors'), peft.weights);
      writeFileSync(join(dir, name), bytes);
      out = '';
      err = '';
      const code = await run('inspect', join(dir, name));
      if (code === 0) {
        accepted++;
        expect(out).toContain(': valid ');
      } else {
        expect(code, `case ${i}`).toBe(2);
        expect(out, `case ${i}`).toBe('');
        expect(err.trim().split('\n'), `case ${i}: ${err}`).toHaveLength(1);
        expect(err).toMatch(/^twosome: /);
      }
    }
    expect(accepted).toBeLessThan(300);
  });
});

describe('twosome adapter export / import', () => {
  it('import then export gives the same PEFT files; tensors bit-identical', async () => {
    const dir = peftDir();
    const bundle = join(work, 'imported', 'b.zip');
    expect(await run('import', dir, '--out', bundle, '--task', 'pizza', '--norm', 'sum', '--seed', '7')).toBe(0);
    expect(out).toMatch(/wrote .*b\.zip \(twosome\.json model micro; q_proj, v_proj, r 8, 2 layers/);
    out = '';
    const back = join(work, 'exported');
    expect(await run('export', bundle, '--out', back)).toBe(0);
    expect(out).toMatch(/PeftModel\.from_pretrained/);
    expect(readFileSync(join(back, 'adapter_config.json'), 'utf8')).toBe(peft.config);
    const weights = new Uint8Array(readFileSync(join(back, 'adapter_model.safetensors')));
    expect(weights).toEqual(peft.weights);
    const decoded = decodePeftAdapter({ config: peft.config, weights });
    decoded.weights.modules.forEach((m, i) => {
      expect(float32ToBytes(m.a)).toEqual(float32ToBytes(adapter.modules[i].a));
      expect(float32ToBytes(m.b)).toEqual(float32ToBytes(adapter.modules[i].b));
    });
    out = '';
    expect(await run('inspect', bundle, '--json')).toBe(0);
    expect(JSON.parse(out).bundle).toMatchObject({
      modelId: 'micro',
      task: 'pizza',
      normalization: 'sum',
      seed: 7,
      critic: null,
    });
  });

  it('import picks the catalog model its base names, and refuses another base model unless allowed', async () => {
    const files = encodePeftAdapter(trainedAdapter({ ...MICRO, layers: 2 }, QV, 1), {
      baseModel: 'someone/other-model',
    });
    const dir = peftDir(files.config, files.weights);
    expect(await run('import', dir, '--out', join(work, 'x.zip'))).toBe(2);
    expect(err).toMatch(/not in the catalog; pass --model M/);
    err = '';
    expect(await run('import', dir, '--out', join(work, 'x.zip'), '--model', 'micro')).toBe(2);
    expect(err).toMatch(/trained on "someone\/other-model" but the model in use is "micro".*--allow-base-mismatch/);
    err = '';
    expect(await run('import', dir, '--out', join(work, 'x.zip'), '--model', 'micro', '--allow-base-mismatch')).toBe(0);
    expect(err).toMatch(/warning: the adapter was trained on "someone\/other-model"/);
  });

  it('refuses bad flags and inputs in one line', async () => {
    const dir = peftDir();
    for (const argv of [
      ['import', dir],
      ['import', dir, '--out', join(work, 'y.zip'), '--task', 'chess'],
      ['import', dir, '--out', join(work, 'y.zip'), '--norm', 'max'],
      ['import', dir, '--out', join(work, 'y.zip'), '--seed', '-1'],
      ['import', peftDir(null), '--out', join(work, 'y.zip')],
      ['export', dir, '--out', join(work, 'z')],
      ['export', join(work, 'missing.zip'), '--out', join(work, 'z')],
      ['frobnicate'],
      [],
    ]) {
      err = '';
      expect(await run(...argv), argv.join(' ')).toBe(2);
      expect(err.trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
  });
});
