// `twosome make-model`, called as main.ts will call it (argv after the command name).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { llama2TokenizerJson, llama3TokenizerJson } from '../llm/model/real-tokenizers';
import { loadLlamaModelAndTokenizer, loadLlamaModelFromDir } from '../llm/model/weights-node';
import { UsageError } from './errors';
import { makeModelCommand } from './make-model';
import { captureOutput, tempDir } from '../util/testing';

const work = tempDir('twosome-make-model-');

const output = captureOutput();

describe('twosome make-model', () => {
  it('writes the MLC files and prints one summary line', async () => {
    const out = join(work, 'a');
    expect(await makeModelCommand(['--out', out, '--layers', '1'])).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'mlc-chat-config.json',
      'params_shard_0.bin',
      'tensor-cache.json',
      'tokenizer.json',
    ]);
    expect(output.stdout).toMatch(
      /^wrote .*: Llama 1 layers, hidden 64, heads 4\/2 kv, intermediate 128, vocab \d+ \(BOS 1, EOS 2\), q4f16_1, untied embeddings, rope plain; \d+ parameters, 4 files, \d+ bytes\n$/,
    );
  });

  it('the README command reproduces public/models/micro', async () => {
    const readme = readFileSync(resolve(process.cwd(), 'public/models/micro/README.md'), 'utf8');
    const command = readme.match(/twosome make-model (--out public\/models\/micro[^\n`]*)/);
    expect(command).not.toBeNull();
    const out = join(work, 'micro');
    const argv = command![1].trim().split(/\s+/);
    argv[1] = out;
    expect(await makeModelCommand(argv)).toBe(0);
    for (const name of readdirSync(resolve(process.cwd(), 'public/models/micro')).filter((n) => n !== 'README.md')) {
      expect(
        Buffer.compare(
          readFileSync(join(out, name)),
          readFileSync(resolve(process.cwd(), 'public/models/micro', name)),
        ),
        name,
      ).toBe(0);
    }
  });

  it('honours every flag', async () => {
    const out = join(work, 'b');
    const argv = [
      '--out',
      out,
      '--hidden',
      '96',
      '--layers',
      '1',
      '--heads',
      '3',
      '--kv-heads',
      '1',
      '--intermediate',
      '64',
      '--quant',
      'q4f32_1',
      '--tie-embeddings',
      'true',
      '--rope-scaling',
      'llama3',
      '--seed',
      '9',
      '--max-shard-mib',
      '0.01',
    ];
    expect(await makeModelCommand(argv)).toBe(0);
    const model = await loadLlamaModelFromDir(out);
    expect(model.config).toMatchObject({
      hidden: 96,
      layers: 1,
      heads: 3,
      kvHeads: 1,
      headDim: 32,
      intermediate: 64,
      quantization: 'q4f32_1',
      tieEmbeddings: true,
      ropeTheta: 500000,
    });
    expect(model.config.ropeScaling?.type).toBe('llama3');
    expect(model.cache.shards.length).toBeGreaterThan(1);
    const fast = join(work, 'fast');
    expect(await makeModelCommand(['--out', fast, '--layers', '1', '--vocab', '2000', '--init', 'fast'])).toBe(0);
    expect((await loadLlamaModelFromDir(fast)).config.vocabSize).toBe(2000);
    const again = join(work, 'c');
    await makeModelCommand([...argv.slice(0, 1), again, ...argv.slice(2)]);
    for (const name of readdirSync(out))
      expect(Buffer.compare(readFileSync(join(out, name)), readFileSync(join(again, name))), name).toBe(0);
  });

  it('--tokenizer ships a real tokenizer.json and takes the vocabulary, BOS and EOS from it', async () => {
    const llama3 = join(work, 'llama3-tokenizer.json');
    writeFileSync(llama3, llama3TokenizerJson());
    const out = join(work, 'with-llama3');
    expect(await makeModelCommand(['--out', out, '--layers', '1', '--tokenizer', llama3, '--init', 'fast'])).toBe(0);
    expect(output.stdout).toContain('vocab 128256 (BOS 128000, EOS 128001/128009)');
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(llama3TokenizerJson());
    const chat = JSON.parse(readFileSync(join(out, 'mlc-chat-config.json'), 'utf8'));
    expect(chat).toMatchObject({
      vocab_size: 128256,
      bos_token_id: 128000,
      eos_token_id: [128001, 128009],
      twosome_make_model: { tokenizer: 'given' },
    });
    const model = await loadLlamaModelAndTokenizer(out);
    expect(model.config).toMatchObject({ vocabSize: 128256, bosTokenId: 128000, eosTokenIds: [128001, 128009] });
    expect(model.tokenizer.bosId).toBe(128000);
    expect(model.tokenizer.encodePrompt('pick up the tomato')[0]).toBe(128000);
    model.tokenizer.dispose();

    // Llama-2 (rebuilt): BOS from its TemplateProcessing post-processor; --vocab may pad beyond the tokenizer.
    const llama2 = join(work, 'llama2-tokenizer.json');
    writeFileSync(llama2, llama2TokenizerJson());
    const out2 = join(work, 'with-llama2');
    expect(
      await makeModelCommand([
        '--out',
        out2,
        '--layers',
        '1',
        '--tokenizer',
        llama2,
        '--vocab',
        '32064',
        '--init',
        'fast',
      ]),
    ).toBe(0);
    expect(JSON.parse(readFileSync(join(out2, 'mlc-chat-config.json'), 'utf8'))).toMatchObject({
      vocab_size: 32064,
      bos_token_id: 1,
      eos_token_id: 2,
    });
    await expect(makeModelCommand(['--out', out2, '--tokenizer', llama2, '--vocab', '1000'])).rejects.toThrow(
      /--vocab must be 0 \(the tokenizer's 32000\) or at least 32000/,
    );
    await expect(makeModelCommand(['--out', out2, '--tokenizer', join(work, 'nope.json')])).rejects.toThrow(
      /--tokenizer .*nope\.json: cannot read it \(ENOENT\)/,
    );
    writeFileSync(join(work, 'bad.json'), '{"model":{"vocab":{"a":0}}}');
    await expect(makeModelCommand(['--out', out2, '--tokenizer', join(work, 'bad.json')])).rejects.toThrow(UsageError);
    await expect(makeModelCommand(['--out', out2, '--tokenizer', join(work, 'bad.json')])).rejects.toThrow(
      /names no beginning-of-sequence token/,
    );
  });

  it('turns bad flags into one-line usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--out DIR is required/],
      [
        ['--out', work, '--quant', 'q3f16_1'],
        /--quant: "q3f16_1" is not supported; use one of q4f16_1, q4f32_1, q0f16, q0f32/,
      ],
      [['--out', work, '--rope-scaling', 'yarn'], /--rope-scaling: "yarn" must be none or llama3/],
      [['--out', work, '--tie-embeddings', 'yes'], /--tie-embeddings: "yes" must be true or false/],
      [['--out', work, '--hidden', '-4'], /--hidden: "-4" must be an integer >= 1/],
      [['--out', work, '--heads', '5'], /--hidden \(64\) must be a multiple of --heads \(5\)/],
      [['--out', work, '--kv-heads', '3'], /--heads \(4\) must be a multiple of --kv-heads \(3\)/],
      [['--out', work, '--intermediate', '100'], /--intermediate \(100\) must be a multiple of 32 for q4f16_1/],
      [['--out', work, '--colour', 'red'], /Unknown option '--colour'/],
      [['--out', work, '--init', 'zeros'], /--init: "zeros" must be normal or fast/],
      [['--out', work, '--vocab', '10'], /--vocab must be 0 \(the tokenizer's 710\) or at least 710/],
    ];
    for (const [argv, message] of cases) await expect(makeModelCommand(argv), argv.join(' ')).rejects.toThrow(message);
    await expect(makeModelCommand([])).rejects.toBeInstanceOf(UsageError);
    expect(
      await makeModelCommand(['--out', join(work, 'd'), '--layers', '1', '--quant', 'q0f32', '--intermediate', '100']),
    ).toBe(0); // no group constraint unquantized
  });

  it('reports an unwritable --out', async () => {
    const file = join(work, 'a', 'tokenizer.json'); // a file, not a directory
    await expect(makeModelCommand(['--out', join(file, 'sub')])).rejects.toThrow(
      /cannot write to --out .*: (ENOTDIR|EEXIST)/,
    );
  });
});
