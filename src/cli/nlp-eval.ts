/**
 * `twosome nlp-eval --model DIR|URL|micro [--adapter RUN_DIR] --bench arc-easy[,piqa,...] [--data DIR] [--limit N]
 * [--json]`: the capability check (issue 15). Zero-shot multiple-choice benchmarks scored by log-likelihood as
 * lm-evaluation-harness scores them (src/nlp-eval), on the WebGPU engine's shared-context pass; with --adapter,
 * the base model and the adapted one in the same passes, paired question by question, with the mean KL(base ||
 * adapter) of their next-token distributions over the scored tokens (computed on the GPU).
 *
 * --data DIR is a directory laid out like shared/data/nlp-eval/ (arc_easy/ARC-Easy-Test.jsonl, piqa/valid.jsonl +
 * piqa/valid-labels.lst, mmlu/test/<subject>_test.csv, ...). Without it the benchmarks are downloaded from the
 * Hugging Face hub (src/nlp-eval/hub: the Parquet of the dataset the harness's task names), from --data-url or
 * $HF_ENDPOINT where given (a mirror laid out like the hub), and kept in --cache-dir (default
 * $TWOSOME_CACHE_DIR/nlp-eval, else ~/.cache/twosome/nlp-eval): a second run needs no network, and a download
 * that was stopped resumes. Every benchmark is read and checked before the model loads, so a bad file fails
 * fast. --limit N scores the first N questions of each benchmark (of each subject for "mmlu"), as the harness's
 * --limit. With downloads, "mmlu" is all 57 subjects (the hub's "all" config).
 *
 * Output: with --json, one line per question then one summary line per benchmark (src/nlp-eval/output.ts);
 * otherwise a table per benchmark. A progress bar goes to stderr (a line per tenth when it is not a terminal).
 */
import {
  benchmark,
  enginePairedScorer,
  engineScorer,
  evaluateQuestions,
  questionRecord,
  summarize,
  summaryRecord,
  UnknownBenchError,
  type BenchSummary,
  type Estimate,
} from '../nlp-eval';
import { readAdapterDir } from './adapter-dir';
import { parseFlags, parseIntFlag } from './args';
import { UsageError } from './errors';
import { LineWriter } from './line-writer';
import { DATA_FLAGS, readQuestions } from './nlp-eval-data';
import { resolveModelSource } from './model-source';
import { withAdapter, withEngine } from './with-engine';

const USAGE =
  'twosome nlp-eval --model DIR|URL|micro [--adapter RUN_DIR] --bench arc-easy[,piqa,...] ' +
  '[--data DIR | --data-url URL --cache-dir DIR] [--limit N] [--json]';

/** Questions per engine call: enough to fill a pass, few enough for a steady progress bar. */
const QUESTIONS_PER_PASS = 8;

export async function nlpEvalCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: {
        type: 'string',
        arg: 'DIR|URL|ID',
        help: 'the model: a directory, a URL, a catalog id or micro (default)',
      },
      adapter: { type: 'string', arg: 'RUN_DIR', help: 'also score with this PEFT adapter (a train run directory)' },
      bench: {
        type: 'string',
        arg: 'IDS',
        help: 'benchmarks, comma-separated: arc-easy, piqa, mmlu, mmlu-<subject>, ...',
      },
      ...DATA_FLAGS,
      limit: { type: 'string', arg: 'N', help: 'at most N questions per benchmark (per MMLU subject)' },
      json: { type: 'boolean', default: false, help: 'one JSON line per question, then one per benchmark' },
    },
    USAGE,
    { summary: 'Zero-shot benchmark accuracy of the model, and of the adapter beside it (lm-evaluation-harness).' },
  );
  if (!values.bench) throw new UsageError(`--bench is required\nusage: ${USAGE}`);
  const benches = values.bench.split(',').map((id) => id.trim());
  for (const id of benches) {
    try {
      benchmark(id);
    } catch (error) {
      if (error instanceof UnknownBenchError) throw new UsageError(`--bench: ${error.message}`);
      throw error;
    }
  }
  const limit = values.limit === undefined ? undefined : parseIntFlag(values.limit, 'limit', 0, 1);
  const model = resolveModelSource(values.model);
  const adapterFiles = values.adapter !== undefined ? readAdapterDir(values.adapter) : null;

  const questions = await readQuestions(
    { data: values.data, dataUrl: values['data-url'], cacheDir: values['cache-dir'] },
    benches,
    limit,
  );

  const out = new LineWriter(process.stdout);
  const progress = new ProgressBar(process.stderr);
  try {
    await withEngine(model, (engine) =>
      withAdapter(engine, adapterFiles, values.model ?? 'micro', async (lora) => {
        for (const id of benches) {
          progress.begin(id, questions.get(id)!.length);
          const results = await evaluateQuestions(
            questions.get(id)!,
            engine.tokenizer,
            lora ? { paired: enginePairedScorer(engine, lora) } : { base: engineScorer(engine) },
            {
              contextWindow: engine.config.contextWindow,
              questionsPerPass: QUESTIONS_PER_PASS,
              onProgress: (done, _total, batch) => {
                progress.update(done);
                if (values.json) batch.forEach((r) => out.line(JSON.stringify(questionRecord(r))));
                out.flush();
              },
            },
          );
          progress.end();
          const summary = summarize(id, results, benchmark(id).metrics);
          if (values.json) out.line(JSON.stringify(summaryRecord(summary)));
          else summaryTable(summary).forEach((line) => out.line(line));
          out.flush();
        }
      }),
    );
  } finally {
    progress.end();
    out.flush();
  }
  return 0;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function formatEstimate(e: Estimate | null, signed = false): string {
  if (!e) return '-';
  const sign = signed && e.mean >= 0 ? '+' : '';
  const ci = e.ci95 ? ` [${pct(e.ci95[0])}, ${pct(e.ci95[1])}]` : '';
  return `${sign}${pct(e.mean)} +- ${e.stderr === null ? '-' : pct(e.stderr)}${ci}`;
}

/** The human-readable summary: accuracy +- stderr [95% interval] per metric and model. */
function summaryTable(s: BenchSummary): string[] {
  const lines = [`${s.bench}: ${s.n} questions (accuracy +- stderr, as the harness's mean_stderr [95% interval])`];
  const row = (label: string, acc: Estimate, accNorm: Estimate | null, signed = false) =>
    `  ${label.padEnd(16)} acc ${formatEstimate(acc, signed).padEnd(34)} acc_norm ${formatEstimate(accNorm, signed)}`;
  if (s.base && s.difference) {
    lines.push(row('base', s.base.acc, s.base.accNorm));
    lines.push(row('adapter', s.model.acc, s.model.accNorm));
    lines.push(row('adapter - base', s.difference.acc, s.difference.accNorm, true));
    const kl = s.meanKl === null ? '-' : s.meanKl.toPrecision(4);
    lines.push(`  mean KL(base || adapter) per scored token, nats: ${kl}`);
  } else {
    lines.push(row('model', s.model.acc, s.model.accNorm));
  }
  return lines;
}

/** Questions done on stderr: a bar redrawn in place on a terminal, else a line per tenth of the way. */
class ProgressBar {
  private drawn = false;
  private lastTenth = -1;
  private label = '';
  private total = 0;
  private started = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  /** Starts one benchmark's bar. */
  begin(label: string, total: number): void {
    [this.label, this.total, this.started] = [label, total, performance.now()];
    if (this.stream.isTTY) this.update(0);
  }

  update(done: number): void {
    const total = this.total;
    const rate = done / Math.max(1e-3, (performance.now() - this.started) / 1000);
    const text = `${this.label} ${done}/${total} questions, ${rate.toFixed(2)} questions/s`;
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round((width * done) / Math.max(1, total));
      this.stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor((10 * done) / Math.max(1, total));
    if (tenth !== this.lastTenth) this.stream.write(`${text}\n`);
    this.lastTenth = tenth;
  }

  /** Ends the bar of one benchmark. */
  end(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
    this.lastTenth = -1;
  }
}
