/**
 * For tests (Node): a stand-in for the Hugging Face hub, built from the real benchmark files of
 * shared/data/nlp-eval/. Each benchmark's official file is turned into the rows its hub dataset holds, by the
 * field mappings the data's README gives (written here from the raw JSON, TSV and CSV, not through the parsers
 * whose output the test compares with), written as Parquet with hyparquet-writer in the shape the hub's
 * converter writes (pyarrow's: optional columns, INT64 class labels, structs of 3-level lists), and served in
 * the hub's URL layout (download.ts) with Range support, so that a download can be compared with the questions
 * parsed from the official files.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { HostileRoute } from '../../util/hostile-server';
import { parseCsv } from '../formats/csv';
import type { BenchHome } from '../homes';
import { MMLU_ALL_HUB } from './load';

type Column =
  | { name: string; kind: 'string'; data: (string | null)[] }
  | { name: string; kind: 'int64'; data: bigint[] }
  | { name: string; kind: 'strings'; data: string[][] }
  | { name: string; kind: 'choices'; data: { text: string[]; label: string[] }[] };

const STRING = { type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' } as const;

/** pyarrow's schema elements for a column. */
function schemaOf(column: Column): Record<string, unknown>[] {
  const list = (name: string) => [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', ...STRING },
  ];
  switch (column.kind) {
    case 'string':
      return [{ name: column.name, ...STRING }];
    case 'int64':
      return [{ name: column.name, type: 'INT64', repetition_type: 'OPTIONAL' }];
    case 'strings':
      return list(column.name);
    case 'choices':
      return [{ name: column.name, repetition_type: 'OPTIONAL', num_children: 2 }, ...list('text'), ...list('label')];
  }
}

/** A Parquet file of `columns`, in row groups of `rowGroupSize` rows. */
export function parquetFile(columns: Column[], rowGroupSize = 500): Uint8Array {
  const schema = [{ name: 'schema', num_children: columns.length }, ...columns.flatMap(schemaOf)];
  const columnData = columns.map((c) => ({ name: c.name, data: c.data }));
  // The writer's SchemaElement type is hyparquet's; these are the same fields, written out by hand.
  const options = { columnData, schema, rowGroupSize } as unknown as Parameters<typeof parquetWriteBuffer>[0];
  return new Uint8Array(parquetWriteBuffer(options));
}

const lines = (dir: string, path: string) =>
  readFileSync(join(dir, path), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/\r$/, ''));
/** A JSON line's fields, as the official files hold them (strings, booleans, ARC's nested question). */
type Line = Record<string, string> & { answer: boolean; question: ArcQuestion & string };
interface ArcQuestion {
  stem: string;
  choices: { text: string; label: string }[];
}
const jsonl = (dir: string, path: string) => lines(dir, path).map((l) => JSON.parse(l) as Line);
const strings = (rows: Line[], name: string): Column => ({
  name,
  kind: 'string',
  data: rows.map((r) => r[name]),
});

function arcColumns(dir: string, path: string): Column[] {
  const rows = jsonl(dir, path);
  const choices = rows.map((r) => ({
    text: r.question.choices.map((c) => c.text),
    label: r.question.choices.map((c) => c.label),
  }));
  return [
    strings(rows, 'id'),
    { name: 'question', kind: 'string', data: rows.map((r) => r.question.stem) },
    { name: 'choices', kind: 'choices', data: choices },
    strings(rows, 'answerKey'),
  ];
}

function piqaColumns(dir: string): Column[] {
  const rows = jsonl(dir, 'piqa/valid.jsonl');
  const labels = lines(dir, 'piqa/valid-labels.lst').map((l) => BigInt(l.trim()));
  return [...['goal', 'sol1', 'sol2'].map((f) => strings(rows, f)), { name: 'label', kind: 'int64', data: labels }];
}

// aps/super_glue boolq: passage = title + " -- " + passage, label = 1 if answer else 0 (the data's README).
function boolqColumns(dir: string): Column[] {
  const rows = jsonl(dir, 'boolq/dev.jsonl');
  return [
    strings(rows, 'question'),
    { name: 'passage', kind: 'string', data: rows.map((r) => `${r.title} -- ${r.passage}`) },
    { name: 'idx', kind: 'int64', data: rows.map((_, i) => BigInt(i)) },
    { name: 'label', kind: 'int64', data: rows.map((r) => (r.answer ? 1n : 0n)) },
  ];
}

function winograndeColumns(dir: string): Column[] {
  const rows = jsonl(dir, 'winogrande/dev.jsonl');
  const labels = lines(dir, 'winogrande/dev-labels.lst').map((l) => l.trim());
  return [
    ...['sentence', 'option1', 'option2'].map((f) => strings(rows, f)),
    { name: 'answer', kind: 'string', data: labels },
  ];
}

function siqaColumns(dir: string): Column[] {
  const rows = jsonl(dir, 'siqa/dev.jsonl');
  const labels = lines(dir, 'siqa/dev-labels.lst').map((l) => l.trim());
  const fields = ['context', 'question', 'answerA', 'answerB', 'answerC'];
  return [...fields.map((f) => strings(rows, f)), { name: 'label', kind: 'string', data: labels }];
}

function openbookqaColumns(dir: string): Column[] {
  const [header, ...rows] = lines(dir, 'openbookqa/test.tsv').map((l) => l.split('\t'));
  const cell = (row: string[], name: string) => row[header.indexOf(name)];
  const choices = rows.map((row) => {
    const m = /^\(A\) (.*?) \(B\) (.*?) \(C\) (.*?) \(D\) (.*)$/s.exec(cell(row, 'Choices'));
    if (!m) throw new Error(`openbookqa: unexpected Choices ${cell(row, 'Choices')}`);
    return { text: m.slice(1, 5), label: ['A', 'B', 'C', 'D'] };
  });
  return [
    { name: 'id', kind: 'string', data: rows.map((r) => cell(r, 'ID')) },
    { name: 'question_stem', kind: 'string', data: rows.map((r) => cell(r, 'Question Stem')) },
    { name: 'choices', kind: 'choices', data: choices },
    { name: 'answerKey', kind: 'string', data: rows.map((r) => cell(r, 'Answer Key')) },
  ];
}

/** cais/mmlu's columns for the given subjects' test files, subjects in the order given. */
function mmluColumns(dir: string, subjects: readonly string[]): Column[] {
  const rows = subjects.flatMap((subject) => {
    const text = readFileSync(join(dir, `mmlu/test/${subject}_test.csv`), 'utf8');
    return parseCsv(text, subject).map(({ fields }) => ({ subject, fields }));
  });
  return [
    { name: 'question', kind: 'string', data: rows.map((r) => r.fields[0]) },
    { name: 'subject', kind: 'string', data: rows.map((r) => r.subject) },
    { name: 'choices', kind: 'strings', data: rows.map((r) => r.fields.slice(1, 5)) },
    { name: 'answer', kind: 'int64', data: rows.map((r) => BigInt('ABCD'.indexOf(r.fields[5]))) },
  ];
}

/** Columns cut into `parts` files of consecutive rows (a split the hub serves as several files). */
function splitRows(columns: Column[], parts: number): Column[][] {
  const n = columns[0].data.length;
  const size = Math.ceil(n / parts);
  return Array.from({ length: parts }, (_, p) =>
    columns.map((c) => ({ ...c, data: c.data.slice(p * size, (p + 1) * size) }) as Column),
  );
}

/** One file as the hub serves it. */
export interface FakeHubFile {
  hub: BenchHome['hub'];
  /** Path on the refs/convert/parquet branch: <config>/<split>/NNNN.parquet. */
  path: string;
  bytes: Uint8Array;
}

/** The MMLU subjects whose test file `dir` holds, in name order. */
export function mmluSubjectsIn(dir: string): string[] {
  return readdirSync(join(dir, 'mmlu/test'))
    .filter((n) => n.endsWith('_test.csv'))
    .map((n) => n.slice(0, -'_test.csv'.length))
    .sort();
}

/**
 * The hub's files for every benchmark with an official file in `dir` (HellaSwag has none): ARC-Easy as two
 * files (a split served in parts), MMLU per subject and as the "all" config.
 */
export function fakeHubFiles(dir: string): FakeHubFile[] {
  const file = (hub: BenchHome['hub'], columns: Column[], part = 0): FakeHubFile => ({
    hub,
    path: `${hub.config ?? 'default'}/${hub.split}/${String(part).padStart(4, '0')}.parquet`,
    bytes: parquetFile(columns),
  });
  const subjects = mmluSubjectsIn(dir);
  return [
    ...splitRows(arcColumns(dir, 'arc_easy/ARC-Easy-Test.jsonl'), 2).map((columns, part) =>
      file({ dataset: 'allenai/ai2_arc', config: 'ARC-Easy', split: 'test' }, columns, part),
    ),
    file(
      { dataset: 'allenai/ai2_arc', config: 'ARC-Challenge', split: 'test' },
      arcColumns(dir, 'arc_challenge/ARC-Challenge-Test.jsonl'),
    ),
    file({ dataset: 'baber/piqa', split: 'validation' }, piqaColumns(dir)),
    file({ dataset: 'aps/super_glue', config: 'boolq', split: 'validation' }, boolqColumns(dir)),
    file({ dataset: 'allenai/winogrande', config: 'winogrande_xl', split: 'validation' }, winograndeColumns(dir)),
    file({ dataset: 'lighteval/siqa', split: 'validation' }, siqaColumns(dir)),
    file({ dataset: 'allenai/openbookqa', config: 'main', split: 'test' }, openbookqaColumns(dir)),
    ...subjects.map((s) => file({ dataset: 'cais/mmlu', config: s, split: 'test' }, mmluColumns(dir, [s]))),
    file(MMLU_ALL_HUB, mmluColumns(dir, subjects)),
  ];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REVISION = encodeURIComponent('refs/convert/parquet');
const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export interface FakeHubOptions {
  /** Extra response headers (CORS for a browser). */
  headers?: Record<string, string>;
  /** Called for every request, before it is answered; a route returned here replaces the normal answer. */
  intercept?(path: string, req: IncomingMessage): HostileRoute | undefined;
}

/**
 * The route function of a hostile-server (util/hostile-server.ts) that serves `files` as the hub does: the tree
 * listing (with sizes and LFS SHA-256s) and the files, with single Range requests answered 206.
 */
export function fakeHubRoute(files: readonly FakeHubFile[], options: FakeHubOptions = {}) {
  const headers = options.headers ?? {};
  return (path: string, req: IncomingMessage): HostileRoute | undefined => {
    const intercepted = options.intercept?.(path, req);
    if (intercepted) return intercepted;
    for (const f of files) {
      const folder = `${f.hub.config ?? 'default'}/${f.hub.split}`;
      if (path === `/api/datasets/${encodePath(f.hub.dataset)}/tree/${REVISION}/${encodePath(folder)}`) {
        const listed = files.filter((g) => g.hub.dataset === f.hub.dataset && g.path.startsWith(`${folder}/`));
        const entries = listed.map((g) => ({
          type: 'file',
          oid: createHash('sha1').update(g.path).digest('hex'),
          size: g.bytes.length,
          path: g.path,
          lfs: { oid: sha256(g.bytes), size: g.bytes.length, pointerSize: 134 },
        }));
        return { headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(entries) };
      }
      if (path === `/datasets/${encodePath(f.hub.dataset)}/resolve/${REVISION}/${encodePath(f.path)}`) {
        const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
        if (!range) return { headers, body: f.bytes };
        const start = Number(range[1]);
        if (start >= f.bytes.length) {
          return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${f.bytes.length}` } };
        }
        const contentRange = `bytes ${start}-${f.bytes.length - 1}/${f.bytes.length}`;
        return { status: 206, headers: { ...headers, 'Content-Range': contentRange }, body: f.bytes.subarray(start) };
      }
    }
    return undefined;
  };
}
