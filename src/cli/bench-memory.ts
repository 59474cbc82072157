/**
 * `twosome bench memory --model ID|DIR [--prompts 4] [--prompt-tokens 200] [--actions 8] [--action-tokens 5]
 *  [--lora-r 8] [--lora-targets q_proj,v_proj] [--json]`: the planned peak GPU memory of one training step
 * (llm/engine/memory-plan.ts), from the architecture alone: nothing is downloaded or allocated.
 * --json prints {"model","peakBytes","weightsBytes","activationBytes","optimizerBytes"}; without it, a table of
 * every term. --model: a catalog id (`twosome models list`), "micro", or an MLC model directory (its
 * mlc-chat-config.json is read).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { architectureConfig, findCatalogRecord } from '../llm/model/catalog';
import { loadCatalog } from '../llm/model/webllm';
import { parseLlamaConfigText, type LlamaConfig } from '../llm/model/config';
import { checkLoraConfig, DEFAULT_LORA_CONFIG, type LoraTarget } from '../llm/train/lora';
import { planTrainingMemory, type MemoryPlan } from '../llm/engine/memory-plan';
import { MODEL_FILE_LIMITS } from '../llm/model/weights';
import { FileReadError, readFileBoundedSync } from '../util/read-file-node';
import { parseFlags, parseIntFlag } from './args';
import { UsageError } from './errors';
import { MICRO_MODEL_DIR } from './model-source';
import { formatBytes } from '../util/format';

const USAGE =
  'twosome bench memory --model ID|DIR [--prompts 4] [--prompt-tokens 200] [--actions 8] [--action-tokens 5] [--lora-r 8] [--lora-targets q_proj,v_proj] [--json]';

export interface MemoryBenchResult {
  model: string;
  peakBytes: number;
  weightsBytes: number;
  activationBytes: number;
  optimizerBytes: number;
}

/** The LlamaConfig of a catalog id (with web-llm's context window), "micro", or an MLC model directory. */
export async function resolveModelConfig(model: string): Promise<LlamaConfig> {
  const record = findCatalogRecord(await loadCatalog(), model);
  if (record?.arch) return architectureConfig(model, record.contextWindow);
  const dir = model === 'micro' ? MICRO_MODEL_DIR : model;
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    const file = join(dir, 'mlc-chat-config.json');
    if (!existsSync(file))
      throw new UsageError(`--model ${model}: the directory has no mlc-chat-config.json; is it an MLC model?`);
    try {
      const bytes = readFileBoundedSync(file, MODEL_FILE_LIMITS['mlc-chat-config.json']);
      return parseLlamaConfigText(new TextDecoder().decode(bytes), file);
    } catch (error) {
      if (error instanceof FileReadError) throw new UsageError(`--model ${model}: ${error.message}`);
      throw error;
    }
  }
  throw new UsageError(
    `--model ${model}: not a catalog model id (see \`twosome models list\`), "micro", or an MLC model directory`,
  );
}

export async function benchMemoryCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: {
        type: 'string',
        arg: 'ID|DIR',
        help: 'a catalog id (`twosome models list`), micro, or an MLC model directory',
      },
      prompts: { type: 'string', arg: 'N', help: 'prompts per micro-batch (default 4)' },
      'prompt-tokens': { type: 'string', arg: 'N', help: 'tokens per prompt (default 200)' },
      actions: { type: 'string', arg: 'N', help: 'actions per prompt (default 8)' },
      'action-tokens': { type: 'string', arg: 'N', help: 'tokens per action (default 5)' },
      'lora-r': { type: 'string', arg: 'R', help: `LoRA rank (default ${DEFAULT_LORA_CONFIG.r})` },
      'lora-targets': {
        type: 'string',
        arg: 'LIST',
        help: `LoRA targets (default ${DEFAULT_LORA_CONFIG.targets.join(',')})`,
      },
      json: { type: 'boolean', default: false, help: 'one JSON object: {"model","peakBytes","weightsBytes",...}' },
    },
    USAGE,
  );
  if (!values.model) throw new UsageError(`--model is required\nusage: ${USAGE}`);
  const config = await resolveModelConfig(values.model);
  const batch = {
    prompts: parseIntFlag(values.prompts, 'prompts', 4, 1),
    promptTokens: parseIntFlag(values['prompt-tokens'], 'prompt-tokens', 200, 1),
    actions: parseIntFlag(values.actions, 'actions', 8, 1),
    actionTokens: parseIntFlag(values['action-tokens'], 'action-tokens', 5, 1),
  };
  const r = parseIntFlag(values['lora-r'], 'lora-r', DEFAULT_LORA_CONFIG.r, 1);
  const targets = (values['lora-targets'] ?? DEFAULT_LORA_CONFIG.targets.join(','))
    .split(',')
    .map((t) => t.trim()) as LoraTarget[];
  const problems = checkLoraConfig({ ...DEFAULT_LORA_CONFIG, r, targets });
  if (problems.length) throw new UsageError(`--lora-targets / --lora-r: ${problems.join('; ')}`);

  let plan: MemoryPlan;
  try {
    plan = planTrainingMemory(config, { batch, lora: { r, targets } });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  const result: MemoryBenchResult = {
    model: values.model,
    peakBytes: plan.peakBytes,
    weightsBytes: plan.weightsBytes,
    activationBytes: plan.activationBytes,
    optimizerBytes: plan.optimizerBytes,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  }
  const lines = [
    `${values.model}: training peak ${formatBytes(plan.peakBytes)} (${plan.peakBytes} bytes)`,
    `  micro-batch: ${batch.prompts} prompts x ${batch.promptTokens} tokens, ${batch.actions} actions x ${batch.actionTokens} tokens -> ${plan.rows} rows, ${plan.logitRows} logit rows; LoRA r ${r} on ${targets.join(', ')}`,
    `  weights ${formatBytes(plan.weightsBytes)}, activations ${formatBytes(plan.activationBytes)}, optimizer ${formatBytes(plan.optimizerBytes)}; largest buffer ${plan.largestBuffer.name} ${formatBytes(plan.largestBuffer.bytes)}`,
    ...plan.breakdown.map(
      (t) => `  ${t.category.padEnd(11)} ${t.name.padEnd(42)} ${formatBytes(t.bytes).padStart(10)}  ${t.detail}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
