/**
 * A CSV reader for RFC 4180 files (MMLU's data.tar CSVs): fields separated by ",", records by "\n" or "\r\n";
 * a field in double quotes may hold commas, line breaks and doubled quotes (""), which stand for one quote.
 * Each record comes with the line it starts on, for error messages. Stray quotes inside an unquoted field
 * and text after a closing quote are errors, as is a quoted field left open at the end of the file.
 */
import { BenchDataError } from '../errors';

export interface CsvRecord {
  /** 1-based line on which the record starts. */
  line: number;
  fields: string[];
}

export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new BenchDataError(file, start, null, 'a quoted field is never closed (missing ")');
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          throw new BenchDataError(file, line, null, `text after a closing quote in field ${fields.length + 1}`);
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') {
            throw new BenchDataError(file, line, null, `a quote inside unquoted field ${fields.length + 1}`);
          }
          field += text[i];
          i++;
        }
      }
      fields.push(field);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      // End of record: "\n", "\r\n" or the end of the text.
      if (text[i] === '\r') i++;
      if (text[i] === '\n') {
        i++;
        line++;
      }
      break;
    }
    records.push({ line: start, fields });
  }
  return records;
}
