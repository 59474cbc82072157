/**
 * MMLU as its authors distribute it (hendrycks/test `data.tar`: `test/<subject>_test.csv`,
 * `dev/<subject>_dev.csv`): CSV without a header, one question per record, `question,A,B,C,D,answer` with
 * answer one of A-D. Read into the Hugging Face `cais/mmlu` fields: question, subject, choices (4), answer
 * (0-3).
 */
import { BenchDataError } from '../errors';
import { parseCsv } from './csv';
import { decodeUtf8 } from './text';

export interface MmluDoc {
  question: string;
  subject: string;
  choices: [string, string, string, string];
  answer: number;
}

const COLUMNS = ['question', 'A', 'B', 'C', 'D', 'answer'];

/** A subject name as the files spell it: lower-case words joined by "_" (e.g. "college_physics"). */
export const MMLU_SUBJECT = /^[a-z]+(?:_[a-z]+)*$/;

export function parseMmlu(bytes: Uint8Array, file: string, subject: string): MmluDoc[] {
  if (!MMLU_SUBJECT.test(subject)) {
    throw new BenchDataError(file, null, null, `"${subject}" is not an MMLU subject name`);
  }
  return parseCsv(decodeUtf8(bytes, file), file).map(({ line, fields }) => {
    if (fields.length !== COLUMNS.length) {
      const expected = `expected 6 (${COLUMNS.join(',')}), no header`;
      throw new BenchDataError(file, line, null, `has ${fields.length} fields; ${expected}`);
    }
    // An option may be empty (the scored choices are the letters); the question may not.
    if (fields[0].trim() === '') throw new BenchDataError(file, line, 'question', 'empty; expected text');
    const answer = 'ABCD'.indexOf(fields[5]);
    if (fields[5].length !== 1 || answer < 0) {
      throw new BenchDataError(file, line, 'answer', `"${fields[5]}"; expected A, B, C or D`);
    }
    return { question: fields[0], subject, choices: [fields[1], fields[2], fields[3], fields[4]], answer };
  });
}
