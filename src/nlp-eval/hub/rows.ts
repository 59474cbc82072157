/**
 * The Hugging Face hub's rows (read from its Parquet files) as the docs the harness's templates take, one mapper
 * per benchmark. The hub's datasets are the ones the harness's tasks name (homes.ts), and their fields are the
 * ones the templates use, so each mapper checks a row and returns the doc the official-format parser would
 * return for the same question (the test checks this on every row of the real files):
 *
 *   benchmark      hub dataset (config)              hub fields -> doc
 *   ARC            allenai/ai2_arc (ARC-Easy, ...)   id, question, choices {text[], label[]}, answerKey: as they are
 *   PIQA           baber/piqa                        goal, sol1, sol2, label (0 | 1): as they are
 *   BoolQ          aps/super_glue (boolq)            question, passage (already "title -- passage"), label (0 | 1)
 *   WinoGrande     allenai/winogrande (..._xl)       sentence, option1, option2, answer ("1" | "2"); no qID
 *   HellaSwag      Rowan/hellaswag                   the JSONL's fields (label a string): the same row reader
 *   SIQA           lighteval/siqa                    context, question, answerA-C, label ("1" | "2" | "3")
 *   OpenBookQA     allenai/openbookqa (main)         id, question_stem, choices {text[], label[]}, answerKey
 *   MMLU           cais/mmlu (<subject> | all)       question, subject, choices (4), answer (0-3)
 *
 * Integer labels come as numbers, or as bigints where the Parquet column is INT64 (a ClassLabel); a string of
 * digits is taken too, since mirrors differ in how they store a label. Errors name the file, row and field.
 */
import type { ArcDoc } from '../formats/arc';
import type { BoolqDoc } from '../formats/boolq';
import { hellaswagDoc } from '../formats/hellaswag';
import { MMLU_SUBJECT, type MmluDoc } from '../formats/mmlu';
import type { OpenbookqaDoc } from '../formats/openbookqa';
import type { PiqaDoc } from '../formats/piqa';
import { siqaTexts, type SiqaDoc } from '../formats/siqa';
import { arrayField, fail, objectField, shown, stringField, type At, type JsonObject } from '../formats/text';
import type { WinograndeDoc } from '../formats/winogrande';
import { pyLstrip } from '../python-str';
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
} from '../tasks';

/** One row of a hub Parquet file: column name -> value (structs as objects, lists as arrays). */
export type HubRow = Record<string, unknown>;

/** Where a row came from: its file and 1-based row number (errors say "file: row N"). */
export function rowAt(file: string, row: number): At {
  return { file, line: row, unit: 'row' };
}

/** An integer field within [min, max]: a number, an INT64 bigint, or a string of digits. */
function intField(row: JsonObject, field: string, at: At, min: number, max: number): number {
  const value = row[field];
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'bigint'
        ? Number(value)
        : typeof value === 'string' && /^-?\d+$/.test(value)
          ? Number(value)
          : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max - min === 1 ? `${min} or ${max}` : `an integer from ${min} to ${max}`;
    fail(at, field, `${value === undefined ? 'missing' : shown(value)}; expected ${range}`);
  }
  return n;
}

/** A list of strings (empty strings allowed only where `allowEmpty`). */
function stringList(row: JsonObject, field: string, at: At, allowEmpty = false): string[] {
  return arrayField(row, field, at).map((value, k) => {
    if (typeof value !== 'string' || (!allowEmpty && value.trim() === '')) {
      fail(at, `${field}[${k}]`, `${shown(value)}; expected ${allowEmpty ? 'a string' : 'non-empty text'}`);
    }
    return value;
  });
}

/** `choices: {text: [...], label: [...]}` with as many labels as texts, each label once. */
function labelledChoices(row: JsonObject, at: At, count: [number, number]): { text: string[]; label: string[] } {
  const choices = objectField(row, 'choices', at);
  const inChoices = { ...at, prefix: 'choices.' };
  const text = stringList(choices, 'text', inChoices);
  const label = stringList(choices, 'label', inChoices);
  if (label.length !== text.length) {
    fail(at, 'choices.label', `has ${label.length} labels for ${text.length} texts; expected one label per text`);
  }
  if (text.length < count[0] || text.length > count[1]) {
    fail(at, 'choices.text', `has ${text.length} choices; expected ${count[0]} to ${count[1]}`);
  }
  const twice = label.find((l, k) => label.indexOf(l) !== k);
  if (twice !== undefined) fail(at, 'choices.label', `"${twice}" appears twice`);
  return { text, label };
}

function arcDoc(row: JsonObject, at: At): ArcDoc {
  const id = stringField(row, 'id', at);
  const question = stringField(row, 'question', at);
  const choices = labelledChoices(row, at, [2, 5]);
  const answerKey = stringField(row, 'answerKey', at);
  if (!choices.label.includes(answerKey)) {
    fail(at, 'answerKey', `"${answerKey}" is not a choice label (${choices.label.join(', ')})`);
  }
  return { id, question, choices, answerKey };
}

function piqaDoc(row: JsonObject, at: At): PiqaDoc {
  const [goal, sol1, sol2] = ['goal', 'sol1', 'sol2'].map((field) => stringField(row, field, at));
  return { goal, sol1, sol2, label: intField(row, 'label', at, 0, 1) };
}

function boolqDoc(row: JsonObject, at: At): BoolqDoc {
  // SuperGLUE's passage is the original's title + " -- " + passage already (formats/boolq.ts builds it).
  return {
    question: stringField(row, 'question', at),
    passage: stringField(row, 'passage', at),
    label: intField(row, 'label', at, 0, 1),
  };
}

function winograndeDoc(row: JsonObject, at: At): WinograndeDoc {
  const sentence = stringField(row, 'sentence', at);
  if (!sentence.includes('_')) fail(at, 'sentence', 'has no "_" where the option goes');
  const answer = row.answer;
  if (answer !== '1' && answer !== '2') {
    const test = answer === '' ? ' (the test split has no answers: use validation)' : '';
    fail(at, 'answer', `${answer === undefined ? 'missing' : shown(answer)}; expected "1" or "2"${test}`);
  }
  // The hub's rows have no qID; the row stands in for it (the templates do not use it).
  const qID = `row ${at.line}`;
  return { qID, sentence, option1: stringField(row, 'option1', at), option2: stringField(row, 'option2', at), answer };
}

function siqaDoc(row: JsonObject, at: At): SiqaDoc {
  const label = String(intField(row, 'label', at, 1, 3)) as SiqaDoc['label'];
  return { ...siqaTexts(row, at), label };
}

function openbookqaDoc(row: JsonObject, at: At): OpenbookqaDoc {
  const id = stringField(row, 'id', at);
  const stem = stringField(row, 'question_stem', at);
  const choices = labelledChoices(row, at, [2, 5]);
  const answerKey = stringField(row, 'answerKey', at);
  if (!choices.label.includes(pyLstrip(answerKey))) {
    fail(at, 'answerKey', `"${answerKey}" is not a choice label (${choices.label.join(', ')})`);
  }
  return { id, question_stem: stem, choices, answerKey };
}

/** `subject`: the one the benchmark asks for, or null for the "all" config (each row names its own). */
function mmluDoc(row: JsonObject, at: At, subject: string | null): MmluDoc {
  const question = stringField(row, 'question', at);
  const rowSubject = stringField(row, 'subject', at);
  if (!MMLU_SUBJECT.test(rowSubject)) fail(at, 'subject', `"${rowSubject}" is not an MMLU subject name`);
  if (subject !== null && rowSubject !== subject) {
    fail(at, 'subject', `"${rowSubject}" in the file of subject "${subject}"; is the config the subject's?`);
  }
  // An option may be empty (the scored choices are the letters), as in the CSV files.
  const choices = stringList(row, 'choices', at, true);
  if (choices.length !== 4) fail(at, 'choices', `has ${choices.length} options; expected 4`);
  const [a, b, c, d] = choices;
  return { question, subject: rowSubject, choices: [a, b, c, d], answer: intField(row, 'answer', at, 0, 3) };
}

type RowReader = (row: JsonObject, at: At) => DocRequests;

const READERS: Readonly<Record<string, RowReader>> = {
  'arc-easy': (row, at) => arcRequests(arcDoc(row, at)),
  'arc-challenge': (row, at) => arcRequests(arcDoc(row, at)),
  piqa: (row, at) => piqaRequests(piqaDoc(row, at)),
  boolq: (row, at) => boolqRequests(boolqDoc(row, at)),
  winogrande: (row, at) => winograndeRequests(winograndeDoc(row, at)),
  hellaswag: (row, at) => hellaswagRequests(hellaswagDoc(row, at)),
  siqa: (row, at) => siqaRequests(siqaDoc(row, at)),
  openbookqa: (row, at) => openbookqaRequests(openbookqaDoc(row, at)),
};

/** A doc's requests, and the MMLU subject its row names (null for the other benchmarks). */
export interface HubDoc {
  requests: DocRequests;
  subject: string | null;
}

/**
 * The reader of benchmark `id`'s hub rows: a fixed benchmark, "mmlu-<subject>" (rows of that subject only) or
 * "mmlu" (the "all" config, every row naming its subject).
 */
export function hubRowReader(id: string): (row: HubRow, at: At) => HubDoc {
  const fixed = READERS[id];
  if (fixed) return (row, at) => ({ requests: fixed(row, at), subject: null });
  const subject = id === 'mmlu' ? null : id.slice('mmlu-'.length);
  if (!id.startsWith('mmlu') || (subject !== null && !MMLU_SUBJECT.test(subject))) {
    throw new RangeError(`no hub reader for benchmark "${id}"`);
  }
  return (row, at) => {
    const doc = mmluDoc(row, at, subject);
    return { requests: mmluRequests(doc), subject: doc.subject };
  };
}
