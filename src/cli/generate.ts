/**
 * `twosome generate --model DIR|URL|micro [--adapter RUN_DIR] --task ID [--actions 0,2] [--max-tokens N]
 * [--temperature T] [--seed S] [--json]`: replays the actions in the task's environment, then lets the model
 * continue the prompt as plain text (greedy at temperature 0, else sampled; a KV cache on the WebGPU engine;
 * up to a newline, EOS or N tokens), with and without the adapter, and says whether each text is one of the
 * offered actions (exact match after trimming whitespace). --json: one object
 * {"prompt","promptTokenIds","actions","match","options","base":{"text","tokenIds","stop","action"},
 *  "adapter":{...}|null,"kernels"}.
 */
import { askFreely } from '../llm/engine/generate';
import { KV_CACHE_ATTENTION_INFO } from '../llm/engine/kernels/kv-cache';
import { ACTION_MATCH_RULE, DEFAULT_GENERATION, type FreeAnswer, type GenerationOptions } from '../llm/generation';
import { readAdapterDir } from './adapter-dir';
import { parseFlags, parseIndexList } from './args';
import { UsageError } from './errors';
import { MODEL_FLAG, resolveModelSource } from './model-source';
import { replayObservation } from './replay';
import { requiredTask, TASK_FLAG } from './task-flag';
import { withAdapter, withEngine } from './with-engine';

const USAGE =
  'twosome generate --model DIR|URL|micro [--adapter RUN_DIR] --task ID [--actions 0,2] [--max-tokens N] ' +
  '[--temperature T] [--seed S] [--json]';

/** The bounds of the generation flags: a free answer is one line; more would only cost time. */
export const MAX_TOKENS = 256;
export const TEMPERATURE_LIMIT = 10;

/** Parses a number flag within [min, max] (integers only where `integer`). */
function boundedFlag(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const kind = integer ? 'an integer' : 'a number';
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`--${name}: "${value}" must be ${kind} from ${min} to ${max}`);
  }
  return n;
}

export function generationFlags(values: {
  'max-tokens'?: string;
  temperature?: string;
  seed?: string;
}): GenerationOptions {
  return {
    maxTokens: boundedFlag(values['max-tokens'], 'max-tokens', DEFAULT_GENERATION.maxTokens, 1, MAX_TOKENS, true),
    temperature: boundedFlag(
      values.temperature,
      'temperature',
      DEFAULT_GENERATION.temperature,
      0,
      TEMPERATURE_LIMIT,
      false,
    ),
    seed: boundedFlag(values.seed, 'seed', DEFAULT_GENERATION.seed, 0, 2 ** 32 - 1, true),
  };
}

export async function generateCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: MODEL_FLAG,
      adapter: { type: 'string', arg: 'RUN_DIR', help: 'a PEFT LoRA adapter directory (or a twosome run directory)' },
      task: TASK_FLAG,
      actions: { type: 'string', arg: 'LIST', help: 'action indices to replay first, e.g. 0,2' },
      'max-tokens': {
        type: 'string',
        arg: 'N',
        help:
          `tokens to generate at most, 1 to ${MAX_TOKENS} (default ${DEFAULT_GENERATION.maxTokens}; ` +
          'a newline or EOS stops earlier)',
      },
      temperature: {
        type: 'string',
        arg: 'T',
        help: `0 (default): greedy; up to ${TEMPERATURE_LIMIT}: sample from softmax(logits / T)`,
      },
      seed: { type: 'string', arg: 'S', help: "the sampler's seed (default 0; unused when greedy)" },
      json: { type: 'boolean', default: false, help: 'one JSON object with the prompt, both texts and their matches' },
    },
    USAGE,
  );
  const task = requiredTask(values.task, USAGE);
  const replay = parseIndexList(values.actions ?? '', '--actions');
  const options = generationFlags(values);
  const source = resolveModelSource(values.model);
  const adapterFiles = values.adapter !== undefined ? readAdapterDir(values.adapter) : null;
  const { prompt, actions } = replayObservation(task, replay);

  const output = await withEngine(source, async (engine) => {
    const { promptTokenIds, base, adapted } = await withAdapter(engine, adapterFiles, values.model ?? 'micro', (lora) =>
      askFreely(engine, { prompt, actions }, options, lora),
    );
    return {
      prompt,
      promptTokenIds,
      actions,
      match: ACTION_MATCH_RULE,
      options,
      base,
      adapter: adapted,
      // Generation's attention is the KV-cache kernel, not the scoring passes' flash or thread kernels.
      kernels: { ...engine.kernelInfo, attention: KV_CACHE_ATTENTION_INFO },
    };
  });
  if (values.json) process.stdout.write(`${JSON.stringify(output)}\n`);
  else {
    process.stdout.write(`${prompt}\n\noffered: ${actions.map((a, k) => `[${k}] ${a}`).join('  ')}\n\n`);
    const line = (who: string, a: FreeAnswer) => {
      const verdict = a.action === null ? 'not an offered action' : `offered action ${a.action}`;
      return `${who}: ${JSON.stringify(a.text)}  (${verdict}; ${a.tokenIds.length} tokens, stopped: ${a.stop})\n`;
    };
    process.stdout.write(line('base   ', output.base));
    if (output.adapter) process.stdout.write(line('adapter', output.adapter));
    process.stdout.write(`match: ${ACTION_MATCH_RULE}\n`);
  }
  return 0;
}
