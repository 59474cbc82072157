/**
 * PIQA as its authors distribute it (https://yonatanbisk.com/piqa/data/): `valid.jsonl`, one
 * {"goal", "sol1", "sol2"} per line, and `valid-labels.lst`, the index (0 or 1) of the correct solution on the
 * matching line. Read into the Hugging Face `ybisk/piqa` fields: goal, sol1, sol2, label.
 */
import { decodeUtf8, jsonLines, labelLines, stringField } from './text';

export interface PiqaDoc {
  goal: string;
  sol1: string;
  sol2: string;
  label: number;
}

export function parsePiqa(data: Uint8Array, dataFile: string, labels: Uint8Array, labelFile: string): PiqaDoc[] {
  const rows = jsonLines(decodeUtf8(data, dataFile), dataFile);
  const gold = labelLines(decodeUtf8(labels, labelFile), labelFile, ['0', '1'], rows.length, dataFile);
  return rows.map(({ line, row }, i) => {
    const at = { file: dataFile, line };
    const [goal, sol1, sol2] = ['goal', 'sol1', 'sol2'].map((field) => stringField(row, field, at));
    return { goal, sol1, sol2, label: Number(gold[i]) };
  });
}
