/**
 * AI2 ARC JSONL (ARC-V1-Feb2018 `ARC-{Easy,Challenge}-Test.jsonl`), one question per line:
 *   {"id": .., "question": {"stem": .., "choices": [{"text": .., "label": "A"}, ..]}, "answerKey": "A"}
 * Most questions have 4 choices, a few 3 or 5; labels are A-E or, on some rows, 1-5.
 * Read into the Hugging Face `allenai/ai2_arc` fields the harness's template uses: `question` = question.stem,
 * `choices.text` / `choices.label` = the choices' texts and labels, `answerKey` unchanged.
 */
import { BenchDataError } from '../errors';
import { arrayField, decodeUtf8, jsonLines, objectField, stringField, type JsonObject } from './text';

export interface ArcDoc {
  id: string;
  question: string;
  choices: { text: string[]; label: string[] };
  answerKey: string;
}

const LABELS = /^(?:[A-E]|[1-5])$/;

export function parseArc(bytes: Uint8Array, file: string): ArcDoc[] {
  return jsonLines(decodeUtf8(bytes, file), file).map(({ line, row }) => {
    const at = { file, line };
    const id = stringField(row, 'id', at);
    const question = objectField(row, 'question', at);
    const inQuestion = { ...at, prefix: 'question.' };
    const stem = stringField(question, 'stem', inQuestion);
    const choices = arrayField(question, 'choices', inQuestion);
    if (choices.length < 2 || choices.length > 5) {
      throw new BenchDataError(file, line, 'question.choices', `has ${choices.length} choices; expected 2 to 5`);
    }
    const text: string[] = [];
    const label: string[] = [];
    choices.forEach((choice, k) => {
      const prefix = `question.choices[${k}]`;
      if (typeof choice !== 'object' || choice === null || Array.isArray(choice)) {
        throw new BenchDataError(file, line, prefix, 'not an object; expected {"text": .., "label": ..}');
      }
      const inChoice = { ...at, prefix: `${prefix}.` };
      text.push(stringField(choice as JsonObject, 'text', inChoice));
      const l = stringField(choice as JsonObject, 'label', inChoice);
      if (!LABELS.test(l)) throw new BenchDataError(file, line, `${prefix}.label`, `"${l}"; expected A-E or 1-5`);
      if (label.includes(l)) throw new BenchDataError(file, line, `${prefix}.label`, `"${l}" appears twice`);
      label.push(l);
    });
    const answerKey = stringField(row, 'answerKey', at);
    if (!label.includes(answerKey)) {
      throw new BenchDataError(file, line, 'answerKey', `"${answerKey}" is not a choice label (${label.join(', ')})`);
    }
    return { id, question: stem, choices: { text, label }, answerKey };
  });
}
