/**
 * `twosome score --model DIR|URL|micro --task ID [--actions 0,2] [--adapter DIR] [--json]`: replays the actions
 * in the task's environment, then scores the offered actions after the current prompt with the WebGPU engine,
 * with a PEFT LoRA adapter (a `twosome train` run directory) when --adapter is given:
 * {"prompt","promptTokenIds","actions":[{"text","tokenIds","logprob","nTokens","nWords"}],
 *  "policy":{"sum":[..],"token":[..],"word":[..]}}.
 */
import { policies } from '../rl/policy';
import { readAdapterDir } from './adapter-dir';
import { parseFlags, parseIndexList } from './args';
import { MODEL_FLAG, resolveModelSource } from './model-source';
import { replayObservation } from './replay';
import { requiredTask, TASK_FLAG } from './task-flag';
import { withAdapter, withEngine } from './with-engine';

const USAGE = 'twosome score --model DIR|URL|micro --task ID [--actions 0,2] [--adapter DIR] [--json]';

export async function scoreCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: MODEL_FLAG,
      task: TASK_FLAG,
      actions: { type: 'string', arg: 'LIST', help: 'action indices to replay before scoring, e.g. 0,2' },
      adapter: { type: 'string', arg: 'DIR', help: 'a PEFT LoRA adapter directory (or a twosome run directory)' },
      json: {
        type: 'boolean',
        default: false,
        help: 'one JSON object with the prompt, tokens, log-probs and policies',
      },
    },
    USAGE,
  );
  const task = requiredTask(values.task, USAGE);
  const replay = parseIndexList(values.actions ?? '', '--actions');
  const source = resolveModelSource(values.model);
  const adapterFiles = values.adapter !== undefined ? readAdapterDir(values.adapter) : null;

  const { prompt, actions } = replayObservation(task, replay);

  const output = await withEngine(source, async (engine) => {
    const batch = engine.tokenize([{ prompt, actions }]);
    const [{ promptTokens, actionTokens }] = batch;
    // With --adapter the same tokens, scored by the adapted model.
    const [scores] = await withAdapter(engine, adapterFiles, values.model ?? 'micro', (lora) =>
      engine.forwardScores(batch, { lora }),
    );
    return {
      prompt,
      promptTokenIds: promptTokens,
      actions: actions.map((text, k) => ({
        text,
        tokenIds: actionTokens[k],
        logprob: scores.logprobs[k],
        nTokens: scores.nTokens[k],
        nWords: scores.nWords[k],
      })),
      policy: policies(scores),
      kernels: engine.kernelInfo,
    };
  });
  if (values.json) process.stdout.write(`${JSON.stringify(output)}\n`);
  else {
    process.stdout.write(`${prompt}\n\n`);
    const width = Math.max(...actions.map((a) => a.length));
    process.stdout.write(`${'action'.padEnd(width)}  tokens words   logprob   sum%  token%  word%\n`);
    output.actions.forEach((a, k) => {
      const pct = (p: number) => (100 * p).toFixed(1).padStart(6);
      process.stdout.write(
        `${a.text.padEnd(width)}  ${String(a.nTokens).padStart(6)} ${String(a.nWords).padStart(5)} ${a.logprob.toFixed(4).padStart(9)} ${pct(output.policy.sum[k])} ${pct(output.policy.token[k])} ${pct(output.policy.word[k])}\n`,
      );
    });
  }
  return 0;
}
