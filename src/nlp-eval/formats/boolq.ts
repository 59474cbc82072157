/**
 * BoolQ as Google released it (`dev.jsonl`): one {"question", "title", "answer": true|false, "passage"} per
 * line. The harness scores the SuperGLUE copy (`aps/super_glue`, config `boolq`), whose fields are rebuilt
 * from these as the data's README describes (checked there on all 3270 dev rows):
 *   passage = title + " -- " + passage,  label = 1 if answer else 0,  question unchanged (it has no "?").
 */
import { BenchDataError } from '../errors';
import { decodeUtf8, jsonLines, stringField } from './text';

export interface BoolqDoc {
  question: string;
  passage: string;
  label: number;
}

export function parseBoolq(bytes: Uint8Array, file: string): BoolqDoc[] {
  return jsonLines(decodeUtf8(bytes, file), file).map(({ line, row }) => {
    const at = { file, line };
    const question = stringField(row, 'question', at);
    const title = stringField(row, 'title', at);
    const passage = stringField(row, 'passage', at);
    const answer = row.answer;
    if (typeof answer !== 'boolean') {
      throw new BenchDataError(file, line, 'answer', `${JSON.stringify(answer) ?? 'missing'}; expected true or false`);
    }
    return { question, passage: `${title} -- ${passage}`, label: answer ? 1 : 0 };
  });
}
