/**
 * `twosome eval --task ID --model M [--adapter DIR] [--episodes N] [--greedy] [--seed S] [--json]`: plays N
 * episodes of any task (training tasks, unseen variants, crossovers) with the model, with a PEFT LoRA adapter
 * from a run directory (`adapter_config.json` + `adapter_model.safetensors`) or without one (the frozen model:
 * SayCan's policy when --greedy), sampling from pi by default (TWOSOME's inference protocol) or argmax with
 * --greedy. --json prints {"task","episodes","successRate","meanReturn"}.
 */
import type { LoraAdapter } from '../llm/train/lora';
import { NORMALIZATIONS, type Normalization } from '../rl/policy';
import { evaluatePolicy } from '../rl/evaluate';
import { bindAdapterFiles, readAdapterDir } from './adapter-dir';
import { parseFlags, parseIntFlag } from './args';
import { UsageError } from './errors';
import { BACKEND_FLAG, checkBackend, checkTask, EngineHost } from './train';
import { MODEL_FLAG, resolveModelSource } from './model-source';

const USAGE =
  'twosome eval --task ID --model DIR|URL|micro [--adapter DIR] [--episodes N] [--greedy] [--seed S] [--normalization word|token|sum] [--parallel N] [--backend webgpu|cpu] [--json]';

export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      task: { type: 'string', arg: 'ID', help: 'the task (any: training tasks, unseen variants, crossovers)' },
      model: MODEL_FLAG,
      adapter: {
        type: 'string',
        arg: 'DIR',
        help: 'a PEFT LoRA adapter directory (or a twosome run directory); none: the frozen model',
      },
      episodes: { type: 'string', arg: 'N', help: 'episodes to play (default 10)' },
      greedy: {
        type: 'boolean',
        default: false,
        help: 'take the most likely action instead of sampling from the policy',
      },
      seed: { type: 'string', arg: 'S', help: 'seed of the environments and the sampling (default 0)' },
      normalization: {
        type: 'string',
        arg: 'word|token|sum',
        help: 'how action log-probs are normalized (default word)',
      },
      parallel: { type: 'string', arg: 'N', help: 'episodes played at once (default 8)' },
      backend: BACKEND_FLAG,
      json: {
        type: 'boolean',
        default: false,
        help: 'one JSON object: {"task","episodes","successRate","meanReturn"}',
      },
    },
    USAGE,
  );
  const task = checkTask(values.task);
  const episodes = parseIntFlag(values.episodes, 'episodes', 10, 1);
  const seed = parseIntFlag(values.seed, 'seed', 0, 0);
  const parallel = parseIntFlag(values.parallel, 'parallel', 8, 1);
  const normalization = (values.normalization ?? 'word') as Normalization;
  if (!NORMALIZATIONS.includes(normalization))
    throw new UsageError(`--normalization: "${values.normalization}" is not one of ${NORMALIZATIONS.join(', ')}`);
  const adapterFiles = values.adapter !== undefined ? readAdapterDir(values.adapter) : null;
  const model = values.model ?? 'micro';
  resolveModelSource(model);
  const backend = checkBackend(values.backend);

  const host = new EngineHost();
  let dispose = () => {};
  try {
    let adapter: LoraAdapter | null = null;
    if (adapterFiles) {
      const shape = backend === 'cpu' ? (await host.cpuModel(model)).weights.config : (await host.engine(model)).config;
      adapter = bindAdapterFiles(adapterFiles, shape, model);
    }
    const { scorer, dispose: release } = await host.scorer(model, backend, adapter);
    dispose = release;
    const result = await evaluatePolicy(task, scorer, {
      episodes,
      greedy: values.greedy,
      seed,
      normalization,
      parallel,
      onEpisode:
        values.json || !process.stderr.isTTY
          ? undefined
          : (o, done) =>
              process.stderr.write(
                `\r\x1b[2Kepisode ${done}/${episodes}: ${o.success ? 'success' : 'failure'}, return ${o.return.toFixed(3)}`,
              ),
    });
    if (process.stderr.isTTY && !values.json) process.stderr.write('\n');
    const output = { task, episodes: result.episodes, successRate: result.successRate, meanReturn: result.meanReturn };
    if (values.json) process.stdout.write(`${JSON.stringify(output)}\n`);
    else {
      process.stdout.write(
        `${task}: ${result.episodes} episodes (${result.greedy ? 'greedy' : 'sampled'}${adapterFiles ? `, adapter ${values.adapter}` : ', frozen model'}): success ${(100 * result.successRate).toFixed(1)}%, mean return ${result.meanReturn.toFixed(4)}, mean length ${result.meanLength.toFixed(1)}\n`,
      );
    }
    return 0;
  } finally {
    dispose();
    host.dispose();
  }
}
