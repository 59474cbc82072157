// `twosome generate` without a GPU: every bad flag is one line on stderr and exit code 2, before any GPU work;
// the flags' defaults and bounds; replaying actions to the prompt asked about.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEnv } from '../envs/registry';
import { generationFlags } from './generate';
import { replayObservation } from './replay';
import { main } from './main';
import { runCommand, tempDir } from '../util/testing';

const work = tempDir('twosome-generate-');

const run = (argv: string[]) => runCommand(() => main(argv));

describe('twosome generate: bad input is one line, exit 2', () => {
  const task = ['--task', 'tomato-salad'];
  const cases: [string, string[], RegExp][] = [
    ['missing task', ['--model', 'micro'], /--task is required/],
    ['unknown task', ['--task', 'soup'], /unknown task "soup"/],
    ['max tokens 0', [...task, '--max-tokens', '0'], /--max-tokens: "0" must be an integer from 1 to 256/],
    [
      'max tokens over the bound',
      [...task, '--max-tokens', '257'],
      /--max-tokens: "257" must be an integer from 1 to 256/,
    ],
    ['fractional max tokens', [...task, '--max-tokens', '2.5'], /--max-tokens: "2.5" must be an integer/],
    ['negative temperature', [...task, '--temperature', '-1'], /--temperature: "-1" must be a number from 0 to 10/],
    ['temperature not a number', [...task, '--temperature', 'hot'], /--temperature: "hot" must be a number/],
    [
      'temperature over the bound',
      [...task, '--temperature', '11'],
      /--temperature: "11" must be a number from 0 to 10/,
    ],
    ['negative seed', [...task, '--seed', '-3'], /--seed: "-3" must be an integer from 0 to 4294967295/],
    ['bad action list', [...task, '--actions', '0,x'], /--actions: "x" is not a non-negative integer/],
    ['action out of range', [...task, '--actions', '99'], /--actions step 0: /],
    ['missing model dir', [...task, '--model', join(work, 'no-model')], /--model .*no such directory/],
    ['missing adapter dir', [...task, '--adapter', join(work, 'none')], /--adapter .*no such directory/],
    [
      'adapter dir without PEFT files',
      [...task, '--adapter', work],
      /adapter_config\.json and adapter_model\.safetensors/,
    ],
    ['unknown flag', [...task, '--top-k', '5'], /Unknown option '--top-k'/],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const { code, out, err } = await run(['generate', ...argv]);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toMatch(message);
      expect(err.trimEnd().split('\n')[0]).toMatch(message);
    });
  }
});

describe('twosome generate: flags and prompt', () => {
  it('defaults to greedy, 24 tokens, seed 0, and takes values at their bounds', () => {
    expect(generationFlags({})).toEqual({ maxTokens: 24, temperature: 0, seed: 0 });
    expect(generationFlags({ 'max-tokens': '256', temperature: '10', seed: '4294967295' })).toEqual({
      maxTokens: 256,
      temperature: 10,
      seed: 4294967295,
    });
    expect(generationFlags({ temperature: '0.7' }).temperature).toBe(0.7);
  });

  it('asks about the prompt after the replayed actions', () => {
    const env = createEnv('tomato-salad');
    env.reset(0);
    env.step(1);
    expect(replayObservation('tomato-salad', [1])).toEqual(env.observe());
    expect(replayObservation('tomato-salad', [])).not.toEqual(env.observe());
  });
});
