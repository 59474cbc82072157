/** The synthetic scoring batch the engine benchmarks share: flags, the engine, a seeded prompt with its actions. */
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import type { ScoringRequest } from '../llm/engine/scoring-layout';
import { Rng } from '../util/rng';
import { parseFlags, parseIntFlag } from './args';
import { resolveModelSource } from './model-source';

export const BENCH_BATCH_FLAGS = {
  model: { type: 'string', arg: 'DIR|URL|micro', help: 'the model (default micro, the shipped random model)' },
  'prompt-tokens': { type: 'string', arg: 'N', help: 'prompt length in tokens, BOS included (default 150)' },
  actions: { type: 'string', arg: 'N', help: 'actions offered after the prompt (default 8)' },
  'action-tokens': { type: 'string', arg: 'N', help: 'tokens per action (default 5)' },
  repeats: { type: 'string', arg: 'N', help: 'timed repetitions of each variant' },
  json: { type: 'boolean', default: false, help: 'one JSON object (machine-readable)' },
} as const;

export interface BenchBatchFlags {
  model: string | undefined;
  promptTokens: number;
  actionCount: number;
  actionTokens: number;
  repeats: number;
  json: boolean;
}

/** The flags of `twosome bench NAME` (score, train), whose --repeats defaults to `defaultRepeats`. */
export function parseBenchBatchFlags(argv: string[], name: string, defaultRepeats: number): BenchBatchFlags {
  const usage =
    `twosome bench ${name} [--model DIR|URL|micro] [--prompt-tokens 150] [--actions 8] [--action-tokens 5] ` +
    `[--repeats ${defaultRepeats}] [--json]`;
  const { values } = parseFlags(argv, BENCH_BATCH_FLAGS, usage);
  return {
    model: values.model,
    promptTokens: parseIntFlag(values['prompt-tokens'], 'prompt-tokens', 150, 1),
    actionCount: parseIntFlag(values.actions, 'actions', 8, 1),
    actionTokens: parseIntFlag(values['action-tokens'], 'action-tokens', 5, 1),
    repeats: parseIntFlag(values.repeats, 'repeats', defaultRepeats, 1),
    json: values.json ?? false,
  };
}

/** BOS + (promptTokens - 1) random ids, and actionCount actions of actionTokens random ids (seed 1). */
export function syntheticRequest(flags: BenchBatchFlags, vocab: number, bos: number): ScoringRequest {
  const rng = new Rng(1);
  return {
    promptTokens: [bos, ...Array.from({ length: flags.promptTokens - 1 }, () => rng.int(vocab))],
    actionTokens: Array.from({ length: flags.actionCount }, () =>
      Array.from({ length: flags.actionTokens }, () => rng.int(vocab)),
    ),
  };
}

/** The --model's engine on a device of its own, and the synthetic request for it. */
export async function loadBenchEngine(flags: BenchBatchFlags) {
  const gpu = await requestNodeGpuContext();
  const engine = await LlamaEngine.load(gpu, resolveModelSource(flags.model));
  const request = syntheticRequest(flags, engine.config.vocabSize, engine.config.bosTokenId);
  return { gpu, engine, request };
}
