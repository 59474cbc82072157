/**
 * The benchmarks: their ids, where their files lie in a data directory (laid out like `shared/data/nlp-eval/`),
 * how they are parsed and turned into questions (tasks.ts), and which of acc / acc_norm the harness's task
 * reports. loadBenchmark reads one benchmark from a BenchDataSource.
 *
 * Ids: arc-easy, arc-challenge, piqa, boolq, winogrande, hellaswag, siqa, openbookqa, mmlu-<subject> (one MMLU
 * subject, e.g. mmlu-college_physics, from mmlu/test/<subject>_test.csv) and mmlu (every subject whose test file
 * the data directory holds, in name order: the harness's "mmlu" group averages over all its questions).
 */
import { BenchDataError } from './errors';
import type { BenchDataSource } from './data-source';
import { parseArc } from './formats/arc';
import { parseBoolq } from './formats/boolq';
import { parseHellaswag } from './formats/hellaswag';
import { MMLU_SUBJECT, parseMmlu } from './formats/mmlu';
import { parseOpenbookqa } from './formats/openbookqa';
import { parsePiqa } from './formats/piqa';
import { parseSiqa } from './formats/siqa';
import { parseWinogrande } from './formats/winogrande';
import type { Question } from './question';
import {
  arcRequests,
  boolqRequests,
  hellaswagRequests,
  mmluRequests,
  openbookqaRequests,
  piqaRequests,
  siqaRequests,
  winograndeRequests,
  type DocRequests,
} from './tasks';

export type Metric = 'acc' | 'acc_norm';

export interface Benchmark {
  id: string;
  title: string;
  /** The harness task's metric_list: acc_norm is reported only where the task lists it. */
  metrics: readonly Metric[];
  /** The files it reads, relative to the data root (for "mmlu": resolved by listing mmlu/test/). */
  files: readonly string[];
  /**
   * Reads and parses the files, then builds the docs' requests: the first `limit` docs when given, as the
   * harness's --limit takes them; per task, so for "mmlu" the first `limit` of each subject.
   */
  load(source: BenchDataSource, limit?: number): Promise<DocRequests[]>;
}

async function required(source: BenchDataSource, path: string): Promise<Uint8Array> {
  const bytes = await source.read(path);
  if (!bytes) {
    const layout = `the data directory must hold ${path} (laid out like shared/data/nlp-eval/)`;
    throw new BenchDataError(source.describe(path), null, null, `missing; ${layout}`);
  }
  return bytes;
}

function single<D>(
  id: string,
  title: string,
  metrics: readonly Metric[],
  path: string,
  parse: (bytes: Uint8Array, file: string) => D[],
  toRequests: (doc: D) => DocRequests,
): Benchmark {
  const load = async (s: BenchDataSource, limit?: number) =>
    parse(await required(s, path), s.describe(path))
      .slice(0, limit)
      .map(toRequests);
  return { id, title, metrics, files: [path], load };
}

function labelled<D>(
  id: string,
  title: string,
  metrics: readonly Metric[],
  [data, labels]: [string, string],
  parse: (data: Uint8Array, dataFile: string, labels: Uint8Array, labelFile: string) => D[],
  toRequests: (doc: D) => DocRequests,
): Benchmark {
  const load = async (s: BenchDataSource, limit?: number) => {
    const [dataBytes, labelBytes] = [await required(s, data), await required(s, labels)];
    return parse(dataBytes, s.describe(data), labelBytes, s.describe(labels)).slice(0, limit).map(toRequests);
  };
  return { id, title, metrics, files: [data, labels], load };
}

const ACC: readonly Metric[] = ['acc'];
const ACC_NORM: readonly Metric[] = ['acc', 'acc_norm'];

const FIXED: readonly Benchmark[] = [
  single('arc-easy', 'ARC-Easy', ACC_NORM, 'arc_easy/ARC-Easy-Test.jsonl', parseArc, arcRequests),
  single('arc-challenge', 'ARC-Challenge', ACC_NORM, 'arc_challenge/ARC-Challenge-Test.jsonl', parseArc, arcRequests),
  labelled('piqa', 'PIQA', ACC_NORM, ['piqa/valid.jsonl', 'piqa/valid-labels.lst'], parsePiqa, piqaRequests),
  single('boolq', 'BoolQ', ACC, 'boolq/dev.jsonl', parseBoolq, boolqRequests),
  labelled(
    'winogrande',
    'WinoGrande',
    ACC,
    ['winogrande/dev.jsonl', 'winogrande/dev-labels.lst'],
    parseWinogrande,
    winograndeRequests,
  ),
  single('hellaswag', 'HellaSwag', ACC_NORM, 'hellaswag/hellaswag_val.jsonl', parseHellaswag, hellaswagRequests),
  labelled('siqa', 'Social IQa', ACC, ['siqa/dev.jsonl', 'siqa/dev-labels.lst'], parseSiqa, siqaRequests),
  single('openbookqa', 'OpenBookQA', ACC_NORM, 'openbookqa/test.tsv', parseOpenbookqa, openbookqaRequests),
];

/** The fixed benchmark ids, then the MMLU forms. */
export const BENCH_IDS: readonly string[] = [...FIXED.map((b) => b.id), 'mmlu', 'mmlu-<subject>'];

const MMLU_TEST_DIR = 'mmlu/test';
const mmluTestFile = (subject: string) => `${MMLU_TEST_DIR}/${subject}_test.csv`;

function mmluSubject(subject: string): Benchmark {
  const path = mmluTestFile(subject);
  const parse = (bytes: Uint8Array, file: string) => parseMmlu(bytes, file, subject);
  return single(`mmlu-${subject}`, `MMLU ${subject.split('_').join(' ')}`, ACC, path, parse, mmluRequests);
}

const MMLU_ALL: Benchmark = {
  id: 'mmlu',
  title: 'MMLU',
  metrics: ACC,
  files: [`${MMLU_TEST_DIR}/<subject>_test.csv`],
  load: async (source, limit) => {
    const subjects = (await mmluSubjects(source)).filter((s) => MMLU_SUBJECT.test(s));
    if (subjects.length === 0) {
      const detail = 'holds no <subject>_test.csv file; the data directory must hold mmlu/test/<subject>_test.csv';
      throw new BenchDataError(source.describe(MMLU_TEST_DIR), null, null, detail);
    }
    const docs: DocRequests[] = [];
    for (const subject of subjects) docs.push(...(await mmluSubject(subject).load(source, limit)));
    return docs;
  },
};

/** The MMLU subjects whose test file `source` holds, in name order. */
export async function mmluSubjects(source: BenchDataSource): Promise<string[]> {
  const names = await source.list(MMLU_TEST_DIR);
  return names.filter((name) => name.endsWith('_test.csv')).map((name) => name.slice(0, -'_test.csv'.length));
}

/** Thrown for a benchmark id that names none; the message lists the ids. */
export class UnknownBenchError extends Error {
  constructor(id: string) {
    super(`unknown benchmark "${id}": use one of ${BENCH_IDS.join(', ')} (e.g. mmlu-college_physics)`);
    this.name = 'UnknownBenchError';
  }
}

export function benchmark(id: string): Benchmark {
  const fixed = FIXED.find((b) => b.id === id);
  if (fixed) return fixed;
  if (id === 'mmlu') return MMLU_ALL;
  const subject = id.startsWith('mmlu-') ? id.slice('mmlu-'.length) : '';
  if (MMLU_SUBJECT.test(subject)) return mmluSubject(subject);
  throw new UnknownBenchError(id);
}

/**
 * The benchmark's questions: all, or the first `limit` (of each MMLU subject for "mmlu"), as the harness's
 * --limit takes them per task. Every row is parsed and checked either way.
 */
export async function loadBenchmark(source: BenchDataSource, id: string, limit?: number): Promise<Question[]> {
  const docs = await benchmark(id).load(source, limit);
  return docs.map((doc, index) => ({ bench: id, index, gold: doc.gold, choices: doc.choices }));
}
