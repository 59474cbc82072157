/**
 * OpenBookQA-V1-Sep2018 `Data/Main/test.tsv`: tab-separated with a header row naming the columns `ID`,
 * `Question Stem`, `Choices`, `Complete Question` and `Answer Key`. `Choices` is one string,
 * "(A) <text> (B) <text> (C) <text> (D) <text>". Read into the Hugging Face `allenai/openbookqa` (config `main`)
 * fields: id, question_stem, choices.text / choices.label (A-D, split at the " (B) ", " (C) ", " (D) " markers
 * in order), answerKey.
 */
import { BenchDataError } from '../errors';
import { pyLstrip } from '../python-str';
import { decodeUtf8, textLines } from './text';

export interface OpenbookqaDoc {
  id: string;
  question_stem: string;
  choices: { text: string[]; label: string[] };
  answerKey: string;
}

const LABELS = ['A', 'B', 'C', 'D'];
const HEADER = ['ID', 'Question Stem', 'Choices', 'Answer Key'];
const FORM = 'expected "(A) .. (B) .. (C) .. (D) .."';

export function parseOpenbookqa(bytes: Uint8Array, file: string): OpenbookqaDoc[] {
  const [header, ...rows] = textLines(decodeUtf8(bytes, file), file);
  if (!header) throw new BenchDataError(file, null, null, 'empty file; expected the OpenBookQA TSV with a header row');
  const names = header.text.split('\t');
  const column = Object.fromEntries(HEADER.map((name) => [name, names.indexOf(name)]));
  const missing = HEADER.filter((name) => column[name] < 0);
  if (missing.length > 0) {
    const expected = `expected the columns ${HEADER.join(', ')} (tab-separated)`;
    throw new BenchDataError(file, 1, missing[0], `column missing from the header; ${expected}`);
  }
  return rows.map(({ line, text }) => {
    const cells = text.split('\t');
    if (cells.length !== names.length) {
      const detail = `has ${cells.length} tab-separated fields, the header ${names.length}`;
      throw new BenchDataError(file, line, null, detail);
    }
    const cell = (name: string) => {
      const value = cells[column[name]];
      if (value.trim() === '') throw new BenchDataError(file, line, name, 'empty; expected text');
      return value;
    };
    const choices = splitChoices(cell('Choices'), file, line);
    const answerKey = cell('Answer Key');
    if (!LABELS.includes(pyLstrip(answerKey))) {
      throw new BenchDataError(file, line, 'Answer Key', `"${answerKey}"; expected A, B, C or D`);
    }
    const choiceFields = { text: choices, label: [...LABELS] };
    return { id: cell('ID'), question_stem: cell('Question Stem'), choices: choiceFields, answerKey };
  });
}

/** "(A) x (B) y (C) z (D) w" -> [x, y, z, w]; every marker must appear, in order. */
function splitChoices(value: string, file: string, line: number): string[] {
  if (!value.startsWith('(A) ')) throw new BenchDataError(file, line, 'Choices', `does not start with "(A) "; ${FORM}`);
  const starts: number[] = [];
  let from = 0;
  for (const label of LABELS) {
    const marker = label === 'A' ? '(A) ' : ` (${label}) `;
    const at = value.indexOf(marker, from);
    if (at < 0) throw new BenchDataError(file, line, 'Choices', `no "(${label})" after the previous choice; ${FORM}`);
    starts.push(at, at + marker.length);
    from = at + marker.length;
  }
  return LABELS.map((label, k) => {
    const text = value.slice(starts[2 * k + 1], k + 1 < LABELS.length ? starts[2 * k + 2] : value.length);
    if (text.trim() === '') throw new BenchDataError(file, line, 'Choices', `choice (${label}) is empty`);
    return text;
  });
}
