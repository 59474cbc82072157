/**
 * `twosome bench nlp-eval [--model M] [--bench arc-easy] [--limit 64] [--json]`: the capability check's speed,
 * questions per second, with each question's context run once and shared by its choices (ours: the engine's
 * shared-prompt layout, as for TWOSOME's actions) against one sequence per choice (the harness's way), on the
 * same questions, device and run. Each mode runs once to warm up (pipelines, first allocations), then the two
 * are timed alternately over --repeats rounds (the median of each). Prints {"bench","questions",
 * "questionsPerPass","sharedQps","separateQps","speedup","sharedMs","separateMs","maxLogprobDiff","device"};
 * maxLogprobDiff is the largest difference of a choice's log-likelihood between the two modes (they compute the
 * same numbers). On SwiftShader only the ratio means anything.
 */
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { LlamaEngine } from '../llm/engine/engine';
import { benchmark, engineScorer, evaluateQuestions, UnknownBenchError, type EvaluatedQuestion } from '../nlp-eval';
import { parseFlags, parseIntFlag } from './args';
import { UsageError } from './errors';
import { resolveModelSource } from './model-source';
import { DATA_FLAGS, readQuestions } from './nlp-eval-data';

const USAGE =
  'twosome bench nlp-eval [--model DIR|URL|micro] [--bench arc-easy] [--limit 64] [--per-pass 8] [--repeats 3] ' +
  '[--data DIR | --data-url URL] [--json]';

export async function benchNlpEvalCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: { type: 'string', arg: 'DIR|URL|ID', help: 'the model (default micro)' },
      bench: { type: 'string', arg: 'ID', default: 'arc-easy', help: 'the benchmark whose questions are scored' },
      limit: { type: 'string', arg: 'N', default: '64', help: 'its first N questions' },
      'per-pass': { type: 'string', arg: 'N', default: '8', help: 'questions per engine call' },
      repeats: { type: 'string', arg: 'N', default: '3', help: 'timed runs per mode (the median is reported)' },
      ...DATA_FLAGS,
      json: { type: 'boolean', default: false, help: 'one JSON object' },
    },
    USAGE,
    { summary: 'Capability-check questions/s: context shared by the choices vs one sequence per choice.' },
  );
  const id = values.bench;
  try {
    benchmark(id);
  } catch (error) {
    if (error instanceof UnknownBenchError) throw new UsageError(`--bench: ${error.message}`);
    throw error;
  }
  const limit = parseIntFlag(values.limit, 'limit', 0, 1);
  const perPass = parseIntFlag(values['per-pass'], 'per-pass', 0, 1);
  const repeats = parseIntFlag(values.repeats, 'repeats', 0, 1);
  const data = { data: values.data, dataUrl: values['data-url'], cacheDir: values['cache-dir'] };
  const questions = (await readQuestions(data, [id], limit)).get(id)!;

  const gpu = await requestNodeGpuContext();
  const engine = await LlamaEngine.load(gpu, resolveModelSource(values.model));
  const run = (mode: 'shared' | 'separate') =>
    evaluateQuestions(
      questions,
      engine.tokenizer,
      { base: engineScorer(engine, null, mode) },
      {
        contextWindow: engine.config.contextWindow,
        questionsPerPass: perPass,
      },
    );
  // Warm-up (pipelines, first allocations), then the two modes alternate, so that both see the same load on a
  // shared machine; the median of each is reported.
  const modes = ['shared', 'separate'] as const;
  const results = { shared: await run('shared'), separate: await run('separate') };
  const times: Record<(typeof modes)[number], number[]> = { shared: [], separate: [] };
  for (let i = 0; i < repeats; i++) {
    for (const mode of modes) {
      const start = performance.now();
      await run(mode);
      times[mode].push(performance.now() - start);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const shared = { results: results.shared, ms: median(times.shared) };
  const separate = { results: results.separate, ms: median(times.separate) };
  engine.dispose();

  const n = questions.length;
  const result = {
    bench: id,
    questions: n,
    questionsPerPass: perPass,
    sharedQps: n / (shared.ms / 1000),
    separateQps: n / (separate.ms / 1000),
    speedup: separate.ms / shared.ms,
    sharedMs: shared.ms,
    separateMs: separate.ms,
    maxLogprobDiff: maxDifference(shared.results, separate.results),
    device: { ...gpu.adapterInfo, software: gpu.isSoftware },
  };
  gpu.device.destroy();
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const qps = (v: number) => `${v.toFixed(2)} questions/s`;
    process.stdout.write(
      `${id}, ${n} questions, ${perPass} per pass: shared context ${qps(result.sharedQps)}, one sequence per ` +
        `choice ${qps(result.separateQps)}: ${result.speedup.toFixed(2)}x ` +
        `(max |log-likelihood diff| ${result.maxLogprobDiff.toExponential(2)})\n`,
    );
  }
  return 0;
}

function maxDifference(a: readonly EvaluatedQuestion[], b: readonly EvaluatedQuestion[]): number {
  let max = 0;
  a.forEach((q, i) => q.base.logprobs.forEach((lp, k) => (max = Math.max(max, Math.abs(lp - b[i].base.logprobs[k])))));
  return max;
}
