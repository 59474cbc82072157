/**
 * Social IQa (`dev.jsonl` + `dev-labels.lst` of socialiqa-train-dev.zip): one {"context", "question",
 * "answerA", "answerB", "answerC"} per line, and the correct answer's number (1, 2 or 3) on the matching line
 * of the label file. Read into the Hugging Face `lighteval/siqa` fields, `label` being that number as a string.
 */
import { decodeUtf8, jsonLines, labelLines, stringField, type At, type JsonObject } from './text';

export interface SiqaDoc {
  context: string;
  question: string;
  answerA: string;
  answerB: string;
  answerC: string;
  label: '1' | '2' | '3';
}

/** A row's question and answers (the file's and the hub's rows name them alike; only the label differs). */
export function siqaTexts(row: JsonObject, at: At): Omit<SiqaDoc, 'label'> {
  return {
    context: stringField(row, 'context', at),
    question: stringField(row, 'question', at),
    answerA: stringField(row, 'answerA', at),
    answerB: stringField(row, 'answerB', at),
    answerC: stringField(row, 'answerC', at),
  };
}

export function parseSiqa(data: Uint8Array, dataFile: string, labels: Uint8Array, labelFile: string): SiqaDoc[] {
  const rows = jsonLines(decodeUtf8(data, dataFile), dataFile);
  const gold = labelLines(decodeUtf8(labels, labelFile), labelFile, ['1', '2', '3'], rows.length, dataFile);
  return rows.map(({ line, row }, i) => {
    return { ...siqaTexts(row, { file: dataFile, line }), label: gold[i] as '1' | '2' | '3' };
  });
}
