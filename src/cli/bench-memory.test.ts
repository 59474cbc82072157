// `twosome bench memory`, called as main.ts will call it (argv after "bench memory").
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeModel } from '../llm/model/make-model';
import { benchMemoryCommand } from './bench-memory';
import { UsageError } from './errors';
import { captureOutput, tempDir } from '../util/testing';

const work = tempDir('twosome-bench-memory-');

const output = captureOutput();

describe('twosome bench memory', () => {
  it('--json for the acceptance model prints the five fields; peak <= 5 GiB', async () => {
    expect(await benchMemoryCommand(['--model', 'Llama-2-7b-chat-hf-q4f16_1-MLC', '--json'])).toBe(0);
    const result = JSON.parse(output.stdout);
    expect(Object.keys(result)).toEqual(['model', 'peakBytes', 'weightsBytes', 'activationBytes', 'optimizerBytes']);
    expect(result.model).toBe('Llama-2-7b-chat-hf-q4f16_1-MLC');
    expect(result.peakBytes).toBeLessThanOrEqual(5 * 2 ** 30);
    expect(result.peakBytes).toBe(result.weightsBytes + result.activationBytes + result.optimizerBytes);
  });

  it('batch and LoRA flags change the plan', async () => {
    await benchMemoryCommand(['--model', 'Llama-2-7b-chat-hf-q4f16_1-MLC', '--json']);
    const base = JSON.parse(output.stdout);
    output.stdout = '';
    await benchMemoryCommand([
      '--model',
      'Llama-2-7b-chat-hf-q4f16_1-MLC',
      '--json',
      '--prompts',
      '8',
      '--prompt-tokens',
      '100',
      '--actions',
      '4',
      '--action-tokens',
      '3',
      '--lora-r',
      '16',
      '--lora-targets',
      'q_proj,k_proj,v_proj',
    ]);
    const other = JSON.parse(output.stdout);
    expect(other.weightsBytes).toBe(base.weightsBytes);
    expect(other.activationBytes).not.toBe(base.activationBytes);
    expect(other.optimizerBytes).toBeGreaterThan(base.optimizerBytes);
  });

  it('reads a model directory (mlc-chat-config.json) and "micro"; prints a table without --json', async () => {
    const dir = join(work, 'tiny');
    mkdirSync(dir);
    const made = makeModel({ layers: 1 });
    const config = made.files.find((f) => f.name === 'mlc-chat-config.json')!;
    writeFileSync(join(dir, 'mlc-chat-config.json'), config.bytes);
    expect(await benchMemoryCommand(['--model', dir, '--prompt-tokens', '20'])).toBe(0);
    expect(output.stdout).toMatch(/training peak .* bytes\)/);
    expect(output.stdout).toMatch(/layer-input checkpoints/);
    output.stdout = '';
    expect(await benchMemoryCommand(['--model', 'micro', '--json', '--prompt-tokens', '20'])).toBe(0);
    expect(JSON.parse(output.stdout).model).toBe('micro');
  });

  it('user errors', async () => {
    await expect(benchMemoryCommand([])).rejects.toThrow(UsageError);
    await expect(benchMemoryCommand(['--model', 'No-Such-Model'])).rejects.toThrow(/not a catalog model id/);
    await expect(benchMemoryCommand(['--model', work])).rejects.toThrow(/no mlc-chat-config.json/);
    await expect(
      benchMemoryCommand(['--model', 'Llama-2-7b-chat-hf-q4f16_1-MLC', '--lora-targets', 'q_proj,x_proj']),
    ).rejects.toThrow(/unknown LoRA target "x_proj"/);
    await expect(
      benchMemoryCommand(['--model', 'Llama-2-7b-chat-hf-q4f16_1-MLC', '--prompt-tokens', '5000']),
    ).rejects.toThrow(/context window/);
    await expect(benchMemoryCommand(['--model', 'Llama-2-7b-chat-hf-q4f16_1-MLC', '--prompts', '0'])).rejects.toThrow(
      /--prompts/,
    );
  });

  it('a config of 10^8 layers is refused before any plan is made', async () => {
    const dir = join(work, 'huge');
    mkdirSync(dir);
    const file = makeModel({ layers: 1 }).files.find((f) => f.name === 'mlc-chat-config.json')!;
    const config = JSON.parse(new TextDecoder().decode(file.bytes));
    config.model_config.num_hidden_layers = 100_000_000;
    writeFileSync(join(dir, 'mlc-chat-config.json'), JSON.stringify(config));
    await expect(benchMemoryCommand(['--model', dir, '--json'])).rejects.toThrow(
      /"model_config.num_hidden_layers" is 100000000, more than any Llama model has/,
    );
  });
});
