/**
 * WinoGrande 1.1 (`dev.jsonl` + `dev-labels.lst`): one {"qID", "sentence", "option1", "option2", "answer"} per
 * line, the sentence with one "_" where an option goes, and the label ("1" or "2") on the matching line of the
 * label file. The dev rows also carry `answer`; where present it must agree with the label file. Read into the
 * Hugging Face `allenai/winogrande` fields: sentence, option1, option2, answer ("1" | "2").
 */
import { BenchDataError } from '../errors';
import { decodeUtf8, jsonLines, labelLines, stringField } from './text';

export interface WinograndeDoc {
  qID: string;
  sentence: string;
  option1: string;
  option2: string;
  answer: '1' | '2';
}

export function parseWinogrande(
  data: Uint8Array,
  dataFile: string,
  labels: Uint8Array,
  labelFile: string,
): WinograndeDoc[] {
  const rows = jsonLines(decodeUtf8(data, dataFile), dataFile);
  const gold = labelLines(decodeUtf8(labels, labelFile), labelFile, ['1', '2'], rows.length, dataFile);
  return rows.map(({ line, row }, i) => {
    const at = { file: dataFile, line };
    const sentence = stringField(row, 'sentence', at);
    if (!sentence.includes('_')) {
      throw new BenchDataError(dataFile, line, 'sentence', 'has no "_" where the option goes');
    }
    if (row.answer !== undefined && row.answer !== gold[i]) {
      const detail = `disagrees with line ${i + 1} of ${labelFile} ("${gold[i]}")`;
      throw new BenchDataError(dataFile, line, 'answer', `${JSON.stringify(row.answer)} ${detail}`);
    }
    return {
      qID: stringField(row, 'qID', at),
      sentence,
      option1: stringField(row, 'option1', at),
      option2: stringField(row, 'option2', at),
      answer: gold[i] as '1' | '2',
    };
  });
}
