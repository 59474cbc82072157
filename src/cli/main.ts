/**
 * The `twosome` command for Node: the same sources as the app, run headless.
 * Every user error is one line on stderr and exit code 2; TWOSOME_DEBUG=1 adds stack traces.
 */
import { benchEnvCommand } from './bench-env';
import { envPlay } from './env-play';
import { FAMILIES, tasksOfFamily } from '../envs/registry';
import { wantsHelp } from './args';
import { HelpRequest, UsageError } from './errors';
import { describeError } from '../util/errors';
import { terminalSafe } from '../util/terminal-text';

const HELP = `twosome: TWOSOME (LLM agents trained by PPO with LoRA) on WebGPU, from the command line

usage:
  twosome env play --task ID [--actions 3,0,2 | --actions-file FILE|-] [--seed S] [--json]
      replay action indices (each refers to the list offered at that step) or play in the terminal
  twosome env list [--json]
      the tasks: id, title, actions, horizon, optimal return
  twosome bench env --task ID [--seconds S] [--json]
      environment speed under a seeded uniform-random policy, with and without text observations
  twosome nlp-eval --model DIR|URL|micro [--adapter RUN_DIR] --bench arc-easy[,...] [--data DIR] [--limit N] [--json]
      zero-shot benchmarks (arc-easy, arc-challenge, piqa, boolq, winogrande, hellaswag, siqa, openbookqa, mmlu,
      mmlu-<subject>) scored as lm-evaluation-harness does; base and adapter side by side with --adapter;
      without --data they are downloaded from the Hugging Face hub (--data-url, --cache-dir) and kept
  twosome bench nlp-eval [--model DIR|URL|micro] [--bench arc-easy] [--limit N] [--json]
      questions/s with each question's context shared by its choices against one sequence per choice, same run
  twosome score --model DIR|URL|micro --task ID [--actions 0,2] [--adapter DIR] [--json]
      replay the actions, then score the offered actions with the WebGPU LLaMA engine (TWOSOME's policy),
      with a PEFT LoRA adapter when given
  twosome generate --model DIR|URL|micro [--adapter RUN_DIR] --task ID [--actions 0,2] [--max-tokens N]
                   [--temperature T] [--seed S] [--json]
      the model continues the task's prompt as free text (greedy or sampled, KV cache), with and without the
      adapter, and whether each text is one of the offered actions (TWOSOME's point: often it is not)
  twosome bench score [--model DIR|URL|micro] [--json]
      shared-prompt scoring against one sequence per action, same device and run; per-kernel GFLOP/s
  twosome bench train [--model DIR|URL|micro] [--json]
      one LoRA policy update (forward, backward, AdamW) shared-prompt vs one sequence per action
  twosome bench memory --model ID|DIR [--prompts 4 --prompt-tokens 200 --actions 8 --action-tokens 5
                       --lora-r 8 --lora-targets q_proj,v_proj] [--json]
      planned peak GPU memory of training (weights, activations with checkpointing, optimizer), no allocation
  twosome bench plan --model ID|DIR [--task ID] [--prompts-per-pass N] [--json]
      dispatches, blocking waits, bind groups and weight reads of a scoring call and a paper PPO update, counted
      on a recording device (no allocation)
  twosome train --task ID [--model DIR|URL|micro] [--algo twosome|ppo-mlp|saycan] [--preset paper|quick]
                [--steps N] [--seed S] [--out DIR] [--resume DIR] [--backend webgpu|cpu] [--max-updates N]
                [--envs N --rollout-steps N --policy-lr X --value-lr X --ent-coef X --normalization word|token|sum ...]
      train an agent; writes DIR/metrics.jsonl, the PEFT adapter, critic.safetensors and a checkpoint to resume
  twosome eval --task ID [--model DIR|URL|micro] [--adapter DIR] [--episodes N] [--greedy] [--seed S] [--json]
      success rate and mean return over N episodes (any task: unseen variants and crossovers included)
  twosome compare --task ID [--model DIR|URL|micro] [--steps N] [--seeds 1,2,3] [--out DIR] [--algos ...]
      TWOSOME, PPO-MLP and SayCan on the same seeds: DIR/curves.csv, DIR/aggregate.csv, DIR/compare.svg
  twosome gpu [--json]
      the WebGPU adapter this machine gives (Dawn; SwiftShader where no GPU exists)
  twosome models list [--json]
      the catalog of Llama-architecture MLC models (web-llm's records): size, VRAM, features, context
  twosome models download ID|URL --out DIR [--parallel N]
      download a model (parallel shards, resume, size and md5 checks) into a directory for --model DIR
  twosome adapter inspect FILE|DIR [--model M] [--json]
      summary of a PEFT LoRA adapter or a twosome bundle, or one line saying what is wrong (exit 2)
  twosome adapter export BUNDLE --out DIR      bundle -> PEFT files (adapter_config.json, adapter_model.safetensors)
  twosome adapter import DIR --out BUNDLE [--model M]   PEFT files -> bundle
  twosome make-model --out DIR [--hidden N] [--layers N] [--heads N] [--kv-heads N] [--intermediate N]
                     [--quant q4f16_1|q4f32_1|q0f16|q0f32] [--tie-embeddings true|false]
                     [--rope-scaling none|llama3] [--seed S] [--vocab N] [--init normal|fast]
      write a random-initialized Llama model in MLC layout with a tokenizer covering the tasks' words
      (--vocab pads the vocabulary to a real model's size; --init fast draws a 7B model in seconds, for benchmarks)

Every command takes --help: its usage and one line per option.
Environment: TWOSOME_IDLE_TIMEOUT_S (default 30) gives up on a server that sends nothing for that long (after
retries); TWOSOME_DEBUG=1 prints stack traces; HF_ENDPOINT and TWOSOME_CACHE_DIR: where nlp-eval downloads from and
keeps the benchmarks.

Tasks (\`twosome env list\` describes them):
${FAMILIES.map(
  ({ family, title }) =>
    `  ${title}: ${tasksOfFamily(family)
      .map((t) => t.id)
      .join(', ')}`,
).join('\n')}`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Record<string, () => Promise<Command>> | (() => Promise<Command>)> = {
  env: {
    play: async () => envPlay,
    list: async () => (await import('./env-list')).envList,
  },
  bench: {
    env: async () => benchEnvCommand,
    score: async () => (await import('./bench-score')).benchScoreCommand,
    train: async () => (await import('./bench-train')).benchTrainCommand,
    memory: async () => (await import('./bench-memory')).benchMemoryCommand,
    plan: async () => (await import('./bench-plan')).benchPlanCommand,
    'nlp-eval': async () => (await import('./bench-nlp-eval')).benchNlpEvalCommand,
  },
  gpu: async () => (await import('./gpu-info')).gpuInfo,
  'make-model': async () => (await import('./make-model')).makeModelCommand,
  score: async () => (await import('./score')).scoreCommand,
  generate: async () => (await import('./generate')).generateCommand,
  'nlp-eval': async () => (await import('./nlp-eval')).nlpEvalCommand,
  models: async () => (await import('./models')).modelsCommand,
  adapter: async () => (await import('./adapter')).adapterCommand,
  train: async () => (await import('./train')).trainCommand,
  eval: async () => (await import('./eval')).evalCommand,
  compare: async () => (await import('./compare')).compareCommand,
};

/** Errors that come from what the user gave (a flag, a file, a model, a URL): one line, exit code 2. */
const USER_ERRORS = new Set([
  'UsageError',
  'AdapterFormatError',
  'ShareLinkError',
  'ModelFormatError',
  'TokenizerError',
  'ModelUrlError',
  'WebGpuUnavailableError',
  'InvalidActionError',
  'UnknownTaskError',
  'ConfigError',
  'FileReadError',
  'CheckpointError',
]);
// A malformed benchmark file, a question too long for the model, a download that fails (twosome nlp-eval).
for (const name of ['BenchDataError', 'RequestTokenError', 'BenchDownloadError']) USER_ERRORS.add(name);

export async function main(argv: string[]): Promise<number> {
  try {
    const [group, sub, ...rest] = argv;
    if (!group || group === 'help' || group === '--help' || group === '-h') {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const entry = COMMANDS[group];
    if (!entry) throw new UsageError(`unknown command "${group}"; run \`twosome help\``);
    if (typeof entry === 'function') return await (await entry())(argv.slice(1));
    const command = sub ? entry[sub] : undefined;
    if (!command && sub !== undefined && wantsHelp([sub])) {
      const usage = `usage: twosome ${group} ${Object.keys(entry).join('|')} ...`;
      throw new HelpRequest(`${usage}\n\n\`twosome ${group} SUBCOMMAND --help\` lists its options`);
    }
    if (!command)
      throw new UsageError(`usage: twosome ${group} ${Object.keys(entry).join('|')} ...; run \`twosome help\``);
    return await (
      await command()
    )(rest);
  } catch (error) {
    if (error instanceof HelpRequest) {
      process.stdout.write(`${error.text}\n`);
      return 0;
    }
    if (process.env.TWOSOME_DEBUG) console.error(error);
    // Messages quote paths, URLs and values from files: printed terminal-safe.
    if (error instanceof Error && USER_ERRORS.has(error.name)) {
      process.stderr.write(`twosome: ${terminalSafe(error.message, { keepNewlines: true })}\n`);
      return 2;
    }
    const first = terminalSafe(describeError(error).split('\n')[0]);
    process.stderr.write(`twosome: internal error: ${first} (set TWOSOME_DEBUG=1 for details)\n`);
    return 1;
  }
}
